"""Reads of the costs app: visibility, the finance overview, the tenant page (with flags and
the 10x projection), the platform view and pull status. Cost sums come from aggregates.py."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.utils import timezone

from clusters.models import ClusterCapacity
from portal import roles
from tenants.models import Environment, GpuProfile, Tenant

from . import forecast
from .aggregates import CostTable, cost_table, cost_tables, pricing
from .models import ClusterPullStatus, DailyUsage, Source
from .pricing import CostLine

# --- visibility -----------------------------------------------------------------------------


def can_see_all_costs(user) -> bool:
    return roles.is_platform_admin(user) or roles.is_finance(user)


def visible_tenants(user):
    """Tenants whose costs `user` may read: finance and admins all, others their own."""
    if can_see_all_costs(user):
        return Tenant.objects.all()
    return Tenant.objects.filter(memberships__user=user).distinct()


def tenant_for_costs(user, slug: str) -> Tenant | None:
    return visible_tenants(user).filter(slug=slug).select_related("cluster").first()


# --- unpriced usage --------------------------------------------------------------------------


@dataclass(frozen=True)
class Unpriced:
    """Usage on a GPU product no profile describes: stored and counted, never priced as
    another model. Finance adds a profile (and a price) for it; a re-pull then prices it."""

    cluster: str
    resource_name: str
    gpu_product: str
    unit_hours: float

    @property
    def message(self) -> str:
        product = self.gpu_product or f"an unknown GPU ({self.resource_name})"
        return (
            f"unpriced: {product} on cluster {self.cluster}, {self.unit_hours:.1f} unit-hours. "
            f"Add a GPU profile for {self.resource_name} on this product and a price for its "
            "model, then re-pull those days."
        )


_UNPRICED_SQL = """
SELECT c.name, u.resource_name, u.gpu_product, SUM(u.unit_hours)
FROM costs_dailyusage u JOIN clusters_cluster c ON c.id = u.cluster_id
WHERE u.day >= %(start)s AND u.day <= %(end)s AND u.gpu_fraction IS NULL
  AND u.profile_id IS NULL AND u.unit_hours > 0 {tenant}
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""


def unpriced_usage(*, start: date, end: date, tenant_id: int | None = None) -> list[Unpriced]:
    """Usage with no profile for its (resource, GPU product) in [start, end]: one query."""
    params = {"start": start, "end": end, "tenant": tenant_id}
    sql = _UNPRICED_SQL.format(tenant="AND u.tenant_id = %(tenant)s" if tenant_id else "")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [Unpriced(*row) for row in cursor.fetchall()]


# --- finance overview -------------------------------------------------------------------------


@dataclass
class TenantCostRow:
    tenant: Tenant
    line: CostLine
    month_to_date: Decimal
    forecast: Decimal

    @property
    def utilization(self) -> float:
        return self.line.utilization


@dataclass
class Overview:
    rows: list[TenantCostRow]
    total: CostLine
    total_forecast: Decimal
    currency: str
    demo: bool
    as_of: date
    unpriced: list[Unpriced]


def tenants_overview(*, start: date, end: date, tenants) -> Overview:
    """Every given tenant's cost for [start, end] plus its month-end forecast: 4 queries."""
    prices = pricing()
    tenant_list = list(tenants.order_by("slug").only("id", "slug", "name", "cost_center"))
    month_start, _ = forecast.month_bounds(end)
    trail_start, _ = forecast.trailing_window(end)
    tables = cost_tables(
        windows={"range": (start, end), "mtd": (month_start, end), "trail": (trail_start, end)},
        prices=prices,
    )
    ranged, mtd, trailing = tables["range"], tables["mtd"], tables["trail"]
    rows = []
    for tenant in tenant_list:
        month_cost = mtd.get(tenant.pk).cost
        rows.append(
            TenantCostRow(
                tenant=tenant,
                line=ranged.get(tenant.pk),
                month_to_date=month_cost,
                forecast=forecast.month_end_forecast(
                    month_to_date=month_cost,
                    trailing_cost=trailing.get(tenant.pk).cost,
                    trailing_days=forecast.days_observed(
                        trailing.get(tenant.pk).first_day, trail_start, end
                    ),
                    as_of=end,
                ),
            )
        )
    total = CostLine(key="total")
    for row in rows:
        total.merge(row.line)
    return Overview(
        rows=rows,
        total=total,
        total_forecast=sum((r.forecast for r in rows), Decimal(0)),
        currency=prices.currency,
        demo=ranged.demo,
        as_of=end,
        unpriced=unpriced_usage(start=start, end=end),
    )


