"""End to end: approval in the web UI (test client POSTs to the approval endpoints) ->
transactional outbox -> real Celery worker on real Redis -> objects in the Kubernetes API
emulator. The worker is a subprocess reading the test database."""

import time

import pytest
from django.urls import reverse

from clusters.models import ClusterCapacity, SyncRun
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


def admin_client(client):
    client.force_login(platform_admin())
    return client


def test_web_approval_reaches_the_cluster_through_a_real_worker(
    client, kube_cluster, kube_emulator, real_celery_worker_factory
):
    worker = real_celery_worker_factory(env=WORKER_ENV).start()
    web = admin_client(client)
    tenant = pending_tenant(kube_cluster)
    ClusterCapacity.objects.create(
        cluster=kube_cluster, gpu_product="NVIDIA-H100-80GB-HBM3",
        resource_name="nvidia.com/gpu", allocatable=16,
    )  # fmt: skip

    assert web.post(reverse("tenants:approve", args=[tenant.slug])).status_code < 400
    assert Tenant.objects.get(pk=tenant.pk).status == Tenant.Status.ACTIVE
    wait_for(lambda: kube_emulator.get("v1", "Namespace", "team-e2e-dev"), what="namespace")
    request = QuotaRequestFactory(
        environment=tenant.environments.get(), profile=GpuProfileFactory(), guaranteed=4, burst=2
    )
    assert web.post(reverse("tenants:quota_approve", args=[request.pk])).status_code < 400

    def quota_applied():
        quota = kube_emulator.get("v1", "ResourceQuota", "gpu-portal-quota", "team-e2e-dev")
        return quota and quota["spec"]["hard"].get("requests.nvidia.com/gpu") == "6"

    wait_for(quota_applied, what=f"GPU quota\n{worker.log()[-3000:]}")
    wait_for(lambda: not Tenant.objects.get(pk=tenant.pk).sync_pending, what="applied generation")


def test_approval_while_the_worker_is_down_is_completed_by_the_reconcile_beat(
    client, kube_cluster, kube_emulator, real_celery_worker_factory
):
    worker = real_celery_worker_factory(beat=True, env=WORKER_ENV).start()
    tenant = pending_tenant(kube_cluster)
    worker.stop()

    admin_client(client).post(reverse("tenants:approve", args=[tenant.slug]))
    # the enqueued sync is lost with the broker's copy of it (and so is a reconcile tick the
    # worker's beat may have queued just before it stopped)
    assert worker.purge() >= 1
    assert Tenant.objects.get(pk=tenant.pk).sync_pending

    worker.start()

    wait_for(lambda: not Tenant.objects.get(pk=tenant.pk).sync_pending, what="reconcile")
    assert kube_emulator.get("v1", "Namespace", "team-e2e-dev") is not None
    assert SyncRun.objects.get(tenant_id=tenant.pk).trigger == SyncRun.Trigger.RECONCILE
