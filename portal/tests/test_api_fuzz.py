"""Property-based fuzzing of the REST API from its own OpenAPI schema: never a 500.

Every operation of the schema /api/schema/ serves (drf-spectacular's generator) is run through
Django's WSGI app (no network) by schemathesis, as a platform admin and as an ML-team member, on
seeded data that path parameters also hit. Checks: no 5xx; every 4xx is problem+json; a 2xx is
documented and matches its schema. Not checked: that schema-invalid input is refused (DRF's
pagination ignores a bad limit/offset by design).
"""

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from clusters.tests.factories import ClusterCapacityFactory, ClusterFactory
from contracts.models import OnCallTeam
from costs.models import PriceBookEntry
from tenants.models import TenantMembership
from tenants.tests.factories import (
    EnvironmentFactory,
    GpuProfileFactory,
    MembershipFactory,
    QuotaGrantFactory,
    QuotaRequestFactory,
    TenantFactory,
    UserFactory,
    finance,
    platform_admin,
    sre,
)
from workloads.tests.factories import DeploymentFactory, RevisionFactory, WorkloadFactory

MAX_EXAMPLES = 15


def _load_schema():
    raw = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))
    loaded = schemathesis.openapi.from_dict(raw)
    loaded.app = get_wsgi_application()
    return loaded


schema = _load_schema()


@pytest.fixture
def seeded(db):
    """One of each object a path parameter can name; the member owns the tenant."""
    cluster = ClusterFactory(name="fuzz-cluster")
    profile = GpuProfileFactory(name="fuzz-a100")
    ClusterCapacityFactory(cluster=cluster)
    tenant = TenantFactory(slug="fuzz-team", cluster=cluster)
    environment = EnvironmentFactory(tenant=tenant, name="dev")
    EnvironmentFactory(tenant=tenant, name="staging")
    QuotaGrantFactory(environment=environment, profile=profile, guaranteed=1, burst=1)
    quota_request = QuotaRequestFactory(environment=environment, profile=profile)
    workload = WorkloadFactory(tenant=tenant, name="fuzz-ranker")
    revision = RevisionFactory(workload=workload, number=1, profile=profile)
    DeploymentFactory(current_revision=revision, workload=workload, environment=environment)
    team = OnCallTeam.objects.create(name="fuzz-oncall", display_name="Fuzz on-call")
    PriceBookEntry.objects.create(
        gpu_model=profile.gpu_model, hourly_price="2.5000", effective_from="2026-01-01"
    )
    member = UserFactory(username="fuzz-member")
    MembershipFactory(tenant=tenant, user=member, role=TenantMembership.Role.OWNER)
    admin = platform_admin(username="fuzz-admin")
    return {
        "tokens": {
            "platform-admin": Token.objects.create(user=admin).key,
            "ml-member": Token.objects.create(user=member).key,
            "sre": Token.objects.create(user=sre(username="fuzz-sre")).key,
            "finance": Token.objects.create(user=finance(username="fuzz-finance")).key,
        },
        # path prefix -> value of its one path parameter
        "paths": {
            "/api/v1/clusters/": cluster.name,
            "/api/v1/costs/tenants/": tenant.slug,
            "/api/v1/gpu-profiles/": profile.name,
            "/api/v1/oncall/": str(team.pk),
            "/api/v1/quota-requests/": str(quota_request.pk),
            "/api/v1/tenants/": tenant.slug,
            "/api/v1/workloads/": str(workload.pk),
        },
    }


