"""Never take over, damage or delete what the portal did not make: the real `kubernetes`
client over HTTP to the emulator (portal/testing/kube_emulator.py models managedFields,
ownerReferences with garbage collection and conflicts; its differences are listed there)."""

import pghistory.models
import pytest

from clusters import adoption
from clusters.models import ObjectAdoption, SyncRun, SyncState
from clusters.ownership import OWNER_ANNOTATION
from clusters.sync import check_drift, run_tenant_sync
from clusters.tests.sync_helpers import approved_tenant
from notifications.models import Notification
from portal.domain_errors import DomainError
from tenants.tests.factories import platform_admin

pytestmark = pytest.mark.django_db


def other_teams_namespace(kube_emulator, name="team-a-prod"):
    kube_emulator.put(
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": name, "labels": {"team": "search", "owner": "alice"}}},
        manager="kubectl-create",
    )  # fmt: skip
    kube_emulator.put(
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "search-api", "namespace": name, "labels": {"team": "search"}},
         "spec": {"replicas": 3}},
        manager="kubectl-create",
    )  # fmt: skip
    return {
        (o["kind"], o["metadata"]["name"]): o
        for o in kube_emulator.objects(namespace=name)
        + [kube_emulator.get("v1", "Namespace", name)]
    }


def snapshot(kube_emulator, name="team-a-prod"):
    return {
        (o["kind"], o["metadata"]["name"]): o
        for o in kube_emulator.objects(namespace=name)
        + [kube_emulator.get("v1", "Namespace", name)]
    }


def test_existing_namespace_of_another_team_is_left_byte_for_byte_unchanged(
    kube_cluster, kube_emulator
):
    before = other_teams_namespace(kube_emulator)
    tenant = approved_tenant(kube_cluster, envs=("prod",))

    result = run_tenant_sync(tenant.pk)

    assert snapshot(kube_emulator) == before
    assert not result.applied
    run = result.runs[0]
    assert run.status == SyncRun.Status.BLOCKED
    assert "Namespace team-a-prod already exists" in run.message
    assert "owner=alice, team=search" in run.message
    assert kube_emulator.get("kueue.x-k8s.io/v1beta2", "ClusterQueue", "team-a-prod") is None


def test_blocked_object_is_kept_on_the_sync_state_with_its_owner_labels(
    kube_cluster, kube_emulator
):
    other_teams_namespace(kube_emulator)
    tenant = approved_tenant(kube_cluster, envs=("prod",))

    run_tenant_sync(tenant.pk)

    (blocked,) = SyncState.objects.get(tenant_id=tenant.pk).blocked_objects
    assert (blocked["kind"], blocked["name"]) == ("Namespace", "team-a-prod")
    assert blocked["labels"] == {"team": "search", "owner": "alice"}


def test_a_blocked_sync_tells_the_platform_admins_once(kube_cluster, kube_emulator):
    other_teams_namespace(kube_emulator)
    tenant = approved_tenant(kube_cluster, envs=("prod",))

    run_tenant_sync(tenant.pk)
    run_tenant_sync(tenant.pk)  # the same desired state, still blocked: no second notice

    (notice,) = Notification.objects.filter(kind="sync.failed")
    assert "is blocked by objects the portal does not own" in notice.subject
    assert "Namespace team-a-prod already exists" in notice.body


def test_only_the_environment_with_the_foreign_namespace_is_blocked(kube_cluster, kube_emulator):
    other_teams_namespace(kube_emulator)
    tenant = approved_tenant(kube_cluster, envs=("dev", "prod"))

    run = run_tenant_sync(tenant.pk).runs[0]

    assert kube_emulator.get("v1", "ResourceQuota", "gpu-portal-quota", "team-a-dev")
    assert kube_emulator.get("v1", "ResourceQuota", "gpu-portal-quota", "team-a-prod") is None
    actions = {(r.kind, r.namespace, r.name): r.action for r in run.results.all()}
    assert actions[("NetworkPolicy", "team-a-prod", "gpu-portal-default-deny")] == "blocked"


def test_a_named_object_of_someone_else_in_our_namespace_is_not_written(
    kube_cluster, kube_emulator
):
    tenant = approved_tenant(kube_cluster)
    run_tenant_sync(tenant.pk)
    kube_emulator.handle(
        "DELETE", "/apis/networking.k8s.io/v1/namespaces/team-a-dev/networkpolicies/"
        "gpu-portal-default-deny", {}, None, ""
    )  # fmt: skip
    theirs = kube_emulator.put(
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "gpu-portal-default-deny", "namespace": "team-a-dev"},
         "spec": {"podSelector": {}}}, manager="security-team",
    )  # fmt: skip

    run = run_tenant_sync(tenant.pk, trigger=SyncRun.Trigger.FORCE).runs[0]

    assert run.status == SyncRun.Status.BLOCKED
    live = kube_emulator.get(
        "networking.k8s.io/v1", "NetworkPolicy", "gpu-portal-default-deny", "team-a-dev"
    )
    assert live == theirs


