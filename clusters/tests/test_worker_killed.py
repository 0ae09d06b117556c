"""A worker killed mid-sync (SIGKILL while it waits on the API server) loses nothing: the tenant
stays pending, its advisory lock dies with the worker's database session, and the reconcile
beat of the next worker completes the sync. Real worker subprocesses, real Redis, the real
kubernetes client against the emulator (which stalls the first Namespace apply)."""

import pytest
from django.urls import reverse

from clusters.models import SyncRun
from clusters.tests.test_sync_e2e import WORKER_ENV, admin_client, pending_tenant, wait_for
from tenants.models import Tenant

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sync_interrupted_by_a_killed_worker_is_completed_by_the_next_one(
    client, kube_cluster, kube_emulator, real_celery_worker_factory
):
    worker = real_celery_worker_factory(beat=True, env=WORKER_ENV).start()
    tenant = pending_tenant(kube_cluster)
    kube_emulator.stall_next(1, 20, path_contains="namespaces/team-e2e-dev", method="PATCH")

    admin_client(client).post(reverse("tenants:approve", args=[tenant.slug]))
    wait_for(
        lambda: SyncRun.objects.filter(tenant_id=tenant.pk, status=SyncRun.Status.RUNNING).exists(),
        what=f"a running sync\n{worker.log()[-2000:]}",
    )
    worker.kill()
    assert Tenant.objects.get(pk=tenant.pk).sync_pending

    worker.start()

    wait_for(
        lambda: not Tenant.objects.get(pk=tenant.pk).sync_pending,
        timeout=60,
        what=f"sync after the worker came back\n{worker.log()[-3000:]}",
    )
    assert kube_emulator.get("v1", "Namespace", "team-e2e-dev") is not None
    assert SyncRun.objects.filter(tenant_id=tenant.pk, status=SyncRun.Status.SUCCEEDED).exists()
