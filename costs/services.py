"""Writes of the costs app: the usage pull (Prometheus -> hourly and daily rollups) and the
price book."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from clusters.models import Cluster, ClusterCapacity
from clusters.prometheus import PrometheusClient, PrometheusError
from portal.audit import task_context
from portal.domain_errors import DomainError
from tenants.models import Environment, GpuProfile, QuotaGrant

from .models import ClusterPullStatus, DailyUsage, HourlyUsage, PriceBookEntry, Source
from .pricing import exact_fraction
from .statements import last_closed_day
from .usage import (
    UNPRICED,
    Terms,
    build_queries,
    covered_hours,
    rollup_rows,
    sanitize_resource,
    split_burst,
)

HOUR = timedelta(hours=1)


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def last_complete_hour(now: datetime | None = None) -> datetime:
    """End (exclusive) of the newest hour Prometheus has fully ingested."""
    now = now or timezone.now()
    delay = timedelta(minutes=settings.COSTS_PULL_DELAY_MINUTES)
    return floor_hour(now - delay)


@dataclass
class PullResult:
    cluster: str
    start: datetime | None
    end: datetime | None
    windows: int = 0
    rows: int = 0
    queries: int = 0
    # hours of the range Prometheus had no sample for (beyond its retention, or a gap): their
    # stored rows, if any, were kept as they were
    hours_without_data: int = 0


def pull_usage(
    *,
    cluster_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
    client: PrometheusClient | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PullResult:
    """Pull whole hours [start, end) of usage from the cluster's Prometheus.

    Without `start` it resumes from the last stored hour (or backfills COSTS_BACKFILL_DAYS).
    `end` never passes the last complete hour. Each window (COSTS_PULL_WINDOW_HOURS) is one
    transaction: a failure mid-window stores nothing of it and leaves `pulled_until` before it.
    `progress(done_queries, total_queries)` is called after every query (the progress bar).
    """
    cluster = Cluster.objects.get(pk=cluster_id)
    status, _ = ClusterPullStatus.objects.get_or_create(cluster=cluster)
    limit = last_complete_hour(now)
    resuming = start is None
    if start is None:
        if status.pulled_until is not None:
            start = status.pulled_until
        else:
            start = limit - timedelta(days=settings.COSTS_BACKFILL_DAYS)
    start = floor_hour(start)
    end = min(floor_hour(end), limit) if end is not None else limit
    result = PullResult(cluster=cluster.name, start=start, end=end)
    if start >= end:
        return result
    pruned_before = _hourly_cutoff(now)
    if resuming and start < pruned_before:
        # not pulled for longer than hourly rows are kept: resume where rows are still hourly
        start = result.start = pruned_before
        with task_context("costs.pull_usage", cluster=cluster.name):
            ClusterPullStatus.objects.filter(pk=status.pk).update(pulled_until=pruned_before)
    elif start < pruned_before:
        raise DomainError(
            f"Hours before {pruned_before:%Y-%m-%d} are kept only as daily totals "
            f"(COSTS_HOURLY_RETENTION_DAYS); re-pulling them would rebuild those days from "
            f"nothing. Start the pull on {pruned_before:%Y-%m-%d} or later.",
            field="start",
        )

    try:
        client = client or PrometheusClient.for_cluster(
            cluster,
            retries=settings.COSTS_PROMETHEUS_RETRIES,
            backoff=settings.COSTS_PROMETHEUS_BACKOFF,
            timeout=settings.COSTS_PROMETHEUS_TIMEOUT,
        )
    except PrometheusError as exc:
        _record_failure(cluster.pk, exc)
        raise
    scrape = settings.COSTS_SCRAPE_INTERVAL_SECONDS
    queries = build_queries(3600 / scrape, list(settings.COSTS_INFERENCE_COUNTERS))
    window = timedelta(hours=settings.COSTS_PULL_WINDOW_HOURS)
    windows = []
    cursor = start
    while cursor < end:
        windows.append((cursor, min(cursor + window, end)))
        cursor = windows[-1][1]
    total_queries = len(windows) * len(queries)
    catalog = _catalog(cluster)

    for w_start, w_end in windows:
        answers = {}
        try:
            for name, promql in queries.items():
                answers[name] = client.query_range(
                    promql, start=w_start + HOUR, end=w_end, step=3600
                )
                result.queries += 1
                if progress:
                    progress(result.queries, total_queries)
        except PrometheusError as exc:
            _record_failure(cluster.pk, exc)
            raise
        covered = covered_hours(answers)
        rows = rollup_rows(
            answers,
            resource_names=catalog.resource_names,
            catalog=catalog,
            first_hour=w_start,
            end_hour=w_end,
        )
        split_burst(rows, catalog.guaranteed)
        result.hours_without_data += int((w_end - w_start) / HOUR) - len(
            {h for h in covered if w_start <= h < w_end}
        )
        result.rows += _store_window(
            cluster, rows, catalog, w_start, w_end, resuming=resuming, queries=result.queries,
            covered=sorted(covered),
        )  # fmt: skip
        result.windows += 1
    return result


@dataclass
class _Catalog:
    """How usage on this cluster is attributed: GPU profiles by (resource, GPU product),
    the product to assume when a pod's device is unknown, and namespace -> (tenant, env)."""

    resource_names: dict[str, str]
    by_key: dict[tuple[str, str], Terms]
    fallback_product: dict[str, str]
    environments: dict[str, tuple[int, int]]
    guaranteed: dict[tuple[str, int], float]  # (namespace, profile id) -> guaranteed units

    def product(self, resource_name: str, reported: str) -> str:
        return reported or self.fallback_product.get(resource_name, "")

    def terms(self, resource_name: str, product: str) -> Terms:
        return self.by_key.get((resource_name, product), UNPRICED)


