"""Reads of the cluster registry: capacity vs allocations, sync health, drift, sync runs.

Every page-level read runs a constant number of queries, whatever the number of tenants.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Max, Q
from django.http import Http404

from . import registry
from .models import Cluster, ClusterCapacity, SyncRun, SyncState

NO_ALLOCATION = registry.Allocation(0, 0)

# a tenant is failing on a cluster when its latest run there failed or waits for a retry
FAILING = (SyncRun.Status.FAILED, SyncRun.Status.RETRYING)


@dataclass(frozen=True)
class CapacityLine:
    capacity_id: int | None
    gpu_product: str
    resource_name: str
    allocatable: int
    override: int | None
    capacity: int
    guaranteed: int
    burst: int
    observed_at: object = None

    @property
    def free(self) -> int:
        return self.capacity - self.guaranteed

    @property
    def over_by(self) -> int:
        return max(0, self.guaranteed - self.capacity)

    @property
    def over_committed(self) -> bool:
        return self.guaranteed > self.capacity


def get_cluster(name: str) -> Cluster:
    cluster = Cluster.objects.filter(name=name).first()
    if cluster is None:
        raise Http404("No such cluster.")
    return cluster


def capacity_lines(cluster: Cluster) -> list[CapacityLine]:
    """Capacity per (GPU product, resource) with the live guaranteed and burst grants on it."""
    try:
        allocations = registry.tenant_directory().capacity_allocations(cluster.pk)
    except LookupError:  # no app registered tenants: nothing is granted
        allocations = {}
    lines = []
    seen = set()
    for cap in ClusterCapacity.objects.filter(cluster=cluster):
        key = (cap.gpu_product, cap.resource_name)
        seen.add(key)
        alloc = allocations.get(key, NO_ALLOCATION)
        lines.append(
            CapacityLine(
                cap.pk, cap.gpu_product, cap.resource_name, cap.allocatable, cap.override,
                cap.capacity, alloc.guaranteed, alloc.burst, cap.observed_at,
            )
        )  # fmt: skip
    for key, alloc in sorted(allocations.items()):
        if key not in seen:  # granted on capacity the cluster does not (yet) report
            lines.append(CapacityLine(None, *key, 0, None, 0, alloc.guaranteed, alloc.burst))
    return lines


@dataclass(frozen=True)
class ClusterHealth:
    cluster: Cluster
    tenants: int
    failing: int
    drifted: int
    last_sync_at: object


def cluster_list() -> list[ClusterHealth]:
    """Clusters with tenant count, tenants whose last run failed, drift, last sync time."""
    clusters = list(Cluster.objects.all())
    states = (
        SyncState.objects.values("cluster_id")
        .annotate(
            tenants=Count("pk"),
            drifted=Count("pk", filter=~Q(drifted_objects=[])),
            last=Max("last_success_at"),
        )
        .order_by()
    )
    by_cluster = {s["cluster_id"]: s for s in states}
    failing = defaultdict(int)
    for run in latest_runs_per_tenant(cluster_ids=[c.pk for c in clusters]):
        if run.status in FAILING:
            failing[run.cluster_id] += 1
    return [
        ClusterHealth(
            c,
            by_cluster.get(c.pk, {}).get("tenants", 0),
            failing[c.pk],
            by_cluster.get(c.pk, {}).get("drifted", 0),
            by_cluster.get(c.pk, {}).get("last"),
        )
        for c in clusters
    ]


def latest_runs_per_tenant(*, cluster_ids: list[int]) -> list[SyncRun]:
    """The most recent run of each (tenant, cluster), in one query (DISTINCT ON)."""
    return list(
        SyncRun.objects.filter(cluster_id__in=cluster_ids)
        .order_by("tenant_id", "cluster_id", "-started_at", "-pk")
        .distinct("tenant_id", "cluster_id")
    )


def cluster_sync_overview(cluster: Cluster) -> dict:
    runs = latest_runs_per_tenant(cluster_ids=[cluster.pk])
    drifted = list(
        SyncState.objects.filter(cluster=cluster)
        .exclude(drifted_objects=[])
        .order_by("tenant_slug")
    )
    directory = registry.tenant_directory()
    waiting_ids = directory.pending_tenant_ids(cluster_id=cluster.pk)
    waiting = sorted(directory.tenant_slugs(waiting_ids).values()) if waiting_ids else []
    return {
        "waiting": waiting,
        "latest_runs": sorted(runs, key=lambda r: r.tenant_slug),
        "failing": [r for r in runs if r.status in FAILING],
        "drifted": drifted,
    }


def tenant_sync_runs(tenant_id: int, *, limit: int = 10) -> list[SyncRun]:
    """Last runs of a tenant with their per-object results (two queries)."""
    return list(
        SyncRun.objects.filter(tenant_id=tenant_id)
        .select_related("cluster")
        .prefetch_related("results")[:limit]
    )


def tenant_sync_states(tenant_id: int) -> list[SyncState]:
    return list(SyncState.objects.filter(tenant_id=tenant_id).select_related("cluster"))
