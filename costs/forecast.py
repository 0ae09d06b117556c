"""Forecasts and projections as pure functions: month-end cost, "what at 10x", waste flags."""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

UNDER_UTILIZED = 0.60  # tenants below this utilization are flagged
IDLE_ALLOCATION = 0.05  # GPUs under this utilization for 24 hours are flagged
FORGOTTEN_UTILIZATION = 0.20
RIGHT_SIZE_FRACTION = 0.5  # peak frame buffer and utilization under half of what was requested


def month_bounds(day: date) -> tuple[date, date]:
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)


def trailing_window(end: date, days: int = 7) -> tuple[date, date]:
    return end - timedelta(days=days - 1), end


def days_observed(first_day: date | None, window_start: date, end: date) -> int:
    """Days of the trailing window the average is taken over: from the window start, or from
    the first day with usage when the tenant started inside the window."""
    if first_day is None:
        return 0
    return (end - max(first_day, window_start)).days + 1


def month_end_forecast(
    *, month_to_date: Decimal, trailing_cost: Decimal, trailing_days: int, as_of: date
) -> Decimal:
    """Month-to-date cost plus the trailing daily average for every day left in the month."""
    _, last = month_bounds(as_of)
    remaining = (last - as_of).days
    if trailing_days <= 0:
        return month_to_date
    return month_to_date + trailing_cost / trailing_days * remaining


@dataclass(frozen=True)
class Projection:
    profile: str
    units_now: float  # average units the tenant holds
    units_at_scale: float
    cluster_units_now: float  # average units every tenant holds on the cluster
    capacity: int
    headroom: float  # capacity minus what the cluster would use at scale
    runs_out: bool

    @property
    def load_at_scale(self) -> float:
        """Share of capacity the cluster would need (above 1 = does not fit)."""
        if self.capacity <= 0:
            return float("inf")
        return (self.cluster_units_now + self.units_at_scale - self.units_now) / self.capacity


def project_scale(
    *,
    tenant_units: dict[str, float],
    cluster_units: dict[str, float],
    capacity: dict[str, int],
    factor: float = 10.0,
) -> list[Projection]:
    """Which profile runs out first if the tenant grew `factor` times, others unchanged.
    Sorted so the first item is the profile that runs out first (highest load)."""
    projections = []
    for profile, units in tenant_units.items():
        if units <= 0:
            continue
        at_scale = units * factor
        others = max(cluster_units.get(profile, 0.0) - units, 0.0)
        cap = capacity.get(profile, 0)
        projections.append(
            Projection(
                profile=profile,
                units_now=units,
                units_at_scale=at_scale,
                cluster_units_now=others + units,
                capacity=cap,
                headroom=cap - others - at_scale,
                runs_out=others + at_scale > cap,
            )
        )
    return sorted(projections, key=lambda p: p.load_at_scale, reverse=True)


@dataclass(frozen=True)
class Flag:
    kind: str
    subject: str
    message: str


def flag_under_utilized(*, tenant: str, utilization: float, gpu_hours: float) -> list[Flag]:
    if gpu_hours > 0 and utilization < UNDER_UTILIZED:
        return [
            Flag(
                "under-utilized",
                tenant,
                f"{tenant} used {utilization:.0%} of its allocated GPU-hours "
                f"(under {UNDER_UTILIZED:.0%}): release quota or consolidate workloads.",
            )
        ]
    return []


def flag_idle_allocations(groups: list[dict], hours: int = 24) -> list[Flag]:
    """`groups`: per (namespace, workload, resource) over the last `hours` hours: keys
    namespace, workload, resource_name, hours, unit_hours, used_unit_hours."""
    flags = []
    for g in groups:
        if g["hours"] < hours or g["unit_hours"] <= 0:
            continue
        util = g["used_unit_hours"] / g["unit_hours"]
        if util < IDLE_ALLOCATION:
            who = "/".join(x for x in (g["namespace"], g["workload"]) if x)
            flags.append(
                Flag(
                    "idle-allocation",
                    who,
                    f"{who} held {g['unit_hours'] / hours:.1f} {g['resource_name']} for "
                    f"{hours} hours at {util:.1%} utilization: scale it down or release it.",
                )
            )
    return flags


def flag_forgotten_jobs(groups: list[dict], min_days: int) -> list[Flag]:
    """`groups`: per workload without inference traffic: keys namespace, workload, days
    (days with allocation), gpu_hours, used_gpu_hours, requests."""
    flags = []
    for g in groups:
        if not g["workload"] or g["requests"] > 0 or g["days"] <= min_days or not g["gpu_hours"]:
            continue
        util = g["used_gpu_hours"] / g["gpu_hours"]
        if util < FORGOTTEN_UTILIZATION:
            flags.append(
                Flag(
                    "forgotten-job",
                    f"{g['namespace']}/{g['workload']}",
                    f"{g['workload']} in {g['namespace']} has run {g['days']} days at "
                    f"{util:.0%} utilization: is this experiment still needed?",
                )
            )
    return flags


def flag_right_sizing(groups: list[dict]) -> list[Flag]:
    """`groups`: per (namespace, workload, resource): keys namespace, workload, resource_name,
    fb_peak_mib, memory_gb (per unit of the profile, 0 if unknown), peak_utilization."""
    flags = []
    for g in groups:
        memory_mib = (g.get("memory_gb") or 0) * 1024
        if not memory_mib or not g["workload"]:
            continue
        fb_share = g["fb_peak_mib"] / memory_mib
        if fb_share < RIGHT_SIZE_FRACTION and g["peak_utilization"] < RIGHT_SIZE_FRACTION:
            flags.append(
                Flag(
                    "right-size",
                    f"{g['namespace']}/{g['workload']}",
                    f"{g['workload']} peaked at {g['fb_peak_mib'] / 1024:.1f} GiB of "
                    f"{memory_mib / 1024:.0f} GiB and {g['peak_utilization']:.0%} utilization "
                    f"on {g['resource_name']}: a smaller profile (e.g. a MIG slice) would do.",
                )
            )
    return flags