SORTS = {
    "tenant": lambda r: r.tenant.slug,
    "cost": lambda r: r.line.cost,
    "idle": lambda r: r.line.idle_cost,
    "utilization": lambda r: r.line.utilization,
    "gpu_hours": lambda r: r.line.gpu_hours,
    "forecast": lambda r: r.forecast,
}


def sort_rows(rows: list[TenantCostRow], sort: str) -> list[TenantCostRow]:
    name = sort.lstrip("-")
    if name not in SORTS:
        return rows
    return sorted(rows, key=SORTS[name], reverse=sort.startswith("-"))


# --- tenant page ------------------------------------------------------------------------------


@dataclass
class TenantCosts:
    tenant: Tenant
    start: date
    end: date
    currency: str
    total: CostLine
    by_day: list[CostLine]
    by_environment: list[tuple[str, CostLine]]
    by_workload: list[tuple[str, CostLine]]
    month_to_date: Decimal
    forecast: Decimal
    projections: list[forecast.Projection]
    flags: list[forecast.Flag]
    demo: bool
    unpriced: list[Unpriced]


def tenant_costs(*, tenant: Tenant, start: date, end: date) -> TenantCosts:
    """Everything the tenant cost page shows: a fixed number of queries."""
    prices = pricing()
    month_start, _ = forecast.month_bounds(end)
    trail_start, _ = forecast.trailing_window(end)
    tables = cost_tables(
        windows={"range": (start, end), "recent": (min(month_start, trail_start), end)},
        group_by=("environment", "workload", "day"),
        tenant_id=tenant.pk,
        prices=prices,
    )
    by_key = tables["range"]
    environments = dict(Environment.objects.filter(tenant=tenant).values_list("id", "name"))
    by_env: dict[str, CostLine] = {}
    by_wl: dict[str, CostLine] = {}
    days: dict[date, CostLine] = {}
    for (env_id, workload, day), line in by_key.lines.items():
        for bucket, key in (
            (by_env, environments.get(env_id, "?")),
            (by_wl, workload or "(no workload)"),
            (days, day),
        ):
            bucket.setdefault(key, CostLine(key=key)).merge(line)
    window = CostTable()
    for (_env, _wl, day), line in tables["recent"].lines.items():
        window.lines.setdefault(day, CostLine(key=day)).merge(line)
    mtd = sum((line.cost for d, line in window.lines.items() if d >= month_start), Decimal(0))
    trailing = sum((line.cost for d, line in window.lines.items() if d >= trail_start), Decimal(0))
    observed = [d for d in window.lines if d >= trail_start]
    by_day = [days.get(d) or CostLine(key=d) for d in _days(start, end)]
    total = CostTable(lines=days).total()
    flags = forecast.flag_under_utilized(
        tenant=tenant.slug, utilization=total.utilization, gpu_hours=total.gpu_hours
    )
    flags += _hourly_flags(tenant, end)
    return TenantCosts(
        tenant=tenant,
        start=start,
        end=end,
        currency=prices.currency,
        total=total,
        by_day=by_day,
        by_environment=sorted(by_env.items()),
        by_workload=sorted(by_wl.items(), key=lambda kv: -kv[1].cost),
        month_to_date=mtd,
        forecast=forecast.month_end_forecast(
            month_to_date=mtd,
            trailing_cost=trailing,
            trailing_days=forecast.days_observed(min(observed, default=None), trail_start, end),
            as_of=end,
        ),
        projections=scale_projection(tenant=tenant, end=end),
        flags=flags,
        demo=by_key.demo,
        unpriced=unpriced_usage(start=start, end=end, tenant_id=tenant.pk),
    )


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


_LAST_24H_SQL = """
SELECT namespace, workload, resource_name, COUNT(*), SUM(unit_hours), SUM(used_unit_hours)
FROM costs_hourlyusage
WHERE tenant_id = %(tenant)s AND hour >= %(since)s AND hour < %(until)s AND unit_hours > 0
GROUP BY namespace, workload, resource_name
"""