def _catalog(cluster: Cluster) -> _Catalog:
    """Four queries whatever the number of tenants. A pod whose device neither DCGM nor its
    node's label names counts as the only product the cluster has of that resource (its
    capacity, else the catalog); with several candidates it stays unknown and unpriced."""
    by_key: dict[tuple[str, str], Terms] = {}
    products_of: dict[str, set[str]] = {}
    for p in GpuProfile.objects.order_by("id"):
        key = (p.resource_name, p.gpu_product)
        if key not in by_key:
            by_key[key] = Terms(
                p.pk, p.gpu_model, exact_fraction(p.gpu_fraction, replicas=p.replicas)
            )
        products_of.setdefault(p.resource_name, set()).add(p.gpu_product)
    capacity: dict[str, set[str]] = {}
    for resource, product in ClusterCapacity.objects.filter(cluster=cluster).values_list(
        "resource_name", "gpu_product"
    ):
        capacity.setdefault(resource, set()).add(product)
    fallback = {}
    for resource in set(products_of) | set(capacity):
        candidates = capacity.get(resource) or products_of.get(resource, set())
        if len(candidates) == 1:
            fallback[resource] = next(iter(candidates))
    environments = {
        ns: (tenant_id, env_id)
        for ns, tenant_id, env_id in Environment.objects.filter(cluster=cluster).values_list(
            "namespace", "tenant_id", "id"
        )
    }
    names = set(products_of) | set(capacity)
    guaranteed: dict[tuple[str, int], float] = {}
    for ns, profile_id, units in QuotaGrant.objects.filter(
        environment__cluster=cluster, revoked_at__isnull=True
    ).values_list("environment__namespace", "profile_id", "guaranteed"):
        guaranteed[(ns, profile_id)] = guaranteed.get((ns, profile_id), 0.0) + units
    return _Catalog(
        guaranteed=guaranteed,
        resource_names={sanitize_resource(name): name for name in names},
        by_key=by_key,
        fallback_product=fallback,
        environments=environments,
    )


