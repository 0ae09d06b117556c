"""SLO arithmetic on daily SLI rollups: attainment, error budget, burn rates, the day a budget
ran out. Pure functions: plain numbers in, an `SloStatus` out.

The error budget is request-based (the SRE workbook's): over the window, (1 - target) of the
requests may fail. "Remaining" is the unspent share of it; in minutes it is that share of
(1 - target) x the window's minutes, the time the service could still be fully down.
"""

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta


def histogram_quantile(q: float, buckets: dict[str, float]) -> float | None:
    """Prometheus's histogram_quantile over cumulative bucket counts keyed by `le`.
    None where Prometheus answers NaN (no +Inf bucket, no observations)."""
    if "+Inf" not in buckets or len(buckets) < 2:
        return None
    ordered = sorted(((float(le), count) for le, count in buckets.items()), key=lambda b: b[0])
    # counts must not decrease with the bound (Prometheus fixes rounding noise the same way)
    fixed, highest = [], 0.0
    for bound, count in ordered:
        highest = max(highest, count)
        fixed.append((bound, highest))
    observations = fixed[-1][1]
    if observations <= 0:
        return None
    rank = q * observations
    index = next(i for i, (_, count) in enumerate(fixed) if count >= rank)
    if index == len(fixed) - 1:
        return fixed[-2][0]
    end, count = fixed[index]
    if index == 0 and end <= 0:
        return end
    start = 0.0
    if index > 0:
        start, below = fixed[index - 1]
        count -= below
        rank -= below
    return start + (end - start) * (rank / count)


def merge_buckets(days) -> dict[str, float]:
    total: dict[str, float] = {}
    for buckets in days:
        for le, count in buckets.items():
            total[le] = total.get(le, 0.0) + count
    return total


@dataclass(frozen=True)
class DayRollup:
    day: date
    requests: float
    errors: float
    latency_buckets: dict = field(default_factory=dict, hash=False)


@dataclass
class SloStatus:
    availability_target_pct: float | None
    latency_target_ms: int | None
    window_days: int
    window_start: date
    window_end: date  # inclusive: today
    days_with_data: int = 0
    requests: float = 0.0
    errors: float = 0.0
    attainment_pct: float | None = None
    budget_remaining_pct: float | None = None
    budget_remaining_minutes: float | None = None
    budget_total_minutes: float | None = None
    p99_latency_ms: float | None = None
    burn_rate_1h: float | None = None
    burn_rate_6h: float | None = None
    attainment_24h_pct: float | None = None
    p99_latency_24h_ms: float | None = None
    budget_exhausted_on: date | None = None
    days_over_budget: list[date] = field(default_factory=list)
    missing_days: list[date] = field(default_factory=list)
    state: str = "no-data"
    as_of: datetime | None = None
    last_error: str = ""

    @property
    def has_data(self) -> bool:
        return self.days_with_data > 0 and self.requests > 0

    @property
    def availability_met(self) -> bool | None:
        if self.availability_target_pct is None or self.attainment_pct is None:
            return None
        return self.attainment_pct >= self.availability_target_pct

    @property
    def latency_met(self) -> bool | None:
        if self.latency_target_ms is None or self.p99_latency_ms is None:
            return None
        return self.p99_latency_ms <= self.latency_target_ms

    @property
    def met(self) -> bool | None:
        checks = [c for c in (self.availability_met, self.latency_met) if c is not None]
        return all(checks) if checks else None

    @property
    def sort_key(self) -> float:
        """Lowest budget first; no data before everything (it is a finding)."""
        if self.budget_remaining_pct is None:
            return -math.inf
        return self.budget_remaining_pct


def budget_ratio(availability_target_pct: float) -> float:
    return (100.0 - availability_target_pct) / 100.0


def burn_rate(error_ratio: float | None, availability_target_pct: float | None) -> float | None:
    """Error ratio / allowed error ratio: what the burn-rate alerts compare with 14.4 and 6."""
    if error_ratio is None or availability_target_pct is None:
        return None
    allowed = budget_ratio(availability_target_pct)
    return error_ratio / allowed if allowed > 0 else None


def slo_status(
    *,
    availability_target_pct: float | None,
    latency_target_ms: int | None,
    window_days: int,
    today: date,
    days: list[DayRollup],
    error_ratio_1h: float | None = None,
    error_ratio_6h: float | None = None,
    error_ratio_24h: float | None = None,
    p99_latency_24h_ms: float | None = None,
) -> SloStatus:
    """The status over the `window_days` UTC days ending with `today` (included, partial)."""
    start = today - timedelta(days=window_days - 1)
    status = SloStatus(
        availability_target_pct=availability_target_pct,
        latency_target_ms=latency_target_ms,
        window_days=window_days,
        window_start=start,
        window_end=today,
    )
    in_window = sorted((d for d in days if start <= d.day <= today), key=lambda d: d.day)
    present = {d.day for d in in_window if d.requests > 0}
    status.missing_days = [
        start + timedelta(days=i)
        for i in range(window_days)
        if start + timedelta(days=i) not in present
    ]
    status.days_with_data = len(present)
    status.requests = sum(d.requests for d in in_window)
    status.errors = sum(d.errors for d in in_window)
    status.burn_rate_1h = burn_rate(error_ratio_1h, availability_target_pct)
    status.burn_rate_6h = burn_rate(error_ratio_6h, availability_target_pct)
    if error_ratio_24h is not None:
        status.attainment_24h_pct = 100.0 * (1.0 - error_ratio_24h)
    status.p99_latency_24h_ms = p99_latency_24h_ms
    if status.requests > 0:
        status.attainment_pct = 100.0 * (1.0 - status.errors / status.requests)
    p99 = histogram_quantile(0.99, merge_buckets(d.latency_buckets for d in in_window))
    status.p99_latency_ms = p99 * 1000 if p99 is not None else None
    if availability_target_pct is not None and status.requests > 0:
        allowed = budget_ratio(availability_target_pct)
        error_ratio = status.errors / status.requests
        status.budget_remaining_pct = 100.0 * (1.0 - error_ratio / allowed)
        status.budget_total_minutes = allowed * window_days * 24 * 60
        status.budget_remaining_minutes = (
            status.budget_remaining_pct / 100.0 * status.budget_total_minutes
        )
        budget_requests = allowed * status.requests
        spent = 0.0
        for d in in_window:
            spent += d.errors
            if status.budget_exhausted_on is None and spent > budget_requests:
                status.budget_exhausted_on = d.day
            if d.requests > 0 and d.errors / d.requests > allowed:
                status.days_over_budget.append(d.day)
    return status