_WORKLOAD_SQL = """
SELECT u.namespace, u.workload, u.resource_name, u.gpu_product, MAX(p.memory_gb),
       COUNT(DISTINCT u.day), SUM(u.gpu_hours), SUM(u.used_gpu_hours), SUM(u.requests),
       MAX(u.fb_peak_mib), MAX(CASE WHEN u.unit_hours > 0
                               THEN u.used_unit_hours / u.unit_hours ELSE 0 END)
FROM costs_dailyusage u LEFT JOIN tenants_gpuprofile p ON p.id = u.profile_id
WHERE u.tenant_id = %(tenant)s AND u.day >= %(since)s AND u.day <= %(until)s
  AND u.unit_hours > 0
GROUP BY u.namespace, u.workload, u.resource_name, u.gpu_product
"""


def _hourly_flags(tenant: Tenant, end: date) -> list[forecast.Flag]:
    """Idle allocations (last 24 hours up to `end`), forgotten jobs and right-sizing advice
    (last COSTS_FORGOTTEN_JOB_DAYS + 7 days): two queries."""
    # the last 24 complete hours up to the end of the range (not hours still to come today)
    now = timezone.now().astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    until = min(_end_of(end), now)
    with connection.cursor() as cursor:
        cursor.execute(
            _LAST_24H_SQL,
            {"tenant": tenant.pk, "since": until - timedelta(hours=24), "until": until},
        )
        idle = [
            dict(
                namespace=ns, workload=wl, resource_name=res, hours=n, unit_hours=uh,
                used_unit_hours=used,
            )
            for ns, wl, res, n, uh, used in cursor.fetchall()
        ]  # fmt: skip
        min_days = settings.COSTS_FORGOTTEN_JOB_DAYS
        cursor.execute(
            _WORKLOAD_SQL,
            {"tenant": tenant.pk, "since": end - timedelta(days=min_days + 7), "until": end},
        )
        workloads = [
            dict(
                namespace=ns, workload=wl, resource_name=_on(res, product), memory_gb=mem or 0,
                days=days, gpu_hours=gh, used_gpu_hours=ugh, requests=req, fb_peak_mib=fb,
                peak_utilization=peak,
            )
            for ns, wl, res, product, mem, days, gh, ugh, req, fb, peak in cursor.fetchall()
        ]  # fmt: skip
    # A workload spread over several resources is judged on its totals.
    by_workload: dict[tuple, dict] = {}
    for g in workloads:
        agg = by_workload.setdefault(
            (g["namespace"], g["workload"]),
            dict(namespace=g["namespace"], workload=g["workload"], days=0, gpu_hours=0.0,
                 used_gpu_hours=0.0, requests=0.0),
        )  # fmt: skip
        agg["days"] = max(agg["days"], g["days"])
        for k in ("gpu_hours", "used_gpu_hours", "requests"):
            agg[k] += g[k]
    return (
        forecast.flag_idle_allocations(idle)
        + forecast.flag_forgotten_jobs(list(by_workload.values()), min_days)
        + forecast.flag_right_sizing(workloads)
    )


def _on(resource: str, product: str) -> str:
    """How a (resource, GPU product) key reads: "nvidia.com/gpu on NVIDIA-H100-80GB-HBM3"."""
    return f"{resource} on {product}" if product else f"{resource} (unknown GPU)"


_UNITS_SQL = """
SELECT u.tenant_id = %(tenant)s, u.resource_name, u.gpu_product,
       SUM(u.unit_hours) / GREATEST(COUNT(DISTINCT u.day) * 24, 1)
FROM costs_dailyusage u
WHERE u.cluster_id = %(cluster)s AND u.day >= %(since)s AND u.day <= %(until)s
  AND u.namespace <> ''
GROUP BY 1, 2, 3
"""


def scale_projection(*, tenant: Tenant, end: date, factor: float = 10.0):
    """What at 10x: the tenant's average units per (resource, GPU product) over the last 7 days
    times `factor`, against its cluster's capacity of that product (an H100 and an A100 pool
    both advertised as nvidia.com/gpu are two pools), every other tenant unchanged."""
    since, _ = forecast.trailing_window(end)
    with connection.cursor() as cursor:
        cursor.execute(
            _UNITS_SQL,
            {"tenant": tenant.pk, "cluster": tenant.cluster_id, "since": since, "until": end},
        )
        rows = cursor.fetchall()
    tenant_units: dict[str, float] = {}
    cluster_units: dict[str, float] = {}
    for mine, resource, product, units in rows:
        key = _on(resource, product)
        cluster_units[key] = cluster_units.get(key, 0.0) + units
        if mine:
            tenant_units[key] = tenant_units.get(key, 0.0) + units
    capacity: dict[str, int] = {}
    for cap in ClusterCapacity.objects.filter(cluster_id=tenant.cluster_id):
        key = _on(cap.resource_name, cap.gpu_product)
        if key in tenant_units:
            capacity[key] = capacity.get(key, 0) + cap.capacity
    return forecast.project_scale(
        tenant_units=tenant_units, cluster_units=cluster_units, capacity=capacity, factor=factor
    )


