"""Who sees and changes what: someone else's tenant is 404 everywhere; viewers, SRE and finance
read only; decisions are for platform admins."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.tests.factories import token_for
from tenants.models import QuotaGrant, QuotaRequest, Tenant, TenantMembership
from tenants.tests.factories import (
    EnvironmentFactory,
    GpuProfileFactory,
    MembershipFactory,
    QuotaGrantFactory,
    QuotaRequestFactory,
    UserFactory,
    finance,
    sre,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Tenant A with its member; tenant B with an environment, a grant and a pending request."""
    a_env = EnvironmentFactory(tenant__slug="team-a")
    b_env = EnvironmentFactory(tenant__slug="team-b", tenant__cluster=a_env.cluster)
    member_a = MembershipFactory(tenant=a_env.tenant, role=TenantMembership.Role.OWNER)
    owner_b = MembershipFactory(tenant=b_env.tenant, role=TenantMembership.Role.OWNER)
    grant_b = QuotaGrantFactory(environment=b_env, profile=GpuProfileFactory())
    request_b = QuotaRequestFactory(environment=b_env, profile=grant_b.profile)
    return dict(
        member_a=member_a.user,
        b=b_env.tenant,
        b_env=b_env,
        owner_b=owner_b,
        grant_b=grant_b,
        request_b=request_b,
    )


def web_calls(w):
    slug, qr, g, m = w["b"].slug, w["request_b"].pk, w["grant_b"].pk, w["owner_b"].pk
    return [
        ("get", f"/tenants/{slug}/", {}),
        ("get", f"/tenants/{slug}/quota/", {}),
        ("get", f"/tenants/{slug}/quota/capacity/", {"profile": w["grant_b"].profile_id}),
        ("post", f"/tenants/{slug}/quota/", {"environment": w["b_env"].pk}),
        ("post", f"/tenants/{slug}/approve/", {}),
        ("post", f"/tenants/{slug}/reject/", {"reason": "x"}),
        ("post", f"/tenants/{slug}/archive/", {}),
        ("post", f"/tenants/{slug}/quota/{qr}/cancel/", {}),
        ("post", f"/tenants/{slug}/grants/{g}/revoke/", {}),
        ("post", f"/tenants/{slug}/members/", {"username": "x", "role": "owner"}),
        ("post", f"/tenants/{slug}/members/{m}/remove/", {}),
        ("post", f"/tenants/quota-requests/{qr}/approve/", {}),
        ("post", f"/tenants/quota-requests/{qr}/reject/", {"reason": "x"}),
        ("get", f"/costs/tenants/{slug}/", {}),
        ("get", f"/workloads/{slug}/", {}),
    ]


def api_calls(w):
    slug, qr = w["b"].slug, w["request_b"].pk
    return [
        ("get", f"/api/v1/tenants/{slug}/", {}),
        ("post", f"/api/v1/tenants/{slug}/approve/", {}),
        ("post", f"/api/v1/tenants/{slug}/reject/", {"reason": "x"}),
        ("get", f"/api/v1/quota-requests/{qr}/", {}),
        ("post", f"/api/v1/quota-requests/{qr}/approve/", {}),
        ("post", f"/api/v1/quota-requests/{qr}/reject/", {"reason": "x"}),
        (
            "post",
            "/api/v1/quota-requests/",
            {
                "tenant": slug,
                "environment": "dev",
                "profile": w["grant_b"].profile.name,
                "guaranteed": 1,
                "justification": "x",
            },
        ),
    ]


def assert_b_untouched(w):
    b = Tenant.objects.get(pk=w["b"].pk)
    assert b.status == Tenant.Status.ACTIVE and b.desired_generation == 0
    assert QuotaRequest.objects.get(pk=w["request_b"].pk).status == QuotaRequest.Status.PENDING
    assert QuotaGrant.objects.get(pk=w["grant_b"].pk).revoked_at is None
    assert TenantMembership.objects.filter(tenant=b).count() == 1


