"""Tenants as code: PUT/GET /api/v1/tenants/{slug}/spec/ converge a tenant to a document,
idempotently, with approvals still required for more quota, and field errors by JSON pointer."""

import pytest
import yaml
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pghistory.models import Context
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from clusters.tests.factories import ClusterFactory
from tenants.models import QuotaGrant, QuotaRequest, Tenant, TenantMembership, TenantSpecApply
from tenants.tests.factories import (
    EnvironmentFactory,
    GpuProfileFactory,
    MembershipFactory,
    QuotaGrantFactory,
    TenantFactory,
    UserFactory,
    platform_admin,
)

pytestmark = pytest.mark.django_db
WRITES = ("INSERT", "UPDATE", "DELETE")


def api_as(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def counts() -> dict[str, int]:
    return {m._meta.label: m.objects.count() for m in apps.get_models()}


@pytest.fixture
def world():
    cluster = ClusterFactory(name="eu-1")
    profile = GpuProfileFactory(name="h100-80gb")
    owner = UserFactory(username="olga")
    colleague = UserFactory(username="carl")
    return cluster, profile, owner, colleague


def document(**overrides) -> dict:
    doc = {
        "name": "NLP",
        "team": "NLP team",
        "cost_center": "CC-4200",
        "contact_email": "nlp@example.com",
        "oncall_contact": "#nlp-oncall",
        "tier": "medium",
        "cluster": "eu-1",
        "environments": ["dev", "prod"],
        "members": [{"username": "olga", "role": "owner"}, {"username": "carl", "role": "member"}],
        "quota": [
            {
                "environment": "dev",
                "profile": "h100-80gb",
                "guaranteed": 2,
                "burst": 1,
                "justification": "fine-tuning",
            }
        ],
    }
    doc.update(overrides)
    return doc


def put(client, slug, body, query=""):
    return client.put(f"/api/v1/tenants/{slug}/spec/{query}", body, format="json")


def active_nlp(owner, profile, guaranteed=2, burst=1):
    """The tenant as the document above describes it, approved and granted."""
    tenant = TenantFactory(
        slug="nlp",
        name="NLP",
        team="NLP team",
        cost_center="CC-4200",
        contact_email="nlp@example.com",
        oncall_contact="#nlp-oncall",
        tier="medium",
        cluster=ClusterFactory(name="eu-1"),
    )
    dev = EnvironmentFactory(tenant=tenant, name="dev")
    EnvironmentFactory(tenant=tenant, name="prod")
    MembershipFactory(tenant=tenant, user=owner, role="owner")
    MembershipFactory(tenant=tenant, user=UserFactory(username="carl"), role="member")
    QuotaGrantFactory(environment=dev, profile=profile, guaranteed=guaranteed, burst=burst)
    return tenant


def test_a_document_creates_a_pending_tenant_with_members_and_a_quota_request(world):
    _, _, owner, _ = world

    response = put(api_as(owner), "nlp", document())

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["applied"] is True
    assert [s["action"] for s in body["plan"]["steps"]] == ["create", "add", "add", "request"]
    tenant = Tenant.objects.get(slug="nlp")
    assert tenant.status == Tenant.Status.PENDING
    assert sorted(tenant.environments.values_list("namespace", flat=True)) == [
        "nlp-dev",
        "nlp-prod",
    ]
    assert dict(tenant.memberships.values_list("user__username", "role")) == {
        "olga": "owner",
        "carl": "member",
    }
    request = QuotaRequest.objects.get(tenant=tenant)
    assert (request.status, request.guaranteed, request.burst) == ("pending", 2, 1)
    assert not QuotaGrant.objects.filter(tenant=tenant).exists()


def test_the_same_document_again_writes_nothing(world):
    _, _, owner, _ = world
    client = api_as(owner)
    assert put(client, "nlp", document()).status_code == 201
    before = counts()

    with CaptureQueriesContext(connection) as queries:
        response = put(client, "nlp", document())

    assert response.status_code == 200
    assert response.json()["applied"] is False
    assert response.json()["plan"]["changes"] == 0
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().startswith(WRITES)]
    assert writes == []
    assert counts() == before


def test_raising_quota_creates_exactly_one_pending_request_and_no_grant(world):
    _, profile, owner, _ = world
    tenant = active_nlp(owner, profile)
    raised = document()
    raised["quota"][0].update(guaranteed=4, justification="bigger model")

    first = put(api_as(owner), "nlp", raised)
    again = put(api_as(owner), "nlp", raised)

    assert first.status_code == 200 and again.status_code == 200
    pending = QuotaRequest.objects.filter(tenant=tenant, status="pending")
    assert [(r.guaranteed, r.burst) for r in pending] == [(4, 1)]
    grant = QuotaGrant.objects.get(tenant=tenant, revoked_at__isnull=True)
    assert (grant.guaranteed, grant.burst) == (2, 1)
    assert again.json()["plan"]["changes"] == 0


def test_a_dry_run_answers_the_plan_and_writes_nothing(world):
    _, profile, owner, _ = world
    active_nlp(owner, profile)
    changed = document(name="NLP and speech", members=[{"username": "olga", "role": "owner"}])
    changed["quota"][0].update(guaranteed=3)
    client = api_as(owner)
    before = counts()

    response = put(client, "nlp", changed, "?dry_run=true&prune=true")

    assert response.status_code == 200
    assert counts() == before
    steps = {(s["action"], s["target"]) for s in response.json()["plan"]["steps"]}
    assert steps == {
        ("update", "tenant.name"),
        ("remove", "member carl"),
        ("request", "quota dev/h100-80gb"),
    }
    assert response.json()["applied"] is False