# --- platform view ----------------------------------------------------------------------------

_PLATFORM_SQL = """
SELECT u.cluster_id, u.resource_name, u.gpu_product, (u.namespace = '') AS unallocated,
       SUM(u.gpu_hours), SUM(u.used_gpu_hours)
FROM costs_dailyusage u
WHERE u.day >= %(start)s AND u.day <= %(end)s
GROUP BY 1, 2, 3, 4
"""


@dataclass
class ProfileUsage:
    cluster: str
    resource_name: str
    gpu_product: str = ""
    profiles: str = ""  # display names of the catalog entries with this product and resource
    capacity: int = 0
    allocated_gpu_hours: float = 0.0
    used_gpu_hours: float = 0.0
    unallocated_gpu_hours: float = 0.0
    unallocated_cost: Decimal = Decimal(0)  # capacity no tenant held, at its price

    @property
    def utilization(self) -> float:
        total = self.allocated_gpu_hours + self.unallocated_gpu_hours
        return self.used_gpu_hours / total if total else 0.0

    @property
    def idle_gpu_hours(self) -> float:
        """Unallocated capacity plus allocated-but-unused GPU-hours."""
        return self.unallocated_gpu_hours + max(self.allocated_gpu_hours - self.used_gpu_hours, 0)


def platform_usage(*, start: date, end: date) -> list[ProfileUsage]:
    """Cluster utilization, idle capacity and its cost by GPU product and resource: six
    queries."""
    from clusters.models import Cluster

    clusters = dict(Cluster.objects.values_list("id", "name"))
    names: dict[tuple[str, str], list[str]] = {}
    for product, resource, name in GpuProfile.objects.values_list(
        "gpu_product", "resource_name", "display_name"
    ):
        names.setdefault((product, resource), []).append(name)
    usage: dict[tuple[int, str, str], ProfileUsage] = {}

    def item(cluster_id: int, product: str, resource: str) -> ProfileUsage:
        key = (cluster_id, product, resource)
        if key not in usage:
            usage[key] = ProfileUsage(
                clusters.get(cluster_id, "?"),
                resource,
                product,
                ", ".join(names.get((product, resource), [])),
            )
        return usage[key]

    with connection.cursor() as cursor:
        cursor.execute(_PLATFORM_SQL, {"start": start, "end": end})
        for cluster_id, resource, product, unallocated, gpu_h, used in cursor.fetchall():
            row = item(cluster_id, product or "", resource)
            if unallocated:
                row.unallocated_gpu_hours += gpu_h
            else:
                row.allocated_gpu_hours += gpu_h
                row.used_gpu_hours += used
    for cap in ClusterCapacity.objects.all():
        item(cap.cluster_id, cap.gpu_product, cap.resource_name).capacity += cap.capacity
    idle = cost_table(
        start=start, end=end, group_by=("cluster", "product", "resource", "namespace", "tenant"),
        attributed_only=False, prices=pricing(),
    )  # fmt: skip
    for (cluster_id, product, resource, namespace, tenant_id), line in idle.lines.items():
        if tenant_id is None and not namespace:
            item(cluster_id, product or "", resource).unallocated_cost += line.cost
    return sorted(usage.values(), key=lambda u: (u.cluster, u.gpu_product, u.resource_name))


def pull_status(cluster) -> ClusterPullStatus | None:
    return ClusterPullStatus.objects.filter(cluster=cluster).first()


def has_demo_data() -> bool:
    return DailyUsage.objects.filter(source=Source.DEMO).exists()


def gpu_models() -> list[str]:
    """The GPU models of the profiles, for the price form's choices."""
    return sorted(set(GpuProfile.objects.values_list("gpu_model", flat=True)))