@pytest.fixture(autouse=True)
def keep_test_connection():
    """Django's WSGI handler closes the DB connection after each request (the test client
    switches that off too): keep it, so requests run inside the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(params=["platform-admin", "ml-member"])
def caller(request):
    return request.param


def _seeded_path_parameters(case, seeded, data) -> None:
    """Most examples name an existing object, so the handlers behind the 404 run too."""
    if not case.path_parameters:
        return
    for prefix, value in seeded["paths"].items():
        if case.path.startswith(prefix + "{"):
            if data.draw(st.integers(0, 3), label="seeded") > 0:
                (name,) = case.path_parameters
                case.path_parameters = {name: value}
            return


def assert_problem_json(case, response) -> None:
    """A 4xx is an RFC 7807 document: type, title, status (= the code), detail."""
    where = f"{case.method} {case.formatted_path} -> {response.status_code}"
    assert response.headers.get("content-type", [""])[0].startswith("application/problem+json"), (
        f"{where}: {response.headers.get('content-type')} {response.text[:200]}"
    )
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body), f"{where}: {body}"
    assert body["status"] == response.status_code, f"{where}: {body}"


@schema.given(data=st.data())
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_operation_never_fails_and_keeps_its_contract(case, data, seeded, caller):
    _seeded_path_parameters(case, seeded, data)
    headers = {"Authorization": f"Token {seeded['tokens'][caller]}"}
    # each example starts from the seeded state: no drift between runs, shrinking replays the
    # same thing, and a refused statement does not poison the examples after it
    savepoint = transaction.savepoint()
    try:
        response = case.call(headers=headers)
    finally:
        transaction.savepoint_rollback(savepoint)
    where = f"{case.method} {case.formatted_path} as {caller}"
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:500]}"
    if 400 <= response.status_code < 500:
        assert_problem_json(case, response)
    else:
        checks = [status_code_conformance, content_type_conformance]
        if _is_json(response):
            # text bodies (alertmanager.yml, Markdown) are documented as a string; schemathesis
            # would parse the YAML and compare the mapping with "type: string"
            checks.append(response_schema_conformance)
        case.validate_response(response, checks=checks, headers=headers)


# Random bodies rarely pass validation, so the 2xx of each create is checked on a valid one too.
VALID_WRITES = [
    ("ml-member", "POST", "/api/v1/tenants/", {
        "name": "Vision", "slug": "vision", "team": "Vision", "cost_center": "CC-2000",
        "contact_email": "vision@example.com", "environments": ["dev"], "cluster": "fuzz-cluster",
    }),
    ("ml-member", "POST", "/api/v1/quota-requests/", {
        "tenant": "fuzz-team", "environment": "dev", "profile": "fuzz-a100", "guaranteed": 1,
        "justification": "Evaluation runs.",
    }),
    ("ml-member", "POST", "/api/v1/workloads/", {
        "tenant": "fuzz-team", "name": "trainer", "template": "training",
        "image": "registry.example.com/search/train:3", "image_digest": "sha256:" + "c3" * 32,
        "profile": "fuzz-a100",
    }),
    ("ml-member", "POST", "/api/v1/workloads/{id}/revisions/", {"replicas": 3}),
    ("platform-admin", "POST", "/api/v1/clusters/", {
        "name": "second-cluster", "api_server_url": "https://127.0.0.1:6443", "api_token": "t",
    }),
    ("platform-admin", "POST", "/api/v1/gpu-profiles/", {
        "name": "l4", "display_name": "L4", "gpu_model": "NVIDIA L4", "gpu_product": "NVIDIA-L4",
        "partition": "dedicated", "resource_name": "nvidia.com/gpu",
    }),
    ("finance", "POST", "/api/v1/price-book/", {
        "gpu_model": "NVIDIA L4", "hourly_price": "0.8000", "effective_from": "2026-02-01",
    }),
    ("sre", "POST", "/api/v1/oncall/", {"name": "vision-oncall", "display_name": "Vision"}),
]  # fmt: skip


@pytest.mark.parametrize(
    "role, method, path, body", VALID_WRITES, ids=[f"{m} {p}" for _, m, p, _ in VALID_WRITES]
)
def test_a_valid_write_gets_a_documented_2xx_matching_the_schema(seeded, role, method, path, body):
    parameters = {"id": seeded["paths"]["/api/v1/workloads/"]} if "{id}" in path else None
    operation = schema[path][method]
    case = operation.Case(path_parameters=parameters, body=body, media_type="application/json")
    headers = {"Authorization": f"Token {seeded['tokens'][role]}"}
    response = case.call(headers=headers)
    assert 200 <= response.status_code < 300, response.text[:500]
    case.validate_response(
        response,
        checks=[status_code_conformance, content_type_conformance, response_schema_conformance],
        headers=headers,
    )


def test_every_operation_without_credentials_is_a_401_problem_except_token_login(seeded):
    anonymous = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        values = [v for prefix, v in seeded["paths"].items() if operation.path.startswith(prefix)]
        names = [p.name for p in operation.path_parameters]
        case = operation.Case(path_parameters=dict(zip(names, values[-1:], strict=False)))
        response = case.call()
        anonymous[f"{operation.method.upper()} {operation.path}"] = response.status_code
        if response.status_code != 200:
            assert_problem_json(case, response)
    assert anonymous.pop("POST /api/v1/auth/token/") == 400  # no username/password given
    assert anonymous.pop("GET /api/v1/schemas/tenant-spec.json") == 200  # public, like the schema
    assert set(anonymous.values()) == {401}, anonymous


def _is_json(response) -> bool:
    content_type = response.headers.get("content-type", [""])[0]
    return content_type.split(";")[0].strip().endswith("json")


# --- regression examples of what the fuzzer found ---------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/api/v1/workloads/-1/", "/api/v1/tenants/MIG%20instances/sync/", "/api/v1/nope/"]
)
def test_an_api_url_no_route_matches_is_a_404_problem_document(client, path):
    client.force_login(UserFactory())
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Not found.",
        "status": 404,
        "detail": "No API resource at this URL.",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["null", "[]", "7"])
def test_a_cluster_update_whose_body_is_not_an_object_is_a_400_problem(client, body):
    ClusterFactory(name="fuzz-cluster")
    client.force_login(platform_admin())
    response = client.patch(
        "/api/v1/clusters/fuzz-cluster/", data=body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "non_field_errors" in response.json()["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method, path, body",
    [
        ("post", "/api/v1/quota-requests/", {"profile": "a100\x00"}),
        ("post", "/api/v1/workloads/", {"profile": "\x00"}),
        ("get", "/api/v1/workloads/?tenant=%00", None),
    ],
)
def test_a_nul_character_postgres_refuses_is_a_400_problem(method, path, body):
    fields = {
        "tenant": "fuzz-team", "environment": "dev", "guaranteed": 1, "justification": "x",
        "name": "ranker", "template": "inference",
    }  # fmt: skip
    client = APIClient()
    client.force_authenticate(platform_admin())
    if body is None:
        response = client.get(path)
    else:
        response = client.post(path, {**fields, **body}, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "NUL" in str(response.json()["errors"])


def test_the_schema_documents_paginated_lists_nullable_usernames_and_the_oncall_201():
    """Mismatches the fuzzer found between what the schema said and what the views serve."""
    paths, components = schema.raw_schema["paths"], schema.raw_schema["components"]["schemas"]
    for path, item in [
        ("/api/v1/tenants/", "TenantOutput"),
        ("/api/v1/quota-requests/", "QuotaRequestOutput"),
        ("/api/v1/gpu-profiles/", "GpuProfileOutput"),
        ("/api/v1/workloads/", "WorkloadSummary"),
        ("/api/v1/oncall/", "OnCallTeam"),
    ]:
        listed = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert listed == {"$ref": f"#/components/schemas/Paginated{item}List"}, path
    for component, field in [
        ("QuotaRequestOutput", "requested_by"),
        ("QuotaRequestOutput", "decided_by"),
        ("TenantOutput", "decided_by"),
        ("PriceOutput", "profile"),
        ("RevisionOutput", "created_by"),
    ]:
        assert components[component]["properties"][field].get("nullable"), (component, field)
    assert list(paths["/api/v1/oncall/"]["post"]["responses"]) == ["201"]


@pytest.mark.django_db
def test_a_page_url_no_route_matches_is_still_an_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