def test_an_invalid_document_gets_field_errors_by_json_pointer(world):
    _, _, owner, _ = world
    bad = document(tier="huge")
    bad["quota"][0]["guaranteed"] = -1
    bad["members"][1]["role"] = "boss"

    response = put(api_as(owner), "nlp", bad)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    assert set(errors) == {"/tier", "/quota/0/guaranteed", "/members/1/role"}
    assert not Tenant.objects.filter(slug="nlp").exists()


def test_unknown_names_and_a_missing_justification_point_at_their_lines(world):
    _, _, owner, _ = world
    bad = document(members=[{"username": "nobody", "role": "member"}])
    bad["quota"][0]["profile"] = "no-such-gpu"
    no_reason = document()
    del no_reason["quota"][0]["justification"]

    errors = put(api_as(owner), "nlp", bad).json()["errors"]
    missing = put(api_as(owner), "nlp", no_reason).json()["errors"]

    assert set(errors) == {"/members/0/username", "/quota/0/profile"}
    assert list(missing) == ["/quota/0/justification"]
    assert not Tenant.objects.filter(slug="nlp").exists()


def test_get_then_put_of_the_result_changes_nothing(world):
    _, profile, owner, _ = world
    active_nlp(owner, profile)
    client = api_as(owner)

    current = client.get("/api/v1/tenants/nlp/spec/").json()
    before = counts()
    response = put(client, "nlp", current, "?prune=true")

    assert response.status_code == 200
    assert response.json()["plan"]["changes"] == 0
    assert counts() == before
    assert current["quota"] == [
        {"environment": "dev", "profile": "h100-80gb", "guaranteed": 2, "burst": 1}
    ]


def test_a_member_cannot_apply_a_document_to_another_tenant(world):
    _, profile, owner, _ = world
    active_nlp(owner, profile)
    outsider = api_as(UserFactory(username="mallory"))

    assert outsider.get("/api/v1/tenants/nlp/spec/").status_code == 404
    before = counts()
    assert put(outsider, "nlp", document()).status_code == 404
    assert counts() == before


def test_a_member_cannot_grant_themselves_quota(world):
    _, profile, owner, _ = world
    tenant = active_nlp(owner, profile)
    member = TenantMembership.objects.get(tenant=tenant, user__username="carl").user
    greedy = document()
    greedy["quota"][0].update(guaranteed=50)

    member_answer = put(api_as(member), "nlp", greedy)
    owner_answer = put(api_as(owner), "nlp", greedy)

    assert member_answer.status_code == 403  # members may not rewrite the tenant
    assert owner_answer.status_code == 200  # owners only ask
    grant = QuotaGrant.objects.get(tenant=tenant, revoked_at__isnull=True)
    assert grant.guaranteed == 2
    assert QuotaRequest.objects.get(tenant=tenant, status="pending").guaranteed == 50


def test_lowering_quota_releases_it_without_approval_and_prune_removes_what_is_left_out(world):
    _, profile, owner, _ = world
    tenant = active_nlp(owner, profile)
    lower = document(members=[{"username": "olga", "role": "owner"}])
    lower["quota"][0].update(guaranteed=1, burst=0)

    kept = put(api_as(owner), "nlp", lower)
    assert {s["action"] for s in kept.json()["plan"]["steps"]} == {"release", "skip"}
    assert tenant.memberships.count() == 2  # carl stays: no prune

    pruned = put(api_as(owner), "nlp", document(members=lower["members"], quota=[]), "?prune=true")

    assert pruned.status_code == 200
    assert list(tenant.memberships.values_list("user__username", flat=True)) == ["olga"]
    assert not QuotaGrant.objects.filter(tenant=tenant, revoked_at__isnull=True).exists()
    grant = QuotaGrant.objects.get(tenant=tenant)
    assert grant.revoked_by.username == "olga"


def test_tier_changes_are_for_platform_admins(world):
    _, profile, owner, _ = world
    tenant = active_nlp(owner, profile)

    denied = put(api_as(owner), "nlp", document(tier="large"))
    allowed = put(api_as(platform_admin()), "nlp", document(tier="large"))

    assert denied.status_code == 403
    assert allowed.status_code == 200, allowed.json()["errors"]
    tenant.refresh_from_db()
    assert tenant.tier == "large"


def test_a_yaml_document_is_accepted(world):
    _, _, owner, _ = world
    body = yaml.safe_dump(document())

    response = api_as(owner).put("/api/v1/tenants/nlp/spec/", body, content_type="application/yaml")

    assert response.status_code == 201, response.json()
    assert Tenant.objects.filter(slug="nlp").exists()


def test_each_apply_is_one_audited_change_carrying_the_digest(world):
    _, _, owner, _ = world

    response = put(api_as(owner), "nlp", document())

    digest = response.json()["plan"]["digest"]
    assert digest.startswith("sha256:")
    record = TenantSpecApply.objects.get()
    assert (record.digest, record.applied_by.username) == (digest, "olga")
    contexts = Context.objects.filter(metadata__spec_digest=digest)
    assert contexts.count() == 1
    assert contexts.get().metadata["user"] == owner.pk


def test_the_schema_is_served_and_the_page_shows_the_document_and_last_plan(world, client):
    _, _, owner, _ = world
    put(api_as(owner), "nlp", document())

    schema = APIClient().get("/api/v1/schemas/tenant-spec.json")
    client.force_login(owner)
    page = client.get("/tenants/nlp/spec/").content.decode()

    assert schema.status_code == 200
    assert set(schema.json()["required"]) >= {"name", "cluster", "tier"}
    assert "cost_center: CC-4200" in page
    assert "Last applied plan" in page and "quota dev/h100-80gb" in page