def test_every_object_the_portal_creates_carries_the_ownership_annotation(
    kube_cluster, kube_emulator, settings
):
    settings.PORTAL_INSTANCE = "eu-portal"
    tenant = approved_tenant(kube_cluster)

    run_tenant_sync(tenant.pk)

    # objects several tenants render (ResourceFlavors, the guardrails' policies and their
    # namespace) carry the shared label and are the instance's; everything else the tenant's
    owners = {
        (o["kind"], o["metadata"]["name"]): o["metadata"]["annotations"][OWNER_ANNOTATION]
        for o in kube_emulator.objects()
    }
    expected = {
        (o["kind"], o["metadata"]["name"]): "eu-portal/shared"
        if (o["metadata"].get("labels") or {}).get("gpu-portal.io/shared") == "true"
        else f"eu-portal/tenant-{tenant.pk}"
        for o in kube_emulator.objects()
    }
    assert owners == expected
    assert f"eu-portal/tenant-{tenant.pk}" in owners.values()


def test_adoption_shows_what_would_change_and_writes_nothing_before_confirmation(
    kube_cluster, kube_emulator
):
    before = other_teams_namespace(kube_emulator)
    tenant = approved_tenant(kube_cluster, envs=("prod",))
    run_tenant_sync(tenant.pk)
    admin = platform_admin()

    preview = adoption.adoption_preview(
        actor=admin, tenant_id=tenant.pk, cluster=kube_cluster, api_version="v1",
        kind="Namespace", namespace="", name="team-a-prod",
    )  # fmt: skip
    with pytest.raises(DomainError):
        adoption.adopt_object(
            actor=admin, tenant_id=tenant.pk, cluster=kube_cluster, api_version="v1",
            kind="Namespace", namespace="", name="team-a-prod", uid=preview.uid, confirmed=False,
        )  # fmt: skip

    assert preview.changes[".metadata.labels.gpu-portal.io/tenant"] == [None, "team-a"]
    assert ("NetworkPolicy", "team-a-prod", "gpu-portal-default-deny") in preview.would_create
    assert ObjectAdoption.objects.count() == 0
    assert snapshot(kube_emulator) == before


def test_confirmed_adoption_is_audited_and_the_next_sync_takes_the_namespace_over(
    kube_cluster, kube_emulator, django_capture_on_commit_callbacks
):
    other_teams_namespace(kube_emulator)
    tenant = approved_tenant(kube_cluster, envs=("prod",))
    run_tenant_sync(tenant.pk)
    admin = platform_admin()
    preview = adoption.adoption_preview(
        actor=admin, tenant_id=tenant.pk, cluster=kube_cluster, api_version="v1",
        kind="Namespace", namespace="", name="team-a-prod",
    )  # fmt: skip

    with django_capture_on_commit_callbacks(execute=False):
        adoption.adopt_object(
            actor=admin, tenant_id=tenant.pk, cluster=kube_cluster, api_version="v1",
            kind="Namespace", namespace="", name="team-a-prod", uid=preview.uid, confirmed=True,
        )  # fmt: skip
    result = run_tenant_sync(tenant.pk)

    assert result.applied
    ns = kube_emulator.get("v1", "Namespace", "team-a-prod")
    assert ns["metadata"]["annotations"][OWNER_ANNOTATION].endswith(f"tenant-{tenant.pk}")
    assert ns["metadata"]["labels"]["team"] == "search"  # their labels stay
    assert kube_emulator.get("apps/v1", "Deployment", "search-api", "team-a-prod")
    event = pghistory.models.Events.objects.get(
        pgh_model="clusters.ObjectAdoptionEvent", pgh_label="insert"
    )
    assert event.pgh_context["user"] == admin.pk
    assert ObjectAdoption.objects.get().applied_at is not None


def test_adoption_of_a_replaced_object_is_refused(kube_cluster, kube_emulator):
    other_teams_namespace(kube_emulator)
    tenant = approved_tenant(kube_cluster, envs=("prod",))
    run_tenant_sync(tenant.pk)

    with pytest.raises(DomainError, match="replaced since the preview"):
        adoption.adopt_object(
            actor=platform_admin(), tenant_id=tenant.pk, cluster=kube_cluster,
            api_version="v1", kind="Namespace", namespace="", name="team-a-prod",
            uid="some-older-uid", confirmed=True,
        )  # fmt: skip