_COLUMNS = [
    "cluster_id", "namespace", "workload", "resource_name", "gpu_product", "hour", "tenant_id",
    "environment_id", "profile_id", "gpu_model", "gpu_fraction", "burst_factor", "unit_hours",
    "burst_unit_hours", "gpu_hours", "used_unit_hours", "used_gpu_hours", "fb_peak_mib",
    "requests", "runs", "source",
]  # fmt: skip
_KEY = ["cluster_id", "namespace", "workload", "resource_name", "gpu_product", "hour"]
# Recorded once: re-pulling stored hours keeps the model and fraction they were priced with.
# Only usage stored unpriced (no profile for its product then) takes the terms found now.
_TERMS = ["profile_id", "gpu_model", "gpu_fraction", "burst_factor"]
_STAGE_SQL = """
CREATE TEMP TABLE costs_pull_stage (
    cluster_id bigint, namespace text, workload text, resource_name text, gpu_product text,
    hour timestamptz, tenant_id bigint, environment_id bigint, profile_id bigint,
    gpu_model text, gpu_fraction numeric(20, 18), burst_factor numeric(6, 4), unit_hours float8,
    burst_unit_hours float8,
    gpu_hours float8, used_unit_hours float8, used_gpu_hours float8, fb_peak_mib float8,
    requests float8, runs float8, source text
) ON COMMIT DROP
"""
_MEASURED = [c for c in _COLUMNS if c not in _KEY and c not in _TERMS]
_TAKE_TERMS = "costs_hourlyusage.gpu_fraction IS NULL AND EXCLUDED.gpu_fraction IS NOT NULL"
# GPU-hours follow the fraction the row keeps, not the profile's current one
_GPU_HOURS = {
    c: f"CASE WHEN {_TAKE_TERMS} THEN EXCLUDED.{c} ELSE EXCLUDED.{units} * "
    f"COALESCE(costs_hourlyusage.gpu_fraction, 1)::float8 END"
    for c, units in (("gpu_hours", "unit_hours"), ("used_gpu_hours", "used_unit_hours"))
}
_UPSERT_SQL = (
    f"INSERT INTO costs_hourlyusage ({', '.join(_COLUMNS)}) "  # noqa: S608 - constant names
    f"SELECT {', '.join(_COLUMNS)} FROM costs_pull_stage "
    f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET "
    + ", ".join(f"{c} = {_GPU_HOURS.get(c, f'EXCLUDED.{c}')}" for c in _MEASURED)
    + ", "
    + ", ".join(
        f"{c} = CASE WHEN {_TAKE_TERMS} THEN EXCLUDED.{c} ELSE costs_hourlyusage.{c} END"
        for c in _TERMS
    )
    # an unchanged row is not rewritten: a re-pull of the same hours writes nothing
    + " WHERE ("
    + ", ".join(f"costs_hourlyusage.{c}" for c in _MEASURED)
    + ") IS DISTINCT FROM ("
    + ", ".join(f"EXCLUDED.{c}" for c in _MEASURED)
    + f") OR ({_TAKE_TERMS})"
)


_DELETE_VANISHED_SQL = """
DELETE FROM costs_hourlyusage h
WHERE h.cluster_id = %(cluster)s AND h.hour >= %(start)s AND h.hour < %(end)s
  AND h.source = 'prometheus'
  -- retention guard: only hours Prometheus still has samples for; an hour it no longer holds
  -- (retention, a gap) keeps what was stored
  AND h.hour = ANY(%(covered)s)
  AND NOT EXISTS (
    SELECT 1 FROM costs_pull_stage s
    WHERE s.namespace = h.namespace AND s.workload = h.workload
      AND s.resource_name = h.resource_name AND s.gpu_product = h.gpu_product
      AND s.hour = h.hour)
"""


