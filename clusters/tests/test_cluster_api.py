"""/api/v1/clusters/: admin CRUD with write-only credentials; capacity per GPU resource."""

import pytest
from rest_framework.test import APIClient

from clusters.models import Cluster
from clusters.tests.factories import ClusterCapacityFactory, ClusterFactory
from tenants.tests.factories import platform_admin, sre, user_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    client = APIClient()
    client.force_authenticate(platform_admin())
    return client


def test_admin_registers_a_cluster_and_credentials_are_not_returned(api):
    response = api.post(
        "/api/v1/clusters/",
        {"name": "eu-2", "api_server_url": "https://eu-2.example:6443", "api_token": "tok-123"},
        format="json",
    )

    assert response.status_code == 201
    assert "tok-123" not in response.content.decode()
    assert response.json()["credentials"]["api_token"] == "set"
    assert Cluster.objects.get(name="eu-2").api_token == "tok-123"


@pytest.mark.parametrize("user_factory", [lambda: user_in("ml-team"), sre])
def test_non_admins_get_403(user_factory):
    client = APIClient()
    client.force_authenticate(user_factory())

    assert client.get("/api/v1/clusters/").status_code == 403


def test_duplicate_name_and_bad_input_are_400_problem_documents(api):
    ClusterFactory(name="eu-1")

    dup = api.post(
        "/api/v1/clusters/", {"name": "eu-1", "api_server_url": "https://x.example"}, format="json"
    )
    bad = api.post(
        "/api/v1/clusters/", {"name": "Not A Slug!", "kubernetes_version": 7}, format="json"
    )

    assert dup.status_code == 400 and "name" in dup.json()["errors"]
    assert bad.status_code == 400 and bad["Content-Type"] == "application/problem+json"


def test_patch_without_token_keeps_the_stored_token(api):
    ClusterFactory(name="eu-1", api_token="keep-me")

    response = api.patch("/api/v1/clusters/eu-1/", {"gpu_pool": "a100"}, format="json")

    assert response.status_code == 200
    cluster = Cluster.objects.get(name="eu-1")
    assert (cluster.gpu_pool, cluster.api_token) == ("a100", "keep-me")


def test_deleting_a_cluster_with_tenants_is_refused(api):
    from tenants.tests.factories import TenantFactory

    TenantFactory(cluster=ClusterFactory(name="eu-1"))

    assert api.delete("/api/v1/clusters/eu-1/").status_code == 400
    assert Cluster.objects.filter(name="eu-1").exists()


def test_capacity_endpoint_reports_capacity_and_allocations(api):
    from tenants.tests.factories import QuotaGrantFactory, TenantFactory

    cluster = ClusterFactory(name="eu-1")
    ClusterCapacityFactory(cluster=cluster, allocatable=8, override=10)
    QuotaGrantFactory(environment__tenant=TenantFactory(cluster=cluster),
                      environment__cluster=cluster, guaranteed=6, burst=2)  # fmt: skip

    body = api.get("/api/v1/clusters/eu-1/capacity/").json()

    assert body["capacity"] == [
        {"gpu_product": "NVIDIA-H100-80GB-HBM3", "resource_name": "nvidia.com/gpu",
         "allocatable": 8, "override": 10, "capacity": 10, "guaranteed_allocated": 6, "free": 4,
         "burst_granted": 2, "observed_at": None}
    ]  # fmt: skip


def test_unknown_cluster_is_404(api):
    assert api.get("/api/v1/clusters/nope/capacity/").status_code == 404


def test_openapi_describes_cluster_and_sync_endpoints(client):
    import yaml

    paths = yaml.safe_load(client.get("/api/schema/").content)["paths"]

    assert {"get", "post"} <= set(paths["/api/v1/clusters/"])
    assert "get" in paths["/api/v1/clusters/{name}/capacity/"]
    assert {"get", "post"} <= set(paths["/api/v1/tenants/{slug}/sync/"])
