"""The sync engine: render a tenant's desired objects, validate them all, apply them through the
cluster's backend, and record each run with per-object results. Level-based and idempotent.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import pghistory
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import registry
from .backends import (
    BackendError,
    ObjectOutcome,
    PermanentError,
    TransientError,
    backend_for,
    desired_hash,
    object_hashes,
    object_key,
)
from .models import (
    Cluster,
    ClusterCapacity,
    NamespaceDeletion,
    SyncObjectResult,
    SyncRun,
    SyncState,
)
from .validation import ManifestInvalid, validate_manifests

log = logging.getLogger(__name__)
LOCK_CLASS = 7301  # first key of our pg advisory locks: (LOCK_CLASS, tenant id)


class SyncBusy(TransientError):
    """Another worker is syncing this tenant right now."""


@dataclass
class TenantSyncResult:
    tenant_id: int
    applied: bool = False
    runs: list[SyncRun] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return sum(r.object_count for r in self.runs if r.status == SyncRun.Status.SUCCEEDED)


@contextmanager
def tenant_lock(tenant_id: int):
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, tenant_id])
        if not cur.fetchone()[0]:
            raise SyncBusy(f"tenant {tenant_id} is being synced by another worker")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, tenant_id])


def _save_outcomes(run: SyncRun, outcomes) -> None:
    SyncObjectResult.objects.bulk_create(
        SyncObjectResult(
            run=run,
            api_version=o.api_version,
            kind=o.kind,
            namespace=o.namespace,
            name=o.name,
            action=o.action,
            message=o.message[:4000],
        )
        for o in outcomes
    )


def _finish(run: SyncRun, status: str, message: str = "", outcomes=()) -> SyncRun:
    with transaction.atomic():
        _save_outcomes(run, outcomes)
        run.status = status
        run.message = message[:4000]
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "message", "finished_at"])
    return run


def sync_cluster(
    *,
    target: registry.SyncTarget,
    cluster: Cluster,
    manifests: list[dict],
    trigger: str,
    actor: str,
    allow_namespace_deletion: bool = False,
) -> SyncRun:
    """Bring one tenant's objects on one cluster to `manifests`. Raises TransientError."""
    digest = desired_hash(manifests)
    state, _ = SyncState.objects.get_or_create(
        tenant_id=target.tenant_id, cluster=cluster, defaults={"tenant_slug": target.slug}
    )
    common = dict(
        tenant_id=target.tenant_id,
        tenant_slug=target.slug,
        cluster=cluster,
        generation=target.desired_generation,
        trigger=trigger,
        desired_hash=digest,
        actor=actor,
        object_count=len(manifests),
    )
    forced = trigger in (SyncRun.Trigger.FORCE, SyncRun.Trigger.DRIFT)
    if digest == state.last_success_hash and not forced:
        # Same desired state as the last success: no request to the cluster or repository.
        return SyncRun.objects.create(
            **common, status=SyncRun.Status.NOOP, finished_at=timezone.now()
        )
    if trigger == SyncRun.Trigger.RECONCILE:
        # The same desired state was refused moments ago (403, 422, invalid): hammering the API
        # server every minute will not help. Retried after a quiet period, or forced by an admin.
        quiet = timezone.now() - timedelta(
            seconds=float(getattr(settings, "PORTAL_FAILED_RETRY_SECONDS", 900))
        )
        last = SyncRun.objects.filter(tenant_id=target.tenant_id, cluster=cluster).first()
        if (
            last is not None
            and last.status == SyncRun.Status.FAILED
            and last.desired_hash == digest
            and last.started_at > quiet
        ):
            return last
    run = SyncRun.objects.create(**common)
    try:
        return _apply_run(
            run,
            state,
            target=target,
            cluster=cluster,
            manifests=manifests,
            digest=digest,
            trigger=trigger,
            actor=actor,
            allow_namespace_deletion=allow_namespace_deletion,
        )
    except TransientError:
        raise
    except Exception as exc:  # a bug must not leave the run "running" (the panel polls it)
        _finish(run, SyncRun.Status.FAILED, f"internal error: {exc.__class__.__name__}: {exc}")
        raise


