"""Journey: an ML team member requests GPU quota and sees the profile's free guaranteed capacity
as they pick it; an approval that would over-commit the cluster is refused inline with the
numbers; members of another tenant get 404, not 403."""

import re

import pytest

from clusters.tests.factories import ClusterCapacityFactory, ClusterFactory
from e2e.conftest import sign_in
from portal import roles
from tenants.models import QuotaRequest
from tenants.tests.factories import (
    EnvironmentFactory,
    GpuProfileFactory,
    MembershipFactory,
    QuotaGrantFactory,
    TenantFactory,
    platform_admin,
    user_in,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def vision(transactional_db):
    """An active tenant on a cluster with 8 H100s, 3 of them guaranteed to another tenant."""
    cluster = ClusterFactory(name="gpu-eu-1")
    ClusterCapacityFactory(cluster=cluster, allocatable=0, override=8)
    profile = GpuProfileFactory()
    other = EnvironmentFactory(tenant=TenantFactory(slug="search", cluster=cluster), name="prod")
    QuotaGrantFactory(environment=other, profile=profile, guaranteed=3, burst=0)
    tenant = TenantFactory(slug="vision", cluster=cluster)
    EnvironmentFactory(tenant=tenant, name="prod")
    member = user_in(roles.ML_TEAM)
    MembershipFactory(tenant=tenant, user=member)
    return tenant, profile, member


def test_picking_a_profile_shows_its_free_capacity_and_over_commit_is_refused_inline(
    vision, browser_page, new_page
):
    tenant, profile, member = vision
    page = browser_page
    sign_in(page, member.username)
    page.goto(f"/tenants/{tenant.slug}/")
    page.click("text=Request GPU quota")
    page.wait_for_url(re.compile(r"/quota/$"))
    page.select_option("#id_profile", str(profile.pk))
    capacity = page.locator("#capacity")
    capacity.locator("strong", has_text="5").wait_for()  # swapped in by htmx
    assert "5 of 8 units free" in re.sub(r"\s+", " ", capacity.inner_text())

    page.fill("#id_guaranteed", "6")
    page.fill("#id_burst", "2")
    page.fill("#id_justification", "Launch week traffic for the detection model.")
    page.get_by_role("button", name="Request quota").click()
    page.wait_for_url(re.compile(rf"/tenants/{tenant.slug}/$"))
    request = QuotaRequest.objects.get(tenant=tenant)

    admin_page = new_page()
    sign_in(admin_page, platform_admin().username)
    admin_page.goto("/tenants/approvals/")
    admin_page.evaluate("window.__samePage = 'yes'")
    row = admin_page.locator(f"#request-{request.pk}")
    row.get_by_role("button", name="Approve").click()
    alert = row.get_by_role("alert")
    alert.wait_for()
    assert "guaranteed 6 exceeds the 5 free" in alert.inner_text()
    assert admin_page.evaluate("window.__samePage") == "yes"
    request.refresh_from_db()
    assert request.status == QuotaRequest.Status.PENDING


def test_a_member_of_another_tenant_gets_not_found(vision, browser_page):
    tenant, _, _ = vision
    outsider = user_in(roles.ML_TEAM)
    MembershipFactory(tenant=TenantFactory(slug="fraud", cluster=tenant.cluster), user=outsider)
    sign_in(browser_page, outsider.username)
    for path in (f"/tenants/{tenant.slug}/", f"/tenants/{tenant.slug}/quota/"):
        assert browser_page.goto(path).status == 404, path
    assert browser_page.goto("/tenants/fraud/").status == 200
