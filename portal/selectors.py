"""Reads about the portal's own health, for /metrics: sync lag, sync runs, usage pull lag.

Each is one aggregate query whatever the number of tenants or clusters; the portal is the top
layer, so reading the domain apps' models here is allowed (as the home dashboards do).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, F, Min, OuterRef, Q

from clusters.models import Cluster, NamespaceDeletion, SyncRun
from tenants.models import Tenant


@dataclass(frozen=True)
class SyncLag:
    pending: int
    oldest_since: datetime | None

    def oldest_seconds(self, now: datetime) -> float:
        return max(0.0, (now - self.oldest_since).total_seconds()) if self.oldest_since else 0.0


def sync_lag() -> SyncLag:
    """Tenants whose applied generation lags the desired one, and since when the oldest lags.

    An archived tenant whose namespace deletion no admin has confirmed yet waits on purpose
    (clusters.sync.reconcile_tenant_ids skips it too), so it is not counted as lagging.
    """
    confirmed = NamespaceDeletion.objects.filter(tenant_id=OuterRef("pk"))
    row = (
        Tenant.objects.filter(applied_generation__lt=F("desired_generation"))
        .exclude(Q(status=Tenant.Status.ARCHIVED) & ~Exists(confirmed))
        .aggregate(pending=Count("pk"), oldest=Min("sync_pending_since"))
    )
    return SyncLag(pending=row["pending"], oldest_since=row["oldest"])


def sync_run_counts() -> list[tuple[str, str, int]]:
    """(cluster name, result, finished runs) for every cluster and result seen."""
    rows = (
        SyncRun.objects.exclude(status=SyncRun.Status.RUNNING)
        .values_list("cluster__name", "status")
        .annotate(runs=Count("pk"))
        .order_by("cluster__name", "status")
    )
    return [(cluster, status, runs) for cluster, status, runs in rows]


@dataclass(frozen=True)
class PullLag:
    cluster: str
    pulled_until: datetime | None
    registered_at: datetime
    consecutive_failures: int

    def lag_seconds(self, now: datetime) -> float:
        """Time since the end of the last stored hour; a cluster never pulled counts from its
        registration, so a pull that never starts still alerts."""
        since = self.pulled_until or self.registered_at
        return max(0.0, (now - since).total_seconds())


def usage_pull_lags() -> list[PullLag]:
    """Every active cluster with a Prometheus to pull usage from."""
    clusters = (
        Cluster.objects.filter(is_active=True)
        .exclude(prometheus_url="")
        .select_related("pull_status")
        .order_by("name")
    )
    lags = []
    for cluster in clusters:
        status = getattr(cluster, "pull_status", None)
        lags.append(
            PullLag(
                cluster=cluster.name,
                pulled_until=status.pulled_until if status else None,
                registered_at=cluster.created_at,
                consecutive_failures=status.consecutive_failures if status else 0,
            )
        )
    return lags