def _apply_run(
    run: SyncRun,
    state: SyncState,
    *,
    target: registry.SyncTarget,
    cluster: Cluster,
    manifests: list[dict],
    digest: str,
    trigger: str,
    actor: str,
    allow_namespace_deletion: bool,
) -> SyncRun:
    try:
        validate_manifests(manifests, cluster.kubernetes_version)
    except ManifestInvalid as exc:
        outcomes = [
            ObjectOutcome(*_ref_key(p.ref), action="failed", message=f"{p.field}: {p.message}")
            for p in exc.problems
        ]
        return _finish(run, SyncRun.Status.FAILED, str(exc), outcomes)
    backend = backend_for(cluster)
    try:
        outcomes = backend.apply(
            tenant_slug=target.slug,
            manifests=manifests,
            previous_keys=state.applied_keys,
            previous_hashes=state.applied_hashes,
            allow_namespace_deletion=allow_namespace_deletion,
            actor=actor,
            generation=target.desired_generation,
        )
    except TransientError as exc:
        _finish(run, SyncRun.Status.RETRYING, exc.message)
        raise
    except PermanentError as exc:
        return _finish(run, SyncRun.Status.FAILED, exc.message)
    failures = [o for o in outcomes if o.action == "failed"]
    if failures:
        message = f"{len(failures)} object(s) refused: " + "; ".join(
            f"{o.kind} {o.name}: {o.message}" for o in failures[:3]
        )
        return _finish(run, SyncRun.Status.FAILED, message, outcomes)
    with transaction.atomic():
        _finish(run, SyncRun.Status.SUCCEEDED, "", outcomes)
        state.last_success_hash = digest
        state.last_success_at = timezone.now()
        state.last_success_generation = target.desired_generation
        state.applied_keys = [object_key(m) for m in manifests]
        state.applied_hashes = object_hashes(manifests)
        if trigger != SyncRun.Trigger.DRIFT:  # a repair keeps what it found on show
            state.drifted_objects = []
        state.save()
    return run


def _ref_key(ref: str) -> tuple[str, str, str, str]:
    kind, _, rest = ref.partition(" ")
    namespace, _, name = rest.rpartition("/")
    return ("", kind, namespace, name)


def run_tenant_sync(
    tenant_id: int, *, trigger: str = SyncRun.Trigger.CHANGE, actor: str = ""
) -> TenantSyncResult:
    """Sync one tenant to every cluster it has (or had) objects on.

    Records applied_generation only when every cluster succeeded. Raises TransientError (the
    task retries; the tenant stays pending) and SyncBusy.
    """
    result = TenantSyncResult(tenant_id)
    target = registry.tenant_directory().sync_target(tenant_id)
    if target is None:
        return result
    with tenant_lock(tenant_id), pghistory.context(task="sync_tenant", actor=actor or "gpu-portal"):
        deletion = None
        if target.archived:
            deletion = NamespaceDeletion.objects.filter(tenant_id=tenant_id).first()
            if deletion is None:
                _record_waiting(target)
                return result
        by_cluster: dict[int, list[dict]] = defaultdict(list)
        for obj in registry.desired_objects(tenant_id):
            by_cluster[obj.cluster_id].append(obj.manifest)
        cluster_ids = set(target.cluster_ids) | set(by_cluster)
        cluster_ids |= set(
            SyncState.objects.filter(tenant_id=tenant_id)
            .exclude(applied_keys=[])
            .values_list("cluster_id", flat=True)
        )
        ok = True
        for cluster in Cluster.objects.filter(pk__in=cluster_ids).order_by("pk"):
            run = sync_cluster(
                target=target,
                cluster=cluster,
                manifests=by_cluster.get(cluster.pk, []),
                trigger=SyncRun.Trigger.DELETE if deletion else trigger,
                actor=actor,
                allow_namespace_deletion=deletion is not None,
            )
            result.runs.append(run)
            ok = ok and run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.NOOP)
        if ok:
            result.applied = True
            registry.sync_recorder().mark_applied(tenant_id, target.desired_generation)
            if deletion is not None and deletion.completed_at is None:
                deletion.completed_at = timezone.now()
                deletion.save(update_fields=["completed_at"])
    return result


def _record_waiting(target: registry.SyncTarget) -> None:
    message = "archived: namespaces are kept until a platform admin confirms their deletion"
    for cluster_id in target.cluster_ids:
        last = SyncRun.objects.filter(tenant_id=target.tenant_id, cluster_id=cluster_id).first()
        if last is None or last.status != SyncRun.Status.WAITING:
            SyncRun.objects.create(
                tenant_id=target.tenant_id,
                tenant_slug=target.slug,
                cluster_id=cluster_id,
                generation=target.desired_generation,
                status=SyncRun.Status.WAITING,
                message=message,
                finished_at=timezone.now(),
            )