def test_a_member_of_tenant_a_gets_404_on_every_tenant_b_page(world):
    client = Client()
    client.force_login(world["member_a"])
    for method, url, data in web_calls(world):
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, (method, url, response.status_code)
    assert_b_untouched(world)


def test_a_member_of_tenant_a_gets_404_on_every_tenant_b_endpoint(world):
    client = APIClient()
    client.force_authenticate(world["member_a"])
    for method, url, data in api_calls(world):
        response = getattr(client, method)(url, data, format="json")
        assert response.status_code == 404, (method, url, response.status_code)
        assert response["Content-Type"] == "application/problem+json"
    assert_b_untouched(world)


def test_tenant_lists_show_a_member_only_their_tenants(world, client):
    client.force_login(world["member_a"])
    page = client.get("/tenants/").content.decode()
    assert "team-a" in page and "team-b" not in page
    api = APIClient()
    api.force_authenticate(world["member_a"])
    assert [t["slug"] for t in api.get("/api/v1/tenants/").json()["results"]] == ["team-a"]
    requests = api.get("/api/v1/quota-requests/").json()["results"]
    assert all(r["tenant"] == "team-a" for r in requests)


@pytest.mark.parametrize("make_user", [sre, finance], ids=["sre", "finance"])
def test_sre_and_finance_read_every_tenant_but_change_nothing(world, make_user):
    user = make_user()
    web = Client()
    web.force_login(user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    slug = world["b"].slug
    assert web.get(f"/tenants/{slug}/").status_code == 200
    assert api.get(f"/api/v1/tenants/{slug}/").status_code == 200
    writes = [c for c in web_calls(world) if c[0] == "post"]
    for _, url, data in writes:
        assert web.post(url, data).status_code == 403, url
    for method, url, data in api_calls(world):
        if method == "post":
            assert api.post(url, data, format="json").status_code == 403, url
    assert_b_untouched(world)


def test_a_viewer_reads_the_tenant_but_cannot_request_quota(world):
    viewer = MembershipFactory(tenant=world["b"], role=TenantMembership.Role.VIEWER).user
    web = Client()
    web.force_login(viewer)
    assert web.get(f"/tenants/{world['b'].slug}/").status_code == 200
    assert web.get(f"/tenants/{world['b'].slug}/quota/").status_code == 403
    api = APIClient()
    api.force_authenticate(viewer)
    quota_call = api_calls(world)[-1]
    assert api.post(quota_call[1], quota_call[2], format="json").status_code == 403
    assert QuotaRequest.objects.count() == 1


def test_a_member_who_is_not_an_owner_cannot_manage_members(world):
    member = MembershipFactory(tenant=world["b"], role=TenantMembership.Role.MEMBER).user
    web = Client()
    web.force_login(member)
    response = web.post(
        f"/tenants/{world['b'].slug}/members/", {"username": member.username, "role": "owner"}
    )
    assert response.status_code == 403


def test_django_admin_is_for_superusers_only(client):
    from tenants.tests.factories import platform_admin

    client.force_login(platform_admin(is_staff=True))
    assert client.get("/admin/").status_code == 302
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    assert client.get("/admin/tenants/tenant/").status_code == 200


@pytest.mark.parametrize("make_user", [sre, finance], ids=["sre", "finance"])
def test_sre_and_finance_cannot_onboard_tenants(make_user):
    from clusters.tests.factories import ClusterFactory

    user = make_user()
    web = Client()
    web.force_login(user)
    assert web.get("/tenants/new/").status_code == 403
    api = APIClient()
    api.force_authenticate(user)
    body = {"name": "N", "slug": "sneaky", "team": "T", "cost_center": "CC-1",
            "contact_email": "a@example.com", "environments": ["dev"],
            "cluster": ClusterFactory().name}  # fmt: skip
    assert api.post("/api/v1/tenants/", body, format="json").status_code == 403
    assert not Tenant.objects.filter(slug="sneaky").exists()
