"""The tenancy REST API: journey with token auth, decisions, conflicts and bad input."""

import hashlib
import json

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.tests.factories import token_for
from clusters.tests.factories import ClusterCapacityFactory, ClusterFactory
from tenants.models import GpuProfile, QuotaGrant, QuotaRequest, Tenant
from tenants.tests.factories import (
    GpuProfileFactory,
    MembershipFactory,
    QuotaGrantFactory,
    QuotaRequestFactory,
    TenantFactory,
    UserFactory,
    platform_admin,
)

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


def api_as(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def tenant_body(on_cluster, **overrides) -> dict:
    body = {
        "name": "Ranking",
        "slug": "ranking",
        "team": "Search Ranking",
        "cost_center": "CC-4711",
        "contact_email": "ranking@example.com",
        "environments": ["dev", "prod"],
        "tier": "small",
        "cluster": on_cluster.name,
    }
    body.update(overrides)
    return body


def test_token_endpoint_returns_a_token_for_good_credentials():
    UserFactory(username="ana")
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "ana", "password": "pw-for-tests-1"}, format="json"
    )
    assert response.status_code == 200
    key = response.json()["token"]
    token = ApiToken.objects.get(user__username="ana")
    assert token.digest == hashlib.sha256(key.encode()).hexdigest() != key  # hashed at rest


def test_token_endpoint_answers_bad_credentials_with_a_problem_document():
    UserFactory(username="ana")
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "ana", "password": "wrong"}, format="json"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert response.json()["status"] == 400


