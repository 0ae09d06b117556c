"""Journey in a real Chromium on the demo data: an ML team owner opens a workload page and the
SLO panel (htmx) shows the error budget, the alert firing in a real Alertmanager with the team
it pages, and the dashboard link; the tenant page shows the roll-up; an SRE finds the workload
at the top of the SLO list and overrides the prod gate with a reason. Screenshots of each page
are saved (PORTAL_SCREENSHOTS)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from clusters.models import Cluster
from contracts import selectors
from contracts.alertmanager import to_yaml
from contracts.demo import seed_slo_demo
from contracts.models import SloGateOverride
from contracts.tests.alertmanager_server import start_alertmanager
from e2e.conftest import PASSWORD, chromium, screenshot, sign_in  # noqa: F401 - fixture
from tenants.models import TenantMembership
from tenants.tests.factories import EnvironmentFactory
from workloads.models import WorkloadEnvironment

pytestmark = pytest.mark.e2e


@pytest.fixture
def demo(transactional_db, tmp_path):
    call_command("seed_demo", force=True, verbosity=0)
    dev = (
        WorkloadEnvironment.objects.filter(workload__template="inference")
        .select_related("workload__tenant")
        .order_by("workload__tenant__slug", "workload__name")
        .first()
    )
    workload = dev.workload
    # the demo deploys to dev only: this one also runs in staging, which had an incident
    WorkloadEnvironment.objects.create(
        workload=workload,
        environment=EnvironmentFactory(tenant=workload.tenant, name="staging"),
        current_revision=dev.current_revision,
    )
    seed_slo_demo()
    owner = TenantMembership.objects.filter(tenant=workload.tenant, role="owner").first().user
    owner.set_password(PASSWORD)
    owner.save()
    server = start_alertmanager(to_yaml(selectors.alertmanager_config()), tmp_path / "am")
    Cluster.objects.update(alertmanager_url=server.url, grafana_url="https://grafana.example.com")
    server.post_alerts(
        [
            {
                "labels": {
                    "alertname": "WorkloadErrorBudgetBurn1h",
                    "tenant": workload.tenant.slug,
                    "workload": workload.name,
                    "environment": "staging",
                    "team": "sre-core",
                    "severity": "critical",
                    "signal": "availability",
                },
                "annotations": {"summary": "burning the 99.9 % availability error budget"},
                "startsAt": (datetime.now(UTC) - timedelta(minutes=42)).isoformat(),
            }
        ]
    )
    yield workload, owner
    server.stop()


def _sre():
    from django.contrib.auth.models import User

    user = User.objects.get(username="sre")
    user.set_password(PASSWORD)
    user.save()
    return user


def test_slo_journey_owner_then_sre(demo, chromium, live_server):  # noqa: F811
    workload, owner = demo
    tenant = workload.tenant.slug
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1400, "height": 900}
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, owner.username)

    page.goto(f"/workloads/{tenant}/{workload.name}/")
    panel = page.locator("#workload-slo")
    panel.wait_for()  # loaded by htmx
    text = re.sub(r"\s+", " ", panel.inner_text())
    assert "WorkloadErrorBudgetBurn1h" in text and "SRE core" in text
    assert "Error budget left" in text and "Dashboards: dev · staging" in text
    assert "https://grafana.example.com/d/gpu-portal-" in panel.inner_html()
    assert "Prod gate: staging SLO over the last 24 h" in text
    panel.scroll_into_view_if_needed()
    screenshot(page, "slo-workload-page")

    page.goto(f"/tenants/{tenant}/")
    page.locator("#tenant-slo").wait_for()
    assert "WorkloadErrorBudgetBurn1h" in page.locator("#tenant-slo").inner_text()
    screenshot(page, "slo-tenant-page")
    context.close()

    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1400, "height": 900}
    )
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, _sre().username)
    page.goto("/contracts/slo/")
    rows = page.locator("h2:has-text('Measured') + table tbody tr")
    assert f"{tenant}/{workload.name}" in rows.first.inner_text()
    screenshot(page, "slo-sre-overview")

    page.goto(f"/workloads/{tenant}/{workload.name}/")
    page.locator("#workload-slo").wait_for()
    gate = page.locator("#prod-gate.fail")
    assert "availability 99.400 % < target 99.9 %" in gate.inner_text()
    page.fill("#id_reason", "the errors come from a feature-store outage upstream, fixed since")
    page.get_by_role("button", name="Override the staging SLO gate").click()
    assert "may go to prod despite its staging SLO" in page.locator(".messages").inner_text()
    assert SloGateOverride.objects.filter(workload=workload, created_by__username="sre").exists()
    page.locator("#prod-gate.pass").wait_for()
    screenshot(page, "slo-workload-after-override")
    context.close()
    assert not errors
