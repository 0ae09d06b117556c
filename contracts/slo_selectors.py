"""Reads of measured SLOs: the status of a workload per environment, a tenant's roll-up and the
SRE's list by error budget remaining. From stored rollups only: pages never query Prometheus.
A page costs the same few queries whatever the number of workloads."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils import timezone

from workloads.models import Template, WorkloadEnvironment

from .models import InterfaceDocument, SliDaily, SloSnapshot
from .slo_math import DayRollup, SloStatus, slo_status


@dataclass
class WorkloadSlo:
    deployment: WorkloadEnvironment
    status: SloStatus

    @property
    def workload(self):
        return self.deployment.workload

    @property
    def environment(self):
        return self.deployment.environment


@dataclass
class TenantSlo:
    rows: list[WorkloadSlo] = field(default_factory=list)

    @property
    def measured(self) -> list[WorkloadSlo]:
        return [r for r in self.rows if r.status.has_data]

    @property
    def no_data(self) -> list[WorkloadSlo]:
        return [r for r in self.rows if not r.status.has_data or r.status.state == "failing"]

    @property
    def missing_target(self) -> list[WorkloadSlo]:
        return [r for r in self.measured if r.status.met is False]

    @property
    def worst(self) -> WorkloadSlo | None:
        budgeted = [r for r in self.measured if r.status.budget_remaining_pct is not None]
        return min(budgeted, key=lambda r: r.status.budget_remaining_pct) if budgeted else None


def _statuses(deployments, today: date) -> list[WorkloadSlo]:
    deployments = list(deployments)
    documents = {
        d.workload_id: d
        for d in InterfaceDocument.objects.filter(
            workload_id__in={dep.workload_id for dep in deployments}
        )
    }
    deployments = [
        dep
        for dep in deployments
        if (doc := documents.get(dep.workload_id))
        and (doc.availability_pct is not None or doc.p99_latency_ms)
    ]
    if not deployments:
        return []
    longest = max(documents[dep.workload_id].slo_window_days for dep in deployments)
    keys = {(dep.workload_id, dep.environment_id) for dep in deployments}
    days: dict[tuple, list[DayRollup]] = defaultdict(list)
    for row in SliDaily.objects.filter(
        workload_id__in={k[0] for k in keys},
        environment_id__in={k[1] for k in keys},
        day__gte=today - timedelta(days=longest - 1),
    ).only("workload_id", "environment_id", "day", "requests", "errors", "latency_buckets"):
        days[(row.workload_id, row.environment_id)].append(
            DayRollup(row.day, row.requests, row.errors, row.latency_buckets)
        )
    snapshots = {
        (s.workload_id, s.environment_id): s
        for s in SloSnapshot.objects.filter(workload_id__in={k[0] for k in keys})
    }
    out = []
    for dep in deployments:
        doc = documents[dep.workload_id]
        key = (dep.workload_id, dep.environment_id)
        snap = snapshots.get(key)
        status = slo_status(
            availability_target_pct=(
                float(doc.availability_pct) if doc.availability_pct is not None else None
            ),
            latency_target_ms=doc.p99_latency_ms,
            window_days=doc.slo_window_days,
            today=today,
            days=days.get(key, []),
            error_ratio_1h=snap.error_ratio_1h if snap else None,
            error_ratio_6h=snap.error_ratio_6h if snap else None,
            error_ratio_24h=snap.error_ratio_24h if snap else None,
            p99_latency_24h_ms=snap.p99_latency_24h_ms if snap else None,
        )
        if snap:
            status.state = snap.state
            status.as_of = snap.as_of
            status.last_error = snap.last_error
        out.append(WorkloadSlo(dep, status))
    return out


def _deployments():
    return (
        WorkloadEnvironment.objects.filter(workload__template=Template.INFERENCE)
        .select_related("workload__tenant", "environment__cluster")
        .order_by("workload__name", "environment__name")
    )


def workload_slo(workload, *, today: date | None = None) -> list[WorkloadSlo]:
    today = today or timezone.now().date()
    return _statuses(_deployments().filter(workload=workload), today)


def environment_slo(workload, environment_name: str, *, today=None) -> SloStatus | None:
    for row in workload_slo(workload, today=today):
        if row.environment.name == environment_name:
            return row.status
    return None


def tenant_slo(tenant, *, today: date | None = None) -> TenantSlo:
    today = today or timezone.now().date()
    return TenantSlo(_statuses(_deployments().filter(workload__tenant=tenant), today))


def slo_overview(*, today: date | None = None) -> tuple[list[WorkloadSlo], list[WorkloadSlo]]:
    """For SREs: (measured, lowest budget remaining first; without data or failing pulls)."""
    today = today or timezone.now().date()
    rows = _statuses(_deployments(), today)
    broken = [r for r in rows if not r.status.has_data or r.status.state == "failing"]
    broken_ids = {id(r) for r in broken}
    measured = sorted(
        (r for r in rows if id(r) not in broken_ids),
        key=lambda r: (r.status.sort_key, r.workload.name),
    )
    return measured, broken


def staging_slo_evidence(workload, *, now=None):  # -> workloads.gates.SloEvidence | None
    """The evidence the prod gate needs (workloads.services.SloEvidence), or None when the
    workload declares no SLO to measure. Below target: availability or P99 latency of the
    last 24 h misses the document's target, or staging has no SLI data at all."""
    from workloads.gates import SloEvidence

    from .models import SloGateOverride

    now = now or timezone.now()
    status = environment_slo(workload, "staging", today=now.date())
    if status is None:
        return None
    parts, below = [], False
    if status.as_of is None and status.state != "failing" and not status.last_error:
        # never pulled (no Prometheus on the cluster yet, or a new workload): said, not refused
        return SloEvidence(
            below_target=False,
            summary="staging SLO not measured yet (no SLI pull has run for it)",
        )
    if status.state == "failing" or status.attainment_24h_pct is None:
        below = True
        reason = status.last_error or "no requests measured"
        parts.append(f"no SLI data for staging over the last 24 h ({reason})")
    else:
        if status.availability_target_pct is not None:
            missed = status.attainment_24h_pct < status.availability_target_pct
            below |= missed
            parts.append(
                f"availability {status.attainment_24h_pct:.3f} % "
                f"{'<' if missed else '>='} target {status.availability_target_pct:g} %"
            )
        if status.latency_target_ms and status.p99_latency_24h_ms is not None:
            missed = status.p99_latency_24h_ms > status.latency_target_ms
            below |= missed
            parts.append(
                f"P99 latency {status.p99_latency_24h_ms:.0f} ms "
                f"{'>' if missed else '<='} target {status.latency_target_ms} ms"
            )
    summary = "staging SLO over the last 24 h: " + ", ".join(parts)
    override = ""
    if below:
        staging = (
            WorkloadEnvironment.objects.filter(workload=workload, environment__name="staging")
            .select_related("current_revision")
            .first()
        )
        number = staging.current_revision.number if staging else None
        granted = (
            SloGateOverride.objects.filter(
                workload=workload, revision_number=number, expires_at__gt=now
            )
            .select_related("created_by")
            .first()
        )
        if granted:
            who = granted.created_by.username if granted.created_by else "a former SRE"
            override = f"SRE {who} ({granted.reason})"
    return SloEvidence(below_target=below, summary=summary, override=override)