# --- pruning --------------------------------------------------------------------------------
def cronjob_made_job(kube_emulator, namespace="team-a-dev", *, labels):
    cron = kube_emulator.put(
        {"apiVersion": "batch/v1", "kind": "CronJob",
         "metadata": {"name": "nightly", "namespace": namespace},
         "spec": {"schedule": "@daily", "jobTemplate": {"spec": {}}}}, manager="someone",
    )  # fmt: skip
    ref = {"apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly",
           "uid": cron["metadata"]["uid"], "controller": True}  # fmt: skip
    return kube_emulator.put(
        {"apiVersion": "batch/v1", "kind": "Job",
         "metadata": {"name": "nightly-2911", "namespace": namespace, "labels": labels,
                      "ownerReferences": [ref]}, "spec": {}},
        manager="kube-controller-manager",
    )  # fmt: skip


def test_a_cronjob_created_job_survives_every_sync_and_drift_repair(kube_cluster, kube_emulator):
    tenant = approved_tenant(kube_cluster)
    run_tenant_sync(tenant.pk)
    # labelled as an older portal's CronJob template labelled its Jobs: ours, for the selector
    job = cronjob_made_job(
        kube_emulator,
        labels={"app.kubernetes.io/managed-by": "gpu-portal", "gpu-portal.io/tenant": "team-a"},
    )
    kube_emulator.handle(
        "DELETE", "/apis/kueue.x-k8s.io/v1beta2/clusterqueues/team-a-dev", {}, None, ""
    )

    counts = check_drift()
    run_tenant_sync(tenant.pk, trigger=SyncRun.Trigger.FORCE)

    assert counts["drifted"] == 1
    assert kube_emulator.get("kueue.x-k8s.io/v1beta2", "ClusterQueue", "team-a-dev")
    assert kube_emulator.get("batch/v1", "Job", "nightly-2911", "team-a-dev") == job


def test_an_object_with_our_labels_but_not_our_annotation_is_never_pruned(
    kube_cluster, kube_emulator
):
    tenant = approved_tenant(kube_cluster)
    run_tenant_sync(tenant.pk)
    copied = kube_emulator.put(
        {"apiVersion": "v1", "kind": "ResourceQuota",
         "metadata": {"name": "copied", "namespace": "team-a-dev",
                      "labels": {"app.kubernetes.io/managed-by": "gpu-portal",
                                 "gpu-portal.io/tenant": "team-a"}},
         "spec": {"hard": {"pods": "10"}}}, manager="helm",
    )  # fmt: skip

    run_tenant_sync(tenant.pk, trigger=SyncRun.Trigger.FORCE)

    assert kube_emulator.get("v1", "ResourceQuota", "copied", "team-a-dev") == copied


def test_objects_of_another_tenant_with_the_same_labels_are_never_pruned(
    kube_cluster, kube_emulator
):
    tenant = approved_tenant(kube_cluster)
    run_tenant_sync(tenant.pk)
    stolen = kube_emulator.get("v1", "LimitRange", "gpu-portal-defaults", "team-a-dev")
    stolen["metadata"]["name"] = "other-tenant-defaults"
    stolen["metadata"]["annotations"][OWNER_ANNOTATION] = "gpu-portal/tenant-999999"
    kube_emulator.apply(stolen, manager="gpu-portal")

    run_tenant_sync(tenant.pk, trigger=SyncRun.Trigger.FORCE)

    assert kube_emulator.get("v1", "LimitRange", "other-tenant-defaults", "team-a-dev")


def test_every_prune_deletes_with_background_propagation(kube_cluster, kube_emulator):
    tenant = approved_tenant(kube_cluster, envs=("dev", "staging"))
    run_tenant_sync(tenant.pk)
    tenant.environments.filter(name="staging").delete()
    kube_emulator.request_log.clear()

    run_tenant_sync(tenant.pk)

    deletes = [p for m, p in kube_emulator.request_log if m == "DELETE"]
    assert deletes  # something was pruned
    assert kube_emulator.delete_policies == ["Background"] * len(deletes)


def test_a_forced_resync_reads_by_lists_only_and_writes_nothing(kube_cluster, kube_emulator):
    tenant = approved_tenant(kube_cluster, envs=("dev", "prod"))
    first_requests = kube_emulator.requests
    run_tenant_sync(tenant.pk)
    first_requests = kube_emulator.requests - first_requests
    kube_emulator.request_log.clear()
    writes, requests = kube_emulator.writes, kube_emulator.requests

    run_tenant_sync(tenant.pk, trigger=SyncRun.Trigger.FORCE)

    assert kube_emulator.writes == writes
    reads = list(kube_emulator.request_log)
    plurals = {k.plural for k in kube_emulator.kinds}
    assert all(path.rstrip("/").split("/")[-1] in plurals for _, path in reads), reads
    print(f"first sync: {first_requests} requests; forced resync: "
          f"{kube_emulator.requests - requests} requests, 0 writes")  # fmt: skip