def test_api_journey_onboard_request_approve_grant():
    cluster = ClusterFactory(name="eu-1")
    ClusterCapacityFactory(cluster=cluster, allocatable=8)
    GpuProfileFactory(name="h100-80gb")
    member, admin = api_as(UserFactory()), api_as(platform_admin())

    created = member.post(
        "/api/v1/tenants/",
        tenant_body(
            cluster,
            initial_quota={
                "environment": "prod",
                "profile": "h100-80gb",
                "guaranteed": 4,
                "burst": 2,
                "justification": "serving",
            },
        ),
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["status"] == "pending"
    assert [e["namespace"] for e in created.json()["environments"]] == [
        "ranking-dev",
        "ranking-prod",
    ]

    assert admin.post("/api/v1/tenants/ranking/approve/").json()["status"] == "active"
    request_id = created.json()["requests"][0]["id"]
    approved = admin.post(f"/api/v1/quota-requests/{request_id}/approve/")
    assert approved.status_code == 200
    assert approved.json()["grant"]["limit"] == 6

    detail = member.get("/api/v1/tenants/ranking/").json()
    assert [(g["namespace"], g["guaranteed"], g["burst"]) for g in detail["grants"]] == [
        ("ranking-prod", 4, 2)
    ]


def test_api_quota_request_then_reject_with_reason_visible_to_the_requester():
    tenant = TenantFactory(slug="vision")
    tenant.environments.create(name="dev", cluster=tenant.cluster, namespace="vision-dev")
    GpuProfileFactory(name="h100-80gb")
    member = api_as(MembershipFactory(tenant=tenant).user)
    created = member.post(
        "/api/v1/quota-requests/",
        {
            "tenant": "vision",
            "environment": "dev",
            "profile": "h100-80gb",
            "guaranteed": 1,
            "burst": 0,
            "justification": "eval",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    qid = created.json()["id"]
    rejected = api_as(platform_admin()).post(
        f"/api/v1/quota-requests/{qid}/reject/", {"reason": "use MIG"}, format="json"
    )
    assert rejected.json()["status"] == "rejected"
    seen = member.get(f"/api/v1/quota-requests/{qid}/").json()
    assert (seen["status"], seen["decision_reason"]) == ("rejected", "use MIG")


def test_api_capacity_refusal_is_a_400_naming_the_free_units():
    qr = QuotaRequestFactory(guaranteed=8, environment__tenant__cluster=ClusterFactory(name="eu-1"))
    ClusterCapacityFactory(cluster=qr.environment.cluster, allocatable=6)
    response = api_as(platform_admin()).post(f"/api/v1/quota-requests/{qr.pk}/approve/")
    assert response.status_code == 400
    assert "exceeds the 6 free" in response.json()["errors"]["guaranteed"][0]
    assert not QuotaGrant.objects.exists()


def test_api_second_approval_is_a_409_conflict():
    qr = QuotaRequestFactory(guaranteed=1)
    ClusterCapacityFactory(cluster=qr.environment.cluster)
    admin = api_as(platform_admin(username="alice"))
    assert admin.post(f"/api/v1/quota-requests/{qr.pk}/approve/").status_code == 200
    again = api_as(platform_admin()).post(f"/api/v1/quota-requests/{qr.pk}/approve/")
    assert again.status_code == 409
    assert again["Content-Type"] == PROBLEM
    assert "already approved by alice" in again.json()["detail"]


def test_api_reject_requires_a_reason():
    tenant = TenantFactory(status=Tenant.Status.PENDING)
    response = api_as(platform_admin()).post(
        f"/api/v1/tenants/{tenant.slug}/reject/", {}, format="json"
    )
    assert response.status_code == 400
    assert "reason" in response.json()["errors"]


def test_everyone_reads_gpu_profiles_and_only_admins_write_them():
    GpuProfileFactory()
    member = api_as(UserFactory())
    assert member.get("/api/v1/gpu-profiles/").json()["count"] == 1
    body = {
        "name": "a100-40gb",
        "display_name": "A100 40GB",
        "gpu_model": "NVIDIA A100",
        "gpu_product": "NVIDIA-A100-SXM4-40GB",
        "partition": "dedicated",
        "resource_name": "nvidia.com/gpu",
    }
    assert member.post("/api/v1/gpu-profiles/", body, format="json").status_code == 403
    created = api_as(platform_admin()).post("/api/v1/gpu-profiles/", body, format="json")
    assert created.status_code == 201
    assert GpuProfile.objects.filter(name="a100-40gb").exists()


def test_retired_profiles_are_hidden_from_non_admins():
    GpuProfileFactory(name="old", is_active=False)
    assert api_as(UserFactory()).get("/api/v1/gpu-profiles/old/").status_code == 404


BAD_TENANT_BODIES = [
    ("wrong type for environments", {"environments": "dev"}, "environments"),
    ("unknown environment", {"environments": ["qa"]}, "environments"),
    ("unicode slug", {"slug": "rankíng"}, "slug"),
    ("upper-case slug", {"slug": "Ranking"}, "slug"),
    ("slug over 40", {"slug": "a" * 41}, "slug"),
    ("oversized name", {"name": "x" * 10_000}, "name"),
    ("bad email", {"contact_email": "nope"}, "contact_email"),
    ("unknown cluster", {"cluster": "mars-1"}, "cluster"),
    ("name is a number", {"name": 12}, None),
    ("null byte", {"team": "a\x00b"}, "team"),
    ("negative units", {"initial_quota": {"environment": "dev", "profile": "h100-80gb",
                                          "guaranteed": -1, "justification": "x"}},
     "initial_quota"),
    ("absurd units", {"initial_quota": {"environment": "dev", "profile": "h100-80gb",
                                        "guaranteed": 10**12, "justification": "x"}},
     "initial_quota"),
    ("units as string", {"initial_quota": {"environment": "dev", "profile": "h100-80gb",
                                           "guaranteed": "4", "justification": "x"}},
     "initial_quota"),
    ("unknown profile", {"initial_quota": {"environment": "dev", "profile": "tpu-v5",
                                           "guaranteed": 1, "justification": "x"}},
     "initial_quota"),
    ("quota for an env not chosen", {"environments": ["dev"], "initial_quota": {
        "environment": "prod", "profile": "h100-80gb", "guaranteed": 1, "justification": "x"}},
     "quota_environment"),
    ("reserved slug", {"slug": "approvals"}, "slug"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "overrides", "field"), BAD_TENANT_BODIES, ids=[c[0] for c in BAD_TENANT_BODIES]
)
def test_bad_onboarding_input_is_a_400_naming_the_field(case, overrides, field):
    cluster = ClusterFactory()
    GpuProfileFactory(name="h100-80gb")
    response = api_as(UserFactory()).post(
        "/api/v1/tenants/", tenant_body(cluster, **overrides), format="json"
    )
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == PROBLEM
    if field:
        assert field in response.json()["errors"]
    assert not Tenant.objects.exists()


def test_duplicate_slug_is_a_400_on_slug():
    cluster = ClusterFactory()
    TenantFactory(slug="ranking")
    response = api_as(UserFactory()).post("/api/v1/tenants/", tenant_body(cluster), format="json")
    assert response.status_code == 400
    assert "taken" in response.json()["errors"]["slug"][0]


def test_malformed_json_is_a_400_problem():
    response = api_as(UserFactory()).post(
        "/api/v1/tenants/", data='{"name": ', content_type="application/json"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM


def test_a_json_array_body_is_a_400_not_a_500():
    response = api_as(UserFactory()).post(
        "/api/v1/tenants/", data=json.dumps([1, 2]), content_type="application/json"
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"guaranteed": -3}, "guaranteed"),
        ({"burst": 99_999_999}, "burst"),
        ({"guaranteed": 1.5}, "guaranteed"),
        ({"guaranteed": True}, "guaranteed"),
        ({"guaranteed": 0, "burst": 0}, "guaranteed"),
        ({"profile": "nope"}, "profile"),
        ({"environment": "staging"}, "environment"),
        ({"justification": ""}, "justification"),
    ],
)
def test_bad_quota_request_input_is_a_400_naming_the_field(overrides, field):
    tenant = TenantFactory(slug="vision")
    tenant.environments.create(name="dev", cluster=tenant.cluster, namespace="vision-dev")
    GpuProfileFactory(name="h100-80gb")
    body = {
        "tenant": "vision",
        "environment": "dev",
        "profile": "h100-80gb",
        "guaranteed": 1,
        "burst": 0,
        "justification": "eval",
    }
    body.update(overrides)
    response = api_as(MembershipFactory(tenant=tenant).user).post(
        "/api/v1/quota-requests/", body, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not QuotaRequest.objects.exists()


def test_unauthenticated_api_calls_are_refused_with_a_problem_document():
    response = APIClient().get("/api/v1/tenants/")
    assert response.status_code in (401, 403)
    assert response["Content-Type"] == PROBLEM


def test_admins_rename_a_profile_but_cannot_move_one_with_live_grants_to_another_resource():
    grant = QuotaGrantFactory()
    admin = api_as(platform_admin())
    url = f"/api/v1/gpu-profiles/{grant.profile.name}/"
    renamed = admin.patch(url, {"display_name": "H100 (full GPU)"}, format="json")
    assert renamed.json()["display_name"] == "H100 (full GPU)"
    moved = admin.patch(url, {"resource_name": "nvidia.com/mig-1g.10gb"}, format="json")
    assert moved.status_code == 400
    assert "live grants" in moved.json()["errors"]["resource_name"][0]


def test_a_mig_profile_needs_its_mig_profile_name():
    body = {
        "name": "h100-mig",
        "display_name": "MIG",
        "gpu_model": "H100",
        "gpu_product": "NVIDIA-H100-80GB-HBM3",
        "partition": "mig",
        "resource_name": "nvidia.com/mig-1g.10gb",
    }
    response = api_as(platform_admin()).post("/api/v1/gpu-profiles/", body, format="json")
    assert response.status_code == 400
    assert "mig_profile" in response.json()["errors"]
