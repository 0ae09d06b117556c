"""Tenancy pages: the onboarding -> request -> approve -> grant journey through the web."""

import pytest
from django.urls import reverse

from clusters.tests.factories import ClusterCapacityFactory, ClusterFactory
from tenants.models import QuotaGrant, QuotaRequest, Tenant
from tenants.tests.factories import (
    EnvironmentFactory,
    GpuProfileFactory,
    MembershipFactory,
    QuotaGrantFactory,
    QuotaRequestFactory,
    TenantFactory,
    UserFactory,
    platform_admin,
)

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def onboarding_data(cluster, profile, **overrides):
    data = {
        "name": "Ranking",
        "slug": "ranking",
        "team": "Search Ranking",
        "cost_center": "CC-4711",
        "environments": ["dev", "prod"],
        "contact_email": "ranking@example.com",
        "oncall_contact": "#ranking",
        "tier": "small",
        "cluster": cluster.pk,
        "description": "",
        "quota_environment": "prod",
        "quota_profile": profile.pk,
        "quota_guaranteed": 4,
        "quota_burst": 2,
        "quota_justification": "Serving the ranking model.",
    }
    data.update(overrides)
    return data


def test_web_journey_onboard_request_approve_grant(client):
    cluster = ClusterFactory(name="eu-1")
    ClusterCapacityFactory(cluster=cluster, allocatable=8)
    profile = GpuProfileFactory()
    member, admin = UserFactory(), platform_admin()

    client.force_login(member)
    response = client.post(reverse("tenants:onboard"), onboarding_data(cluster, profile))
    assert response.status_code == 302
    tenant = Tenant.objects.get(slug="ranking")
    assert tenant.status == Tenant.Status.PENDING

    client.force_login(admin)
    response = client.post(reverse("tenants:approve", args=["ranking"]), **HTMX)
    assert response.status_code == 200
    assert b"Active" in response.content and b"<tr" in response.content
    qr = QuotaRequest.objects.get(tenant=tenant)
    response = client.post(reverse("tenants:quota_approve", args=[qr.pk]), **HTMX)
    assert b"Approved" in response.content

    client.force_login(member)
    page = client.get(reverse("tenants:detail", args=["ranking"])).content.decode()
    assert "ranking-prod" in page
    assert "4 + 2 = 6" in page
    assert QuotaGrant.objects.get(tenant=tenant).limit == 6


