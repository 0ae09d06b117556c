"""Drift check and capacity refresh against the Kubernetes API emulator."""

import pytest

from clusters.models import ClusterCapacity, SyncObjectResult, SyncState
from clusters.sync import check_drift, refresh_capacity, run_tenant_sync
from clusters.tests.sync_helpers import approved_tenant

pytestmark = pytest.mark.django_db


def node(name, product, allocatable):
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"nvidia.com/gpu.product": product}},
        "status": {"allocatable": {"cpu": "96", **allocatable}},
    }


COUNTS = {"checked": 0, "drifted": 0, "errors": 0, "busy": 0, "reported_only": 0}


def test_quota_raised_by_kubectl_is_drift_reported_as_a_conflict_not_overwritten(
    kube_cluster, kube_emulator
):
    tenant = approved_tenant(kube_cluster)
    run_tenant_sync(tenant.pk)
    quota = kube_emulator.get("v1", "ResourceQuota", "gpu-portal-quota", "team-a-dev")
    quota["spec"]["hard"]["requests.nvidia.com/gpu"] = "64"
    kube_emulator.put(quota, manager="kubectl-edit")

    counts = check_drift(cluster_id=kube_cluster.pk)

    assert counts == COUNTS | {"checked": 1, "drifted": 1}
    state = SyncState.objects.get()
    assert state.drifted_objects == [
        {"kind": "ResourceQuota", "namespace": "team-a-dev", "name": "gpu-portal-quota",
         "message": "fields changed"}
    ]  # fmt: skip
    live = kube_emulator.get("v1", "ResourceQuota", "gpu-portal-quota", "team-a-dev")
    assert live["spec"]["hard"]["requests.nvidia.com/gpu"] == "64"
    (conflict,) = state.conflicts
    assert conflict["conflicts"] == [
        {"field": ".spec.hard.requests.nvidia.com/gpu", "manager": "kubectl-edit"}
    ]
    assert SyncObjectResult.objects.filter(action="conflict", kind="ResourceQuota").exists()


def test_an_admin_resolving_the_conflict_takes_the_field_back(kube_cluster, kube_emulator):
    tenant = approved_tenant(kube_cluster)
    run_tenant_sync(tenant.pk)
    quota = kube_emulator.get("v1", "ResourceQuota", "gpu-portal-quota", "team-a-dev")
    quota["spec"]["hard"]["requests.nvidia.com/gpu"] = "64"
    kube_emulator.put(quota, manager="kubectl-edit")
    check_drift(cluster_id=kube_cluster.pk)

    run_tenant_sync(tenant.pk, trigger="force", force_conflicts=True)

    live = kube_emulator.get("v1", "ResourceQuota", "gpu-portal-quota", "team-a-dev")
    assert live["spec"]["hard"]["requests.nvidia.com/gpu"] == "3"
    assert SyncState.objects.get().conflicts == []


def test_fields_set_by_others_are_not_drift(kube_cluster, kube_emulator):
    tenant = approved_tenant(kube_cluster)
    run_tenant_sync(tenant.pk)
    ns = kube_emulator.get("v1", "Namespace", "team-a-dev")
    ns["metadata"]["labels"]["istio-injection"] = "enabled"
    kube_emulator.put(ns)

    assert check_drift(cluster_id=kube_cluster.pk)["drifted"] == 0


def test_deleted_object_is_drift_and_recreated(kube_cluster, kube_emulator):
    tenant = approved_tenant(kube_cluster)
    run_tenant_sync(tenant.pk)
    kube_emulator.handle(
        "DELETE", "/apis/kueue.x-k8s.io/v1beta2/clusterqueues/team-a-dev", {}, None, ""
    )

    assert check_drift()["drifted"] == 1
    assert kube_emulator.get("kueue.x-k8s.io/v1beta2", "ClusterQueue", "team-a-dev") is not None


def test_capacity_is_summed_per_gpu_product_and_resource(kube_cluster, kube_emulator):
    kube_emulator.put(node("gpu-1", "NVIDIA-H100-80GB-HBM3", {"nvidia.com/gpu": "8"}))
    kube_emulator.put(node("gpu-2", "NVIDIA-H100-80GB-HBM3", {"nvidia.com/gpu": "8"}))
    mig = {"nvidia.com/mig-1g.10gb": "28", "nvidia.com/mig-3g.40gb": "4"}
    kube_emulator.put(node("mig-1", "NVIDIA-H100-80GB-HBM3", mig))
    kube_emulator.put(node("a10-1", "NVIDIA-A10-SHARED", {"nvidia.com/gpu.shared": "16"}))

    refresh_capacity(cluster_id=kube_cluster.pk)

    caps = {
        (c.gpu_product, c.resource_name): c.allocatable
        for c in ClusterCapacity.objects.filter(cluster=kube_cluster)
    }
    assert caps == {
        ("NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu"): 16,
        ("NVIDIA-H100-80GB-HBM3", "nvidia.com/mig-1g.10gb"): 28,
        ("NVIDIA-H100-80GB-HBM3", "nvidia.com/mig-3g.40gb"): 4,
        ("NVIDIA-A10", "nvidia.com/gpu.shared"): 16,
    }


def test_capacity_refresh_keeps_the_admin_override(kube_cluster, kube_emulator):
    from clusters.tests.factories import ClusterCapacityFactory

    ClusterCapacityFactory(cluster=kube_cluster, allocatable=4, override=10)
    kube_emulator.put(node("gpu-1", "NVIDIA-H100-80GB-HBM3", {"nvidia.com/gpu": "8"}))

    refresh_capacity(cluster_id=kube_cluster.pk)

    cap = ClusterCapacity.objects.get(cluster=kube_cluster)
    assert (cap.allocatable, cap.override, cap.capacity) == (8, 10, 10)


@pytest.fixture
def second_emulator():
    from portal.testing.kube_emulator import KubeEmulator

    emulator = KubeEmulator().start()
    yield emulator
    emulator.stop()


def test_drift_check_of_a_tenant_on_two_clusters_compares_each_with_its_own_objects(
    kube_cluster, second_emulator
):
    from clusters.tests.factories import ClusterFactory
    from tenants.tests.factories import EnvironmentFactory, QuotaGrantFactory

    tenant = approved_tenant(kube_cluster)
    second = ClusterFactory(api_server_url=second_emulator.url, api_token="test-token")
    prod = EnvironmentFactory(tenant=tenant, name="prod", cluster=second)
    QuotaGrantFactory(environment=prod, guaranteed=1, burst=0)
    run_tenant_sync(tenant.pk)
    quota = second_emulator.get("v1", "ResourceQuota", "gpu-portal-quota", "team-a-prod")
    quota["spec"]["hard"]["requests.nvidia.com/gpu"] = "64"
    second_emulator.put(quota)

    assert check_drift(repair=False) == COUNTS | {"checked": 2, "drifted": 1}
    assert SyncState.objects.get(cluster=kube_cluster).drifted_objects == []
    assert [o["namespace"] for o in SyncState.objects.get(cluster=second).drifted_objects] == [
        "team-a-prod"
    ]
