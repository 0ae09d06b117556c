"""An admin meets a blocked environment: the sync page names the other team's namespace, the
adoption page previews the change, and adopting needs the confirmation tick (real Chromium)."""

import pytest

from clusters.models import ObjectAdoption
from clusters.sync import run_tenant_sync
from clusters.tests.sync_helpers import approved_tenant
from tenants.tests.factories import platform_admin

from .conftest import TIMEOUT_MS, screenshot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_reviews_and_adopts_another_teams_namespace(
    browser_page, live_server, kube_cluster, kube_emulator
):
    kube_emulator.put(
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": "team-a-prod", "labels": {"team": "search", "owner": "alice"}}},
        manager="kubectl-create",
    )  # fmt: skip
    tenant = approved_tenant(kube_cluster, envs=("prod",))
    run_tenant_sync(tenant.pk)
    admin = platform_admin(username="pat")
    page = browser_page
    sign_in(page, admin.username)

    page.goto(f"{live_server.url}/tenants/{tenant.slug}/sync/")
    page.get_by_text("Namespace team-a-prod already exists").first.wait_for(timeout=TIMEOUT_MS)
    screenshot(page, "sync-blocked")
    page.get_by_role("button", name="Review adoption").click()
    page.get_by_role("heading", name="Adopt Namespace team-a-prod").wait_for(timeout=TIMEOUT_MS)
    screenshot(page, "adopt-preview")
    page.get_by_role("button", name="Adopt").click()
    page.get_by_text("Tick the confirmation").wait_for(timeout=TIMEOUT_MS)
    assert not ObjectAdoption.objects.exists()
    page.get_by_label("I reviewed these changes").check()
    page.get_by_role("button", name="Adopt").click()
    page.get_by_text("adopted; the next sync takes it over").wait_for(timeout=TIMEOUT_MS)

    assert ObjectAdoption.objects.get().confirmed_by == admin
