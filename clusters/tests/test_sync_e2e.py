"""End to end: approval -> transactional outbox -> real Celery worker on real Redis -> objects in
the Kubernetes API emulator. The worker is a subprocess reading the test database."""

import time

import pytest

from clusters.models import ClusterCapacity, SyncRun
from tenants import services
from tenants.models import Tenant
from tenants.tests.factories import (
    EnvironmentFactory,
    GpuProfileFactory,
    QuotaRequestFactory,
    TenantFactory,
    platform_admin,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
WORKER_ENV = {"PORTAL_KUBE_BACKOFF_SECONDS": "0.01", "PORTAL_RECONCILE_SECONDS": "1"}


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def pending_tenant(cluster):
    tenant = TenantFactory(slug="team-e2e", cluster=cluster, status=Tenant.Status.PENDING)
    EnvironmentFactory(tenant=tenant, name="dev", cluster=cluster)
    return tenant


def test_approval_reaches_the_cluster_through_a_real_worker(
    kube_cluster, kube_emulator, real_celery_worker_factory
):
    worker = real_celery_worker_factory(env=WORKER_ENV).start()
    admin = platform_admin()
    tenant = pending_tenant(kube_cluster)
    ClusterCapacity.objects.create(
        cluster=kube_cluster, gpu_product="NVIDIA-H100-80GB-HBM3",
        resource_name="nvidia.com/gpu", allocatable=16,
    )  # fmt: skip

    services.approve_tenant(actor=admin, tenant=tenant)
    wait_for(lambda: kube_emulator.get("v1", "Namespace", "team-e2e-dev"), what="namespace")
    request = QuotaRequestFactory(
        environment=tenant.environments.get(), profile=GpuProfileFactory(), guaranteed=4, burst=2
    )
    services.approve_quota_request(actor=admin, quota_request=request)

    def quota_applied():
        quota = kube_emulator.get("v1", "ResourceQuota", "gpu-portal-quota", "team-e2e-dev")
        return quota and quota["spec"]["hard"].get("requests.nvidia.com/gpu") == "6"

    wait_for(quota_applied, what=f"GPU quota\n{worker.log()[-3000:]}")
    wait_for(lambda: not Tenant.objects.get(pk=tenant.pk).sync_pending, what="applied generation")


def test_approval_while_the_worker_is_down_is_completed_by_the_reconcile_beat(
    kube_cluster, kube_emulator, real_celery_worker_factory
):
    worker = real_celery_worker_factory(beat=True, env=WORKER_ENV).start()
    tenant = pending_tenant(kube_cluster)
    worker.stop()

    services.approve_tenant(actor=platform_admin(), tenant=tenant)
    assert worker.purge() == 1  # the enqueued sync is lost with the broker's copy of it
    assert Tenant.objects.get(pk=tenant.pk).sync_pending

    worker.start()

    wait_for(lambda: not Tenant.objects.get(pk=tenant.pk).sync_pending, what="reconcile")
    assert kube_emulator.get("v1", "Namespace", "team-e2e-dev") is not None
    assert SyncRun.objects.get(tenant_id=tenant.pk).trigger == SyncRun.Trigger.RECONCILE
