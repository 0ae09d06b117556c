"""The same journeys with JavaScript switched off: plain form posts and full page loads still
onboard, validate and approve (htmx only makes them faster)."""

import re

import pytest

from clusters.tests.factories import ClusterCapacityFactory, ClusterFactory
from e2e.conftest import TIMEOUT_MS, sign_in
from portal import roles
from tenants import services
from tenants.models import Tenant
from tenants.tests.factories import platform_admin, user_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def no_js_page(chromium, live_server, transactional_db):
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture
def cluster(transactional_db):
    cluster = ClusterFactory(name="gpu-eu-1")
    ClusterCapacityFactory(cluster=cluster, allocatable=0, override=8)
    return cluster


def test_onboarding_without_javascript_shows_field_errors_after_submit(cluster, no_js_page):
    page = no_js_page
    sign_in(page, user_in(roles.ML_TEAM).username)
    page.goto("/tenants/new/")
    page.fill("#id_name", "Fraud Detection")
    page.fill("#id_slug", "Fraud_Detection!")
    page.fill("#id_team", "Risk")
    page.fill("#id_cost_center", "CC-7700")
    page.fill("#id_contact_email", "risk@example.com")
    page.click("form.card button[type=submit]")
    page.wait_for_load_state()
    assert "DNS-1123" in page.locator("#errors-slug").inner_text()
    assert page.locator("#id_name").input_value() == "Fraud Detection"  # input kept

    page.fill("#id_slug", "fraud-detection")
    page.click("form.card button[type=submit]")
    page.wait_for_url(re.compile(r"/tenants/fraud-detection/$"))
    assert Tenant.objects.get(slug="fraud-detection").status == Tenant.Status.PENDING


def test_approving_without_javascript_returns_to_the_queue_with_a_message(cluster, no_js_page):
    tenant = services.onboard_tenant(
        actor=user_in(roles.ML_TEAM),
        name="Speech",
        slug="speech",
        team="Speech",
        cost_center="CC-4300",
        contact_email="speech@example.com",
        environments=["dev"],
        tier="small",
        cluster=cluster,
    )
    page = no_js_page
    sign_in(page, platform_admin().username)
    page.goto("/tenants/approvals/")
    page.locator(f"#tenant-{tenant.pk}").get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    assert page.url.endswith("/tenants/approvals/")
    assert "approved" in page.locator(".messages").inner_text()
    assert page.locator(f"#tenant-{tenant.pk}").count() == 0  # no longer waiting
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.ACTIVE
