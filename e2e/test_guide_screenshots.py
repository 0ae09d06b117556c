"""The pictures of the user guide (docs/), taken by signing in as each demo role on the demo
data at a fixed viewport, so the guides never show a page that no longer looks like that.

Every `img/screens/<name>.png` a guide references must be in SCREENS (checked by
portal/tests/test_docs.py), and this journey must produce each one. It writes the pictures to
`$PORTAL_SCREENSHOTS/guide/`; `make docs-screenshots` runs it with PORTAL_GUIDE_SCREENSHOTS set to
docs/img/screens so the committed pictures are replaced by fresh ones.
"""

import os
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from .conftest import SCREENSHOTS, TIMEOUT_MS, sign_in

pytestmark = [pytest.mark.e2e]

VIEWPORT = {"width": 1280, "height": 800}
# name -> (demo login, path, text the page must show before the picture is taken)
SCREENS = {
    "ml-home": ("mlteam", "/", "My tenants"),
    "onboarding-form": ("mlteam", "/tenants/new/", "Initial quota"),
    "tenant-page": ("mlteam", "/tenants/vision/", "vision"),
    "quota-form": ("mlteam", "/tenants/vision/quota/", "Guaranteed"),
    "workload-list": ("mlteam", "/workloads/vision/", "detector"),
    "workload-create": ("mlteam", "/workloads/vision/new/", "Template"),
    "workload-detail": ("mlteam", "/workloads/vision/detector/", "detector"),
    "interface-document": (
        "mlteam",
        "/contracts/vision/detector/interface-document/",
        "SLOs",
    ),
    "tenant-costs": ("mlteam", "/costs/tenants/vision/", "GPU"),
    "platform-home": ("platform", "/", "Approvals"),
    "approvals": ("platform", "/tenants/approvals/", "speech"),
    "clusters": ("platform", "/clusters/", "gpu-eu-1"),
    "cluster-detail": ("platform", "/clusters/gpu-eu-1/", "gpu-eu-1"),
    "documents": ("sre", "/contracts/", "detector"),
    "oncall": ("sre", "/contracts/oncall/", "sre-core"),
    "alert-routing": ("sre", "/contracts/alertmanager/", "route"),
    "finance-overview": ("finance", "/costs/", "vision"),
    "price-book": ("finance", "/costs/price-book/", "H100"),
}
DEMO_PASSWORDS = {
    "mlteam": "mlteam-demo-pass",
    "platform": "platform-demo-pass",
    "sre": "sre-demo-pass",
    "finance": "finance-demo-pass",
}


@pytest.fixture
def demo_data(settings, tmp_path, transactional_db):
    settings.DEBUG = True  # seed_demo refuses to create well-known passwords otherwise
    settings.PORTAL_GITOPS_ROOT = tmp_path / "gitops"
    call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
    settings.DEBUG = False


def test_every_guide_screenshot_is_taken_from_the_demo(chromium, live_server, demo_data):
    out = SCREENSHOTS / "guide"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    contexts = {}
    try:
        for name, (login, path, expected) in SCREENS.items():
            if login not in contexts:
                context = chromium.new_context(base_url=live_server.url, viewport=VIEWPORT)
                context.set_default_timeout(TIMEOUT_MS)
                page = context.new_page()
                sign_in(page, login, DEMO_PASSWORDS[login])
                contexts[login] = page
            page = contexts[login]
            response = page.goto(path)
            assert response.status == 200, f"{name}: {path} answered {response.status}"
            page.get_by_text(expected).first.wait_for()
            page.screenshot(path=str(out / f"{name}.png"))
    finally:
        for page in contexts.values():
            page.context.close()

    produced = sorted(p.stem for p in out.glob("*.png"))
    assert produced == sorted(SCREENS)
    target = os.environ.get("PORTAL_GUIDE_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for png in out.glob("*.png"):
            shutil.copyfile(png, Path(target) / png.name)
