"""The workloads API: tenant isolation (404), role checks (403), gates as problem+json."""

import pytest
from rest_framework.test import APIClient

from tenants.tests.factories import QuotaGrantFactory, TenantFactory, UserFactory, finance, sre
from workloads.models import Workload

from .factories import DIGEST, RevisionFactory, WorkloadFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def workload(tenant):
    workload = WorkloadFactory(tenant=tenant, name="ranker")
    RevisionFactory(workload=workload, number=1, replicas=1)
    return workload


def test_a_member_creates_a_workload_from_a_template_with_defaults(member, profiles):
    response = client_for(member).post(
        "/api/v1/workloads/",
        {
            "tenant": "search",
            "name": "trainer",
            "template": "training",
            "image": "registry.example.com/search/train:3",
            "image_digest": DIGEST,
            "profile": "h100-80gb",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    revisions = client_for(member).get(f"/api/v1/workloads/{response.json()['id']}/revisions/")
    (revision,) = revisions.json()
    assert revision["checkpoint_volume_gi"] == 100
    assert revision["backoff_limit"] == 3
    assert revision["image_ref"].endswith(DIGEST)


def test_bad_input_is_a_problem_with_field_errors(member, profiles):
    response = client_for(member).post(
        "/api/v1/workloads/",
        {"tenant": "search", "name": "Bad_Name", "template": "inference", "profile": "h100-80gb"},
        format="json",
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "DNS-1123" in response.json()["errors"]["name"][0]


def test_someone_elses_workload_is_404(workload):
    outsider = UserFactory(username="eve")
    TenantFactory(slug="other")
    assert client_for(outsider).get(f"/api/v1/workloads/{workload.pk}/").status_code == 404
    response = client_for(outsider).post(
        f"/api/v1/workloads/{workload.pk}/promote/", {"environment": "dev"}, format="json"
    )
    assert response.status_code == 404
    assert client_for(outsider).get("/api/v1/workloads/").json()["results"] == []


def test_a_failing_gate_is_a_400_naming_the_gate(workload, member):
    response = client_for(member).post(
        f"/api/v1/workloads/{workload.pk}/promote/", {"environment": "dev"}, format="json"
    )
    assert response.status_code == 400
    assert "gate quota failed" in response.json()["errors"]["environment"][0]


def test_promote_then_rollback_over_the_api(workload, member, envs):
    QuotaGrantFactory(environment=envs["dev"], profile=workload.revisions.get().profile)
    client = client_for(member)
    assert client.post(
        f"/api/v1/workloads/{workload.pk}/promote/", {"environment": "dev"}, format="json"
    ).json()["gates"][0] == {
        "name": "quota",
        "passed": True,
        "reason": "4 of 4 free h100-80gb units in search-dev.",
    }
    client.post(f"/api/v1/workloads/{workload.pk}/revisions/", {"replicas": 2}, format="json")
    client.post(f"/api/v1/workloads/{workload.pk}/promote/", {"environment": "dev"}, format="json")
    response = client.post(
        f"/api/v1/workloads/{workload.pk}/rollback/", {"environment": "dev"}, format="json"
    )
    assert response.json() == {"environment": "dev", "from_revision": 2, "to_revision": 1}


def test_an_sre_cannot_change_the_image_over_the_api(workload):
    response = client_for(sre(username="sam")).post(
        f"/api/v1/workloads/{workload.pk}/revisions/", {"image": "evil/x:1"}, format="json"
    )
    assert response.status_code == 403
    assert Workload.objects.get().revisions.count() == 1


def test_finance_reads_but_cannot_promote(workload):
    accountant = finance(username="fin")
    assert client_for(accountant).get(f"/api/v1/workloads/{workload.pk}/").status_code == 200
    response = client_for(accountant).post(
        f"/api/v1/workloads/{workload.pk}/promote/", {"environment": "dev"}, format="json"
    )
    assert response.status_code == 403


def test_rollback_without_history_is_409(workload, member, envs):
    QuotaGrantFactory(environment=envs["dev"], profile=workload.revisions.get().profile)
    client = client_for(member)
    client.post(f"/api/v1/workloads/{workload.pk}/promote/", {"environment": "dev"}, format="json")
    response = client.post(
        f"/api/v1/workloads/{workload.pk}/rollback/", {"environment": "dev"}, format="json"
    )
    assert response.status_code == 409