def reconcile_tenant_ids() -> list[int]:
    """Tenants to re-enqueue: applied lags desired (archived ones only once confirmed)."""
    ids = registry.tenant_directory().pending_tenant_ids()
    waiting_archived = set()
    for tenant_id in ids:
        target = registry.tenant_directory().sync_target(tenant_id)
        if target and target.archived:
            waiting_archived.add(tenant_id)
    confirmed = set(
        NamespaceDeletion.objects.filter(tenant_id__in=waiting_archived).values_list(
            "tenant_id", flat=True
        )
    )
    return [i for i in ids if i not in waiting_archived or i in confirmed]


def check_drift(*, cluster_id: int | None = None, repair: bool = True) -> dict[str, int]:
    """Compare live objects with desired (our fields only) for every synced tenant; record the
    drift on SyncState and re-apply. Returns counts for the command line."""
    states = (
        SyncState.objects.exclude(last_success_hash="")
        .select_related("cluster")
        .order_by("tenant_id", "cluster_id")
    )
    if cluster_id is not None:
        states = states.filter(cluster_id=cluster_id)
    counts = {"checked": 0, "drifted": 0, "errors": 0}
    rendered_for, target, objects = None, None, []
    for state in states:
        if state.tenant_id != rendered_for:  # render a tenant once for all of its clusters
            rendered_for = state.tenant_id
            target = registry.tenant_directory().sync_target(state.tenant_id)
            objects = registry.desired_objects(state.tenant_id) if target else []
        if target is None:
            continue
        manifests = [o.manifest for o in objects if o.cluster_id == state.cluster_id]
        try:
            drift = backend_for(state.cluster).drifted(tenant_slug=target.slug, manifests=manifests)
        except BackendError as exc:
            log.warning("drift check of %s on %s failed: %s", target.slug, state.cluster, exc)
            counts["errors"] += 1
            continue
        counts["checked"] += 1
        state.drift_checked_at = timezone.now()
        state.drifted_objects = [
            {"kind": o.kind, "namespace": o.namespace, "name": o.name, "message": o.message}
            for o in drift
        ]
        with pghistory.context(task="check_drift"):
            state.save(update_fields=["drift_checked_at", "drifted_objects"])
        if drift:
            counts["drifted"] += 1
            if repair:
                try:
                    run = sync_cluster(
                        target=target,
                        cluster=state.cluster,
                        manifests=manifests,
                        trigger=SyncRun.Trigger.DRIFT,
                        actor="drift-check",
                    )
                except TransientError:
                    counts["errors"] += 1
                    continue
                _save_outcomes(run, drift)  # backends report drift with action "drifted"
    return counts


def refresh_capacity(*, cluster_id: int | None = None) -> dict[str, int]:
    """Read node allocatable GPUs of kubernetes clusters into ClusterCapacity (override kept)."""
    from .kube import KubeBackend

    clusters = Cluster.objects.filter(is_active=True, backend=Cluster.Backend.KUBERNETES)
    if cluster_id is not None:
        clusters = clusters.filter(pk=cluster_id)
    counts = {"clusters": 0, "errors": 0}
    for cluster in clusters:
        try:
            observed = KubeBackend(cluster).read_capacity()
        except BackendError as exc:
            log.warning("capacity of %s unreadable: %s", cluster.name, exc)
            counts["errors"] += 1
            continue
        now = timezone.now()
        seen = set()
        with transaction.atomic(), pghistory.context(task="refresh_capacity"):
            for obs in observed:
                seen.add((obs.gpu_product, obs.resource_name))
                ClusterCapacity.objects.update_or_create(
                    cluster=cluster,
                    gpu_product=obs.gpu_product,
                    resource_name=obs.resource_name,
                    defaults={"allocatable": obs.allocatable, "observed_at": now},
                )
            for cap in ClusterCapacity.objects.filter(cluster=cluster):
                if (cap.gpu_product, cap.resource_name) not in seen and cap.allocatable:
                    cap.allocatable = 0
                    cap.observed_at = now
                    cap.save(update_fields=["allocatable", "observed_at"])
        counts["clusters"] += 1
    return counts
