"""The SLI pull: for every serving workload environment on a cluster whose interface document
declares an SLO, read its availability and latency SLIs from the cluster's Prometheus (the
PromQL of contracts/sli.py, the same selectors as its alert rules) and store them as daily
rollups plus a snapshot of the burn rates the alerts compute now.

Same client and failure rules as the usage pull (clusters.prometheus, COSTS_PROMETHEUS_*):
transient errors are retried by the client and then by the task; a failure stores nothing of
the workload it was pulling and marks the cluster's snapshots failing, so a broken SLI shows.
Idempotent: complete days are pulled once, today's partial day is replaced on every pull.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clusters.models import Cluster
from clusters.prometheus import PrometheusClient, PrometheusError
from workloads.models import Template, WorkloadEnvironment

from . import sli
from .models import InterfaceDocument, SliDaily, SloSnapshot

DAY = timedelta(days=1)


@dataclass
class SliPullResult:
    cluster: str
    targets: int = 0
    days: int = 0
    queries: int = 0


def targets_on_cluster(cluster_id: int) -> list[tuple[WorkloadEnvironment, InterfaceDocument]]:
    """Serving workload environments on the cluster whose document declares an SLO."""
    deployments = list(
        WorkloadEnvironment.objects.filter(
            environment__cluster_id=cluster_id, workload__template=Template.INFERENCE
        )
        .select_related("workload", "environment")
        .order_by("workload_id", "environment_id")
    )
    documents = {
        d.workload_id: d
        for d in InterfaceDocument.objects.filter(
            workload_id__in={dep.workload_id for dep in deployments}
        )
    }
    out = []
    for dep in deployments:
        document = documents.get(dep.workload_id)
        if document and (document.availability_pct is not None or document.p99_latency_ms):
            out.append((dep, document))
    return out


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _scalar(series) -> float | None:
    if not series or not series[0].points:
        return None
    return series[0].points[-1][1]


def _pull_target(client, dep, document, now: datetime) -> tuple[list[dict], dict, int]:
    """The day rows and the snapshot of one workload environment (no writes)."""
    ns, name = dep.environment.namespace, dep.workload.name
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=document.slo_window_days - 1)
    last_complete = (
        SliDaily.objects.filter(workload=dep.workload, environment=dep.environment, complete=True)
        .order_by("-day")
        .values_list("day", flat=True)
        .first()
    )
    if last_complete is not None:
        first = max(first, last_complete + DAY)
    days: dict[date, dict] = {}
    queries = 0

    def day_row(day: date, complete: bool) -> dict:
        return days.setdefault(
            day,
            {"day": day, "requests": 0.0, "errors": 0.0, "buckets": {}, "complete": complete},
        )

    def collect(answers: dict[str, list], day_of, complete: bool) -> None:
        for key in ("requests", "errors"):
            for series in answers[key]:
                for ts, value in series.points:
                    day_row(day_of(ts), complete)[key] = value
        for series in answers["buckets"]:
            le = series.label("le")
            for ts, value in series.points:
                day_row(day_of(ts), complete)["buckets"][le] = value

    counts = {
        "requests": sli.requests_increase,
        "errors": sli.errors_increase,
        "buckets": sli.latency_buckets_increase,
    }
    if first < today:
        # evaluated at each midnight after a missing complete day: the value at T is day T-1d
        answers = {}
        for key, build in counts.items():
            answers[key] = client.query_range(
                build(ns, name, "1d"),
                start=_midnight(first + DAY),
                end=_midnight(today),
                step=86400,
            )
            queries += 1
        collect(answers, lambda ts: datetime.fromtimestamp(ts, tz=UTC).date() - DAY, True)
    elapsed = int((now - _midnight(today)).total_seconds())
    if elapsed >= 60:
        answers = {}
        for key, build in counts.items():
            answers[key] = client.query(build(ns, name, f"{elapsed}s"), at=now)
            queries += 1
        collect(answers, lambda ts: today, False)
    snapshot = {}
    for key, window in (
        ("error_ratio_1h", "1h"),
        ("error_ratio_6h", "6h"),
        ("error_ratio_24h", "24h"),
    ):
        # `>= 0` drops the NaN of a window without requests: no data, not a perfect score
        snapshot[key] = _scalar(client.query(f"{sli.error_ratio(ns, name, window)} >= 0", at=now))
        queries += 1
    p99 = _scalar(client.query(f"{sli.p99_latency_seconds(ns, name, '24h')} >= 0", at=now))
    queries += 1
    snapshot["p99_latency_24h_ms"] = p99 * 1000 if p99 is not None else None
    rows = [r for r in days.values() if r["requests"] > 0 or r["buckets"]]
    return rows, snapshot, queries


def _store(dep, rows: list[dict], snapshot: dict, now: datetime) -> None:
    with transaction.atomic():
        # today's partial row is replaced; a complete day is written once
        SliDaily.objects.filter(
            workload=dep.workload, environment=dep.environment, complete=False
        ).delete()
        for r in rows:
            SliDaily.objects.update_or_create(
                workload=dep.workload,
                environment=dep.environment,
                day=r["day"],
                defaults={
                    "requests": r["requests"],
                    "errors": r["errors"],
                    "latency_buckets": r["buckets"],
                    "complete": r["complete"],
                    "pulled_at": now,
                },
            )
        has_data = snapshot["error_ratio_24h"] is not None or any(r["requests"] for r in rows)
        SloSnapshot.objects.update_or_create(
            workload=dep.workload,
            environment=dep.environment,
            defaults={
                **snapshot,
                "state": SloSnapshot.State.OK if has_data else SloSnapshot.State.NO_DATA,
                "as_of": now,
                "last_attempt_at": now,
                "last_error": "",
            },
        )


def _record_failure(targets, exc: Exception, now: datetime) -> None:
    with transaction.atomic():
        for dep, _ in targets:
            SloSnapshot.objects.update_or_create(
                workload=dep.workload,
                environment=dep.environment,
                defaults={
                    "state": SloSnapshot.State.FAILING,
                    "last_attempt_at": now,
                    "last_error": str(exc)[:2000],
                },
            )


def pull_slis(
    *, cluster_id: int, now: datetime | None = None, client: PrometheusClient | None = None
) -> SliPullResult:
    """Pull the SLIs of every SLO-bearing workload environment on one cluster."""
    now = now or timezone.now()
    cluster = Cluster.objects.get(pk=cluster_id)
    targets = targets_on_cluster(cluster_id)
    result = SliPullResult(cluster=cluster.name, targets=len(targets))
    if not targets:
        return result
    try:
        client = client or PrometheusClient.for_cluster(
            cluster,
            retries=settings.COSTS_PROMETHEUS_RETRIES,
            backoff=settings.COSTS_PROMETHEUS_BACKOFF,
            timeout=settings.COSTS_PROMETHEUS_TIMEOUT,
        )
        for dep, document in targets:
            rows, snapshot, queries = _pull_target(client, dep, document, now)
            result.queries += queries
            _store(dep, rows, snapshot, now)
            result.days += len(rows)
    except PrometheusError as exc:
        _record_failure(targets, exc, now)
        raise
    return result