def _store_window(
    cluster, rows, catalog, w_start, w_end, *, resuming: bool, queries: int, covered: list
) -> int:
    """Upsert the window's rows (COPY into a temporary table, then one INSERT ... ON CONFLICT
    DO UPDATE), rebuild its days, advance the pull status: one transaction."""
    burst_factor = Decimal(settings.COSTS_BURST_PRICE_FACTOR)
    with transaction.atomic(), task_context("costs.pull_usage", cluster=cluster.name):
        status = ClusterPullStatus.objects.select_for_update().get(cluster=cluster)
        with connection.cursor() as cursor:
            # dropped on commit; dropped here too when the caller's transaction is still open
            cursor.execute("DROP TABLE IF EXISTS pg_temp.costs_pull_stage")
            cursor.execute(_STAGE_SQL)
            copy_sql = f"COPY costs_pull_stage ({', '.join(_COLUMNS)}) FROM STDIN"
            with cursor.cursor.copy(copy_sql) as copy:
                for r in rows:
                    tenant_id, env_id = catalog.environments.get(r.namespace, (None, None))
                    copy.write_row(
                        (
                            cluster.pk, r.namespace, r.workload, r.resource_name,
                            r.gpu_product, r.hour, tenant_id, env_id, r.terms.profile_id,
                            r.terms.gpu_model, r.terms.fraction, burst_factor, r.units,
                            r.burst_units, r.gpu_hours,
                            r.used_units, r.used_gpu_hours,
                            r.fb_peak_mib, r.requests, r.runs, Source.PROMETHEUS.value,
                        )
                    )  # fmt: skip
            # an index, so the vanished-rows anti-join stays a lookup per row even when the
            # planner's statistics of the new hours are stale (they usually are)
            cursor.execute(
                "CREATE INDEX ON costs_pull_stage "
                "(hour, namespace, workload, resource_name, gpu_product)"
            )
            cursor.execute("ANALYZE costs_pull_stage")
            cursor.execute(_UPSERT_SQL)
            # level-based: a series Prometheus no longer has for these hours is no longer stored
            cursor.execute(
                _DELETE_VANISHED_SQL,
                {"cluster": cluster.pk, "start": w_start, "end": w_end, "covered": covered},
            )
        rebuild_daily(cluster_id=cluster.pk, start=w_start, end=w_end)
        now = timezone.now()
        if status.pulled_until is None and resuming:
            status.pulled_until = w_end
        elif status.pulled_until is not None and status.pulled_until >= w_start:
            status.pulled_until = max(status.pulled_until, w_end)
        status.state = ClusterPullStatus.State.OK
        status.last_attempt_at = now
        status.last_success_at = now
        status.last_error = ""
        status.consecutive_failures = 0
        status.queries_last_pull = queries
        status.rows_last_pull = len(rows)
        status.save()
    return len(rows)


def _record_failure(cluster_id: int, exc: Exception) -> None:
    with transaction.atomic(), task_context("costs.pull_usage", cluster_id=cluster_id):
        status, _ = ClusterPullStatus.objects.select_for_update().get_or_create(
            cluster_id=cluster_id
        )
        status.state = ClusterPullStatus.State.FAILING
        status.last_attempt_at = timezone.now()
        status.last_error = str(exc)[:2000]
        status.consecutive_failures += 1
        status.save()


_DAILY_DELETE_SQL = """
DELETE FROM costs_dailyusage
WHERE cluster_id = %(cluster)s AND day >= %(first_day)s AND day < %(end_day)s
"""

_DAILY_SQL = """
INSERT INTO costs_dailyusage (
    cluster_id, namespace, workload, resource_name, gpu_product, day, tenant_id,
    environment_id, profile_id, gpu_model, gpu_fraction, burst_factor, unit_hours,
    burst_unit_hours, gpu_hours, used_unit_hours, used_gpu_hours, fb_peak_mib, requests, runs,
    source, hours
)
SELECT cluster_id, namespace, workload, resource_name, gpu_product,
       (hour AT TIME ZONE 'UTC')::date, MAX(tenant_id), MAX(environment_id), profile_id,
       gpu_model, gpu_fraction, burst_factor,
       SUM(unit_hours), SUM(burst_unit_hours), SUM(gpu_hours), SUM(used_unit_hours),
       SUM(used_gpu_hours),
       MAX(fb_peak_mib), SUM(requests), SUM(runs), MIN(source), COUNT(*)
FROM costs_hourlyusage
WHERE cluster_id = %(cluster)s AND hour >= %(start)s AND hour < %(end)s
GROUP BY cluster_id, namespace, workload, resource_name, gpu_product,
         (hour AT TIME ZONE 'UTC')::date, profile_id, gpu_model, gpu_fraction, burst_factor
"""


def rebuild_daily(*, cluster_id: int | None, start: datetime, end: datetime) -> None:
    """Recompute the daily rows of every UTC day that [start, end) touches from hourly rows."""
    day_start = datetime.combine(start.astimezone(UTC).date(), datetime.min.time(), tzinfo=UTC)
    last = (end - timedelta(microseconds=1)).astimezone(UTC).date()
    day_end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    sql, delete = _DAILY_SQL, _DAILY_DELETE_SQL
    params = {
        "cluster": cluster_id,
        "start": day_start,
        "end": day_end,
        "first_day": day_start.date(),
        "end_day": day_end.date(),
    }
    if cluster_id is None:
        sql = sql.replace("cluster_id = %(cluster)s AND ", "")
        delete = delete.replace("cluster_id = %(cluster)s AND ", "")
    with transaction.atomic(), connection.cursor() as cursor:
        # every daily row of these days is derived from hourly rows: delete, then sum again
        cursor.execute(delete, params)
        cursor.execute(sql, params)


