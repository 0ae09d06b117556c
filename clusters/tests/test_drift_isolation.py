"""The drift check goes tenant by tenant under the sync lock: one tenant's failure (a render
that raises on a value stored before input validation refused it) is recorded for that tenant
and the others are still checked and repaired; tenants that are not active are reported only."""

import pytest
from django.db import connections

from clusters.models import SyncRun, SyncState
from clusters.sync import LOCK_CLASS, check_drift, run_tenant_sync
from clusters.tests.sync_helpers import approved_tenant
from contracts.models import AlertPolicy, InterfaceDocument, OnCallTeam
from tenants.models import Tenant
from workloads.tests.factories import DeploymentFactory, RevisionFactory, WorkloadFactory

pytestmark = pytest.mark.django_db

QUEUES = "/apis/kueue.x-k8s.io/v1beta2/clusterqueues/"


def break_render(tenant):
    """A NaN alert threshold stored before the API refused it: rendering raises."""
    workload = WorkloadFactory(tenant=tenant, name="ranker")
    revision = RevisionFactory(workload=workload, profile=tenant.quota_grants.first().profile)
    DeploymentFactory(
        current_revision=revision, workload=workload, environment=tenant.environments.get()
    )
    document = InterfaceDocument.objects.create(workload=workload)
    team = OnCallTeam.objects.create(name="oncall-x", display_name="On-call")
    AlertPolicy.objects.create(document=document, signal="gpu-memory", threshold="NaN",
                               window="5m", paged_team=team)  # fmt: skip


def test_a_tenant_whose_render_fails_does_not_stop_the_drift_check_of_the_others(
    kube_cluster, kube_emulator
):
    broken = approved_tenant(kube_cluster, slug="team-a")
    healthy = approved_tenant(kube_cluster, slug="team-b")
    run_tenant_sync(broken.pk)
    run_tenant_sync(healthy.pk)
    break_render(broken)
    kube_emulator.handle("DELETE", QUEUES + "team-b-dev", {}, None, "")

    counts = check_drift()

    assert counts["errors"] == 1
    assert counts["drifted"] == 1
    assert kube_emulator.get("kueue.x-k8s.io/v1beta2", "ClusterQueue", "team-b-dev")
    failed = SyncState.objects.get(tenant_id=broken.pk)
    assert "InvalidOperation" in failed.drift_error
    assert SyncState.objects.get(tenant_id=healthy.pk).drift_error == ""


def test_an_archived_tenant_is_reported_never_repaired(kube_cluster, kube_emulator):
    tenant = approved_tenant(kube_cluster)
    run_tenant_sync(tenant.pk)
    Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.ARCHIVED)
    kube_emulator.handle("DELETE", QUEUES + "team-a-dev", {}, None, "")
    before = {(o["kind"], o["metadata"]["name"]) for o in kube_emulator.objects()}

    check_drift()

    assert {(o["kind"], o["metadata"]["name"]) for o in kube_emulator.objects()} == before
    assert not SyncRun.objects.filter(tenant_id=tenant.pk, trigger=SyncRun.Trigger.DRIFT).exists()


def test_drift_repair_waits_for_a_running_sync_of_the_tenant(kube_cluster, kube_emulator):
    tenant = approved_tenant(kube_cluster)
    run_tenant_sync(tenant.pk)
    kube_emulator.handle("DELETE", QUEUES + "team-a-dev", {}, None, "")
    other = connections.create_connection("default")  # another worker holding the sync lock
    with other.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_CLASS, tenant.pk])
    try:
        counts = check_drift()
    finally:
        other.close()

    assert counts["busy"] == 1
    assert kube_emulator.get("kueue.x-k8s.io/v1beta2", "ClusterQueue", "team-a-dev") is None
