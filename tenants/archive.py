"""The archive lifecycle of a tenant, after `services.archive_tenant`:

1. archived: the team sees when its workloads stop (`workloads_stop_at`, the grace period);
2. after the grace period the workloads are stopped on the cluster (scaled to zero, Jobs and
   CronJobs suspended), nothing deleted;
3. a platform admin confirms namespace deletion (clusters.services.confirm_namespace_deletion);
   the sync deletes the tenant's namespaces (only ours), which stay Terminating while
   finalizers hold them, shown on the tenant page;
4. capacity is released (the grants revoked) only once the cluster no longer holds the
   namespaces, and with them the ResourceQuota; until then the grants count as allocated.

GitOps clusters: the deletion is one commit removing the tenant's files; the portal cannot see
the cluster, so the capacity is released once that commit is made.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clusters import services as cluster_services
from clusters.models import NamespaceDeletion
from clusters.services import BackendError, SyncBusy, tenant_lock
from portal.audit import task_context

from .models import Environment, QuotaGrant, Tenant

log = logging.getLogger(__name__)


def grace_period() -> timedelta:
    return timedelta(hours=float(getattr(settings, "PORTAL_ARCHIVE_GRACE_HOURS", 24)))


def stage(tenant: Tenant) -> str:
    """Where an archived tenant is in its lifecycle, in the team's words."""
    if tenant.status != Tenant.Status.ARCHIVED:
        return ""
    if tenant.capacity_released_at:
        return "released"
    deletion = NamespaceDeletion.objects.filter(tenant_id=tenant.pk).first()
    if deletion is not None:
        return "deleting" if deletion.completed_at is None else "terminating"
    if tenant.workloads_stopped_at:
        return "stopped"
    return "grace"


def _cluster_ids(tenant: Tenant) -> list[int]:
    ids = {tenant.cluster_id} | set(
        Environment.objects.filter(tenant=tenant).values_list("cluster_id", flat=True)
    )
    return sorted(ids)


def advance_archive(tenant_id: int) -> str:
    """Take one archived tenant as far as the cluster allows; idempotent. Returns the stage."""
    tenant = Tenant.objects.filter(pk=tenant_id, status=Tenant.Status.ARCHIVED).first()
    if tenant is None or tenant.capacity_released_at:
        return stage(tenant) if tenant else ""
    now = timezone.now()
    with tenant_lock(tenant.pk), task_context("advance_archive"):
        if tenant.workloads_stopped_at is None and (tenant.workloads_stop_at or now) <= now:
            cluster_services.stop_tenant_workloads(
                tenant_id=tenant.pk, tenant_slug=tenant.slug, cluster_ids=_cluster_ids(tenant)
            )
            tenant.workloads_stopped_at = now
            tenant.save(update_fields=["workloads_stopped_at"])
        deletion = NamespaceDeletion.objects.filter(
            tenant_id=tenant.pk, completed_at__isnull=False
        ).first()
        if deletion is None:
            return stage(tenant)
        states: dict[str, str] = {}
        for cluster_id in _cluster_ids(tenant):
            names = list(
                Environment.objects.filter(tenant=tenant, cluster_id=cluster_id).values_list(
                    "namespace", flat=True
                )
            )
            states.update(cluster_services.namespace_states(cluster_id=cluster_id, names=names))
        with transaction.atomic():
            tenant.archive_namespaces = states
            fields = ["archive_namespaces"]
            if all(state == "gone" for state in states.values()):
                QuotaGrant.objects.filter(tenant=tenant, revoked_at__isnull=True).update(
                    revoked_at=now, updated_at=now
                )
                tenant.capacity_released_at = now
                fields.append("capacity_released_at")
            tenant.save(update_fields=fields)
    return stage(tenant)


def advance_archives() -> dict[str, int]:
    """Every archived tenant whose capacity is not released yet; one failure stops no other."""
    counts = {"tenants": 0, "released": 0, "errors": 0}
    ids = Tenant.objects.filter(
        status=Tenant.Status.ARCHIVED, capacity_released_at__isnull=True
    ).values_list("pk", flat=True)
    for tenant_id in ids:
        counts["tenants"] += 1
        try:
            if advance_archive(tenant_id) == "released":
                counts["released"] += 1
        except SyncBusy:
            continue  # a sync holds the tenant; the next round goes on
        except BackendError as exc:
            log.warning("archive of tenant %s cannot advance: %s", tenant_id, exc)
            counts["errors"] += 1
    return counts