# --- price book -------------------------------------------------------------------------------


def add_price(
    *,
    gpu_model: str,
    hourly_price: Decimal,
    effective_from: date,
    currency: str = "USD",
    profile: GpuProfile | None = None,
    note: str = "",
    user=None,
    today: date | None = None,
) -> PriceBookEntry:
    """Add a price from a day on (prices are never edited: a change is a new entry)."""
    gpu_model = (profile.gpu_model if profile else gpu_model).strip()
    if not gpu_model:
        raise DomainError("Name the GPU model this price is for.", field="gpu_model")
    if hourly_price is None or hourly_price < 0:
        raise DomainError("The hourly price must be zero or more.", field="hourly_price")
    currency = currency.upper()
    existing = set(PriceBookEntry.objects.values_list("currency", flat=True).distinct())
    if existing and currency not in existing:
        raise DomainError(
            f"The price book is kept in {', '.join(sorted(existing))}; enter this price in that "
            "currency.",
            field="currency",
        )
    today = today or timezone.now().date()
    same_kind = PriceBookEntry.objects.filter(gpu_model=gpu_model, profile=profile)
    if same_kind.filter(effective_from=effective_from).exists():
        raise DomainError(
            f"{profile or gpu_model} already has a price from {effective_from}.",
            field="effective_from",
        )
    # Once a day is priced its cost stays: a price for something already priced starts today or
    # later. The very first price of a GPU model may be back-dated (initial setup).
    priced = PriceBookEntry.objects.filter(gpu_model=gpu_model, profile__isnull=True)
    if profile is not None:
        priced = priced | PriceBookEntry.objects.filter(profile=profile)
    if effective_from < today and priced.filter(effective_from__lte=today).exists():
        raise DomainError(
            f"{profile or gpu_model} already has a price before {today}; a change applies from "
            f"today ({today}) or a later day, so past costs are never rewritten.",
            field="effective_from",
        )
    closed_until = last_closed_day()
    if closed_until is not None and effective_from <= closed_until:
        raise DomainError(
            f"Months up to {closed_until} are closed and their statements final; a price "
            f"applies from {closed_until + timedelta(days=1)} or later.",
            field="effective_from",
        )
    with transaction.atomic():
        return PriceBookEntry.objects.create(
            gpu_model=gpu_model,
            profile=profile,
            hourly_price=hourly_price,
            currency=currency,
            effective_from=effective_from,
            note=note,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )


def _hourly_cutoff(now: datetime | None = None, keep_days: int | None = None) -> datetime:
    """Hourly rows before this are pruned (whole days, so a day's daily row stays complete)."""
    keep_days = keep_days or settings.COSTS_HOURLY_RETENTION_DAYS
    cutoff = floor_hour(now or timezone.now()) - timedelta(days=keep_days)
    return cutoff.replace(hour=0)


def prune_hourly(*, keep_days: int | None = None, now: datetime | None = None) -> int:
    """Delete hourly rows older than COSTS_HOURLY_RETENTION_DAYS; their daily sums stay, so
    costs and dashboards are unchanged (only the hourly flags look at hours, and only recent)."""
    cutoff = _hourly_cutoff(now, keep_days)
    deleted, _ = HourlyUsage.objects.filter(hour__lt=cutoff).delete()
    return deleted


def reattribute_namespaces() -> int:
    """Attribute rows stored before their namespace's environment existed (one UPDATE each)."""
    total = 0
    with connection.cursor() as cursor:
        for table in (HourlyUsage._meta.db_table, DailyUsage._meta.db_table):
            cursor.execute(
                f"UPDATE {table} u SET tenant_id = e.tenant_id, environment_id = e.id "  # noqa: S608
                "FROM tenants_environment e WHERE u.namespace = e.namespace "
                "AND u.cluster_id = e.cluster_id AND u.environment_id IS NULL AND u.namespace <> ''"
            )
            total += cursor.rowcount
    return total
