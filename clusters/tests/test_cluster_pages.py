"""Cluster pages: admins only; capacity vs allocations; credentials never rendered back."""

import pytest
from django.urls import reverse

from clusters.models import Cluster, ClusterCapacity
from clusters.tests.factories import ClusterCapacityFactory, ClusterFactory
from tenants.tests.factories import QuotaGrantFactory, TenantFactory, platform_admin, user_in

pytestmark = pytest.mark.django_db
SECRET = "s3cr3t-token-value"


@pytest.fixture
def admin_client(client):
    client.force_login(platform_admin())
    return client


def test_non_admins_cannot_see_cluster_pages(client):
    client.force_login(user_in("ml-team"))
    cluster = ClusterFactory()

    assert client.get(reverse("clusters:list")).status_code == 403
    assert client.get(reverse("clusters:detail", args=[cluster.name])).status_code == 403


def test_cluster_list_query_count_does_not_grow_with_clusters(
    admin_client, django_assert_max_num_queries
):
    for _ in range(5):
        ClusterFactory()

    with django_assert_max_num_queries(8):
        response = admin_client.get(reverse("clusters:list"))

    assert response.status_code == 200


def test_detail_shows_guaranteed_allocated_free_and_burst(
    admin_client, django_assert_max_num_queries
):
    cluster = ClusterFactory(name="eu-1")
    ClusterCapacityFactory(cluster=cluster, allocatable=16)
    for i in range(3):
        tenant = TenantFactory(slug=f"t-{i}", cluster=cluster)
        QuotaGrantFactory(environment__tenant=tenant, environment__cluster=cluster,
                          guaranteed=4, burst=3)  # fmt: skip

    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("clusters:detail", args=["eu-1"]))

    lines = response.context["capacity"]
    assert [(line.capacity, line.guaranteed, line.free, line.burst) for line in lines] == [
        (16, 12, 4, 9)
    ]


def test_credentials_are_never_rendered_back(admin_client):
    cluster = ClusterFactory(name="eu-1", api_token=SECRET, ca_cert="-----BEGIN CERT-----")

    detail = admin_client.get(reverse("clusters:detail", args=["eu-1"])).content.decode()
    edit = admin_client.get(reverse("clusters:edit", args=["eu-1"])).content.decode()

    assert SECRET not in detail and SECRET not in edit
    assert "BEGIN CERT" not in edit
    assert "token set" in detail
    assert cluster.api_token == SECRET


def test_edit_with_empty_credential_keeps_the_stored_one(admin_client):
    ClusterFactory(name="eu-1", api_token=SECRET, api_server_url="https://eu-1.example:6443")

    response = admin_client.post(
        reverse("clusters:edit", args=["eu-1"]),
        {"display_name": "Europe 1", "kubernetes_version": "1.31", "gpu_pool": "h100",
         "backend": "kubernetes", "is_active": "on", "api_server_url": "https://eu-1.example:6443",
         "verify_tls": "on", "gitops_branch": "main", "api_token": ""},
    )  # fmt: skip

    assert response.status_code == 302
    cluster = Cluster.objects.get(name="eu-1")
    assert (cluster.display_name, cluster.api_token) == ("Europe 1", SECRET)


def test_register_cluster_refuses_kubernetes_backend_without_endpoint(admin_client):
    response = admin_client.post(
        reverse("clusters:create"),
        {"name": "us-2", "kubernetes_version": "1.31", "gpu_pool": "h100", "backend": "kubernetes",
         "gitops_branch": "main"},
    )  # fmt: skip

    assert response.status_code == 200
    assert "API server URL" in response.context["form"].errors["api_server_url"][0]
    assert not Cluster.objects.filter(name="us-2").exists()


def test_admin_overrides_capacity_with_htmx(admin_client):
    cluster = ClusterFactory(name="gitops-1", backend="gitops")

    response = admin_client.post(
        reverse("clusters:capacity_override", args=["gitops-1"]),
        {"gpu_product": "NVIDIA-H100-80GB-HBM3", "resource_name": "nvidia.com/gpu", "override": 32},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert ClusterCapacity.objects.get(cluster=cluster).capacity == 32
    assert b'id="capacity"' in response.content


def test_edit_can_remove_a_stored_credential(admin_client):
    ClusterFactory(name="eu-1", api_token=SECRET, kubeconfig="apiVersion: v1")

    admin_client.post(
        reverse("clusters:edit", args=["eu-1"]),
        {"kubernetes_version": "1.31", "gpu_pool": "h100", "backend": "kubernetes",
         "is_active": "on", "gitops_branch": "main", "clear_api_token": "on"},
    )  # fmt: skip

    cluster = Cluster.objects.get(name="eu-1")
    assert (cluster.api_token, cluster.kubeconfig) == ("", "apiVersion: v1")


def test_detail_names_tenants_whose_desired_state_is_not_applied_yet(admin_client):
    cluster = ClusterFactory()
    TenantFactory(slug="waiting-team", cluster=cluster, desired_generation=3, applied_generation=2)
    TenantFactory(slug="synced-team", cluster=cluster, desired_generation=2, applied_generation=2)

    page = admin_client.get(reverse("clusters:detail", args=[cluster.name])).content.decode()

    assert "1 tenant waiting for a sync" in page and "waiting-team" in page
    assert "synced-team" not in page
    assert "All tenants synced" not in page


def test_detail_says_all_synced_when_nothing_lags(admin_client):
    cluster = ClusterFactory()
    TenantFactory(cluster=cluster, desired_generation=2, applied_generation=2)

    page = admin_client.get(reverse("clusters:detail", args=[cluster.name])).content.decode()

    assert "All tenants synced" in page


def test_failing_tenants_are_those_whose_latest_run_failed_or_is_retrying():
    from clusters.models import SyncRun
    from clusters.selectors import cluster_list, cluster_sync_overview

    cluster = ClusterFactory()
    for tenant_id, statuses in {
        1: ["failed"],
        2: ["succeeded", "retrying"],
        3: ["failed", "noop"],
    }.items():
        for status in statuses:
            SyncRun.objects.create(
                tenant_id=tenant_id, tenant_slug=f"t{tenant_id}", cluster=cluster, status=status
            )

    assert cluster_list()[0].failing == 2
    assert [r.tenant_slug for r in cluster_sync_overview(cluster)["failing"]] == ["t1", "t2"]
