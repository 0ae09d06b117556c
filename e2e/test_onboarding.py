"""Journeys (b) and (c): an ML team member onboards a tenant through the form (with inline htmx
validation), a platform admin decides it inline in the approvals queue without a page reload,
and the requester sees the decision (and the reason of a rejection)."""

import re

import pytest

from clusters.tests.factories import ClusterCapacityFactory, ClusterFactory
from e2e.conftest import screenshot, sign_in
from portal import roles
from tenants import services
from tenants.models import QuotaGrant, Tenant
from tenants.tests.factories import GpuProfileFactory, platform_admin, user_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def catalog(transactional_db):
    cluster = ClusterFactory(name="gpu-eu-1")
    ClusterCapacityFactory(cluster=cluster, allocatable=0, override=8)
    return cluster, GpuProfileFactory()


def mark_page(page) -> None:
    """Set a JS variable that survives htmx swaps but not a page load."""
    page.evaluate("window.__samePage = 'yes'")


def still_same_page(page) -> bool:
    return page.evaluate("window.__samePage") == "yes"


def test_onboarding_with_inline_validation_then_inline_approval_makes_the_tenant_active(
    catalog, browser_page, new_page
):
    cluster, profile = catalog
    member = user_in(roles.ML_TEAM)
    page = browser_page
    sign_in(page, member.username)
    page.click("text=Onboard a new tenant")
    page.wait_for_url(re.compile(r"/tenants/new/$"))

    page.fill("#id_name", "Fraud Detection")
    page.locator("#id_slug").press_sequentially("Fraud_Detection!")  # keyup -> htmx
    slug_errors = page.locator("#errors-slug li")
    slug_errors.first.wait_for()  # swapped in by htmx, no submit
    assert "DNS-1123" in slug_errors.first.inner_text()
    assert page.url.endswith("/tenants/new/")

    page.fill("#id_slug", "")
    page.locator("#id_slug").press_sequentially("fraud-detection")
    page.wait_for_function("document.querySelectorAll('#errors-slug li').length === 0")
    page.fill("#id_team", "Risk")
    page.fill("#id_cost_center", "CC-7700")
    page.check("input[name=environments][value=staging]")
    page.fill("#id_contact_email", "risk@example.com")
    page.select_option("#id_cluster", str(cluster.pk))
    page.select_option("#id_quota_environment", "dev")
    page.select_option("#id_quota_profile", str(profile.pk))
    page.fill("#id_quota_guaranteed", "2")
    page.fill("#id_quota_burst", "1")
    page.fill("#id_quota_justification", "Nightly retraining of the fraud model.")
    screenshot(page, "onboarding-form")
    page.click("form.card button[type=submit]")
    page.wait_for_url(re.compile(r"/tenants/fraud-detection/$"))
    assert "Pending approval" in page.locator("h1").inner_text()

    admin_page = new_page()
    admin = platform_admin()
    sign_in(admin_page, admin.username)
    admin_page.goto("/tenants/approvals/")
    tenant = Tenant.objects.get(slug="fraud-detection")
    mark_page(admin_page)
    tenant_row = admin_page.locator(f"#tenant-{tenant.pk}")
    tenant_row.get_by_role("button", name="Approve").click()
    tenant_row.locator(".badge.active").wait_for()
    request_row = admin_page.locator(f"#request-{tenant.quota_requests.get().pk}")
    request_row.get_by_role("button", name="Approve").click()
    request_row.locator(".badge.approved").wait_for()
    # the capacity table below reloads itself after the decision: 8 capacity, 2 guaranteed, 6 free
    admin_page.wait_for_function(
        "document.querySelector('#capacity-table td.num:last-child')?.textContent.trim() === '6'"
    )
    assert still_same_page(admin_page), "the approvals page reloaded"
    screenshot(admin_page, "approvals-after-approve")

    page.reload()
    assert "Active" in page.locator("h1").inner_text()
    assert "2 + 1 = 3" in page.locator("main").inner_text()
    grant = QuotaGrant.objects.get(tenant__slug="fraud-detection")
    assert (grant.guaranteed, grant.burst, grant.granted_by.username) == (
        2,
        1,
        admin_page_user(tenant),
    )


def admin_page_user(tenant: Tenant) -> str:
    tenant.refresh_from_db()
    return tenant.decided_by.username


def test_a_rejection_needs_a_reason_and_the_requester_sees_it(catalog, browser_page, new_page):
    cluster, profile = catalog
    member = user_in(roles.ML_TEAM)
    tenant = services.onboard_tenant(
        actor=member,
        name="Speech",
        slug="speech",
        team="Speech",
        cost_center="CC-4300",
        contact_email="speech@example.com",
        environments=["dev"],
        tier="small",
        cluster=cluster,
    )

    admin_page = new_page()
    sign_in(admin_page, platform_admin().username)
    admin_page.goto("/tenants/approvals/")
    mark_page(admin_page)
    row = admin_page.locator(f"#tenant-{tenant.pk}")
    row.get_by_role("button", name="Reject").click()  # empty reason: the browser refuses
    assert row.get_by_role("textbox").evaluate("el => el.validity.valueMissing")
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.PENDING

    row.get_by_role("textbox").fill("No budget code for GPUs this quarter; ask finance first.")
    row.get_by_role("button", name="Reject").click()
    row.locator(".badge.rejected").wait_for()
    assert still_same_page(admin_page)

    page = browser_page
    sign_in(page, member.username)
    page.goto("/tenants/speech/")
    assert "Rejected" in page.locator("h1").inner_text()
    reason = page.locator("q.decision-reason").first.inner_text()
    assert reason == "No budget code for GPUs this quarter; ask finance first."
    screenshot(page, "tenant-rejected")