def test_onboarding_form_shows_field_errors_without_javascript(client):
    TenantFactory(slug="taken")
    client.force_login(UserFactory())
    response = client.post(
        reverse("tenants:onboard"),
        onboarding_data(ClusterFactory(), GpuProfileFactory(), slug="taken", quota_burst=-1),
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "taken" in form.errors["slug"][0]
    assert "quota_burst" in form.errors


def test_inline_validation_returns_the_error_list_of_one_field(client):
    client.force_login(UserFactory())
    response = client.post(
        reverse("tenants:onboard_validate", args=["slug"]), {"slug": "Not_DNS"}, **HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="errors-slug"' in body and "DNS-1123" in body


def test_inline_validation_explains_the_40_character_slug_limit(client):
    client.force_login(UserFactory())
    response = client.post(reverse("tenants:onboard_validate", args=["slug"]), {"slug": "a" * 41})
    assert "At most 40 characters" in response.content.decode()


def test_inline_validation_of_a_valid_field_returns_an_empty_error_list(client):
    client.force_login(UserFactory())
    response = client.post(
        reverse("tenants:onboard_validate", args=["slug"]), {"slug": "fine-slug"}
    )
    assert "<li>" not in response.content.decode()


def test_quota_form_shows_the_profiles_free_capacity_on_the_tenants_cluster(client):
    env = EnvironmentFactory(tenant__cluster=ClusterFactory(name="eu-1"))
    ClusterCapacityFactory(cluster=env.cluster, allocatable=8)
    QuotaGrantFactory(environment__tenant__cluster=env.cluster, environment__tenant__slug="x")
    owner = MembershipFactory(tenant=env.tenant).user
    client.force_login(owner)
    profile = GpuProfileFactory()
    response = client.get(
        reverse("tenants:quota_capacity", args=[env.tenant.slug]),
        {"profile": profile.pk, "environment": env.pk},
        **HTMX,
    )
    body = response.content.decode()
    assert "<strong>6</strong> of 8 units free" in body and "eu-1" in body


def test_requesting_quota_through_the_form_files_a_pending_request(client):
    env = EnvironmentFactory()
    client.force_login(MembershipFactory(tenant=env.tenant).user)
    response = client.post(
        reverse("tenants:request_quota", args=[env.tenant.slug]),
        {
            "environment": env.pk,
            "profile": GpuProfileFactory().pk,
            "guaranteed": 2,
            "burst": 0,
            "justification": "eval",
        },
    )
    assert response.status_code == 302
    assert env.tenant.quota_requests.get().status == QuotaRequest.Status.PENDING


def test_rejection_reason_is_visible_to_the_requester(client):
    qr = QuotaRequestFactory()
    member = MembershipFactory(tenant=qr.tenant).user
    client.force_login(platform_admin())
    client.post(reverse("tenants:quota_reject", args=[qr.pk]), {"reason": "Use MIG slices"}, **HTMX)
    client.force_login(member)
    page = client.get(reverse("tenants:detail", args=[qr.tenant.slug])).content.decode()
    assert "Use MIG slices" in page
    assert "Use MIG slices" in client.get(reverse("home")).content.decode()


def test_rejecting_without_a_reason_keeps_the_request_pending_and_says_why(client):
    qr = QuotaRequestFactory()
    client.force_login(platform_admin())
    response = client.post(reverse("tenants:quota_reject", args=[qr.pk]), {"reason": ""}, **HTMX)
    assert "Give a reason" in response.content.decode()
    qr.refresh_from_db()
    assert qr.status == QuotaRequest.Status.PENDING


def test_approval_over_capacity_shows_the_refusal_in_the_row(client):
    qr = QuotaRequestFactory(guaranteed=9, environment__tenant__cluster=ClusterFactory(name="eu-1"))
    ClusterCapacityFactory(cluster=qr.environment.cluster, allocatable=8)
    client.force_login(platform_admin())
    response = client.post(reverse("tenants:quota_approve", args=[qr.pk]), **HTMX)
    assert "guaranteed 9 exceeds the 8 free" in response.content.decode()
    assert not QuotaGrant.objects.exists()


def test_approving_without_htmx_redirects_back_to_the_queue_with_a_message(client):
    tenant = TenantFactory(status=Tenant.Status.PENDING)
    client.force_login(platform_admin())
    response = client.post(reverse("tenants:approve", args=[tenant.slug]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("tenants:approvals")
    assert f"Tenant {tenant.slug} approved." in response.content.decode()


def test_a_second_approval_in_the_web_shows_who_approved_first(client):
    tenant = TenantFactory(status=Tenant.Status.PENDING)
    client.force_login(platform_admin(username="alice"))
    client.post(reverse("tenants:approve", args=[tenant.slug]), **HTMX)
    client.force_login(platform_admin(username="bob"))
    response = client.post(reverse("tenants:approve", args=[tenant.slug]), **HTMX)
    assert "already approved by alice" in response.content.decode()


def test_approvals_queue_shows_capacity_impact_of_each_request(client):
    qr = QuotaRequestFactory(guaranteed=3)
    ClusterCapacityFactory(cluster=qr.environment.cluster, allocatable=8)
    client.force_login(platform_admin())
    body = client.get(reverse("tenants:approvals")).content.decode()
    assert '8 → <span class="fits">5</span> of 8' in body


def test_approvals_queue_is_for_platform_admins_only(client):
    client.force_login(UserFactory())
    assert client.get(reverse("tenants:approvals")).status_code == 403


def test_archiving_through_the_web_shows_the_grace_period_and_keeps_the_grants(client):
    grant = QuotaGrantFactory()
    client.force_login(platform_admin())
    client.post(reverse("tenants:archive", args=[grant.tenant.slug]))
    grant.refresh_from_db()
    assert grant.revoked_at is None  # released once the cluster no longer holds it
    html = client.get(reverse("tenants:detail", args=[grant.tenant.slug])).content.decode()
    assert "Workloads keep running until" in html
    assert "GPU capacity stays reserved" in html


def test_owner_adds_a_member_by_username(client):
    owner = MembershipFactory()
    newcomer = UserFactory(username="newcomer")
    client.force_login(owner.user)
    client.post(
        reverse("tenants:add_member", args=[owner.tenant.slug]),
        {"username": "newcomer", "role": "viewer"},
    )
    assert owner.tenant.memberships.get(user=newcomer).role == "viewer"


def test_a_member_withdraws_a_pending_request(client):
    qr = QuotaRequestFactory()
    client.force_login(MembershipFactory(tenant=qr.tenant, role="member").user)
    client.post(reverse("tenants:quota_cancel", args=[qr.tenant.slug, qr.pk]))
    qr.refresh_from_db()
    assert qr.status == QuotaRequest.Status.CANCELLED


def test_a_viewer_cannot_withdraw_a_request(client):
    qr = QuotaRequestFactory()
    client.force_login(MembershipFactory(tenant=qr.tenant, role="viewer").user)
    response = client.post(reverse("tenants:quota_cancel", args=[qr.tenant.slug, qr.pk]))
    assert response.status_code == 403
    qr.refresh_from_db()
    assert qr.status == QuotaRequest.Status.PENDING


def test_quota_form_preselects_the_first_environment(client):
    env = EnvironmentFactory(name="dev")
    client.force_login(MembershipFactory(tenant=env.tenant).user)
    form = client.get(reverse("tenants:request_quota", args=[env.tenant.slug])).context["form"]
    assert form["environment"].value() == env.pk


def test_onboarding_form_shows_free_capacity_of_the_initial_quota_profile(client):
    cluster = ClusterFactory(name="eu-1")
    ClusterCapacityFactory(cluster=cluster, allocatable=8)
    client.force_login(UserFactory())
    response = client.get(
        reverse("tenants:onboard_capacity"),
        {"cluster": cluster.pk, "quota_profile": GpuProfileFactory().pk},
        **HTMX,
    )
    assert "<strong>8</strong> of 8 units free" in response.content.decode()


def test_inline_quota_approval_tells_the_page_to_reload_its_capacity_table(client):
    request = QuotaRequestFactory(guaranteed=3, burst=0)
    ClusterCapacityFactory(cluster=request.environment.cluster, allocatable=10)
    client.force_login(platform_admin())

    response = client.post(f"/tenants/quota-requests/{request.pk}/approve/", HTTP_HX_REQUEST="true")

    assert response["HX-Trigger"] == "quota-decided"
    table = client.get("/tenants/approvals/?part=capacity", HTTP_HX_REQUEST="true")
    assert "<table" in table.content.decode() and "<html" not in table.content.decode()
    free = [row.free for row in table.context["capacity"]]
    assert free == [7]
