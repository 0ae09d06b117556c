"""A synthetic request/latency dataset of known error ratios and latency distributions, and an
independent oracle of what the SLIs over it are (from the raw samples, with Prometheus's
documented increase() extrapolation; no code of the portal is used).

Workload `ranker` serves in search-staging and search-prod; a decoy `ranker-v2` in
search-staging fails a lot and must never count for `ranker`. Staging has two whole days
without samples and a three-hour scrape gap; its last six hours are an incident.
"""

import bisect
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from portal.testing.prometheus import OpenMetrics

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # "now": noon, today is a partial day
START = END - timedelta(days=30, hours=12)
STEP = 300  # one sample per 5 minutes: a month of data backfills in seconds
BOUNDS = ["0.05", "0.1", "0.25", "0.5", "1", "+Inf"]
CALM = [0.50, 0.80, 0.95, 0.985, 0.998, 1.0]  # cumulative share of requests per bucket
SLOW = [0.30, 0.60, 0.85, 0.95, 0.980, 1.0]
MISSING_DAYS = {END.date() - timedelta(days=9), END.date() - timedelta(days=8)}
GAP = (END - timedelta(days=4, hours=-3), END - timedelta(days=4, hours=-6))  # 15:00-18:00
INCIDENT_FROM = END - timedelta(hours=6)


@dataclass
class Target:
    namespace: str
    pod: str
    samples: dict[str, list[tuple[int, float]]] = field(default_factory=dict)


def _day_index(ts: datetime) -> int:
    return (ts.date() - START.date()).days


def _shape(target: str, ts: datetime) -> tuple[float, float, list[float]]:
    """Requests per minute, error ratio and latency distribution of a minute."""
    d = _day_index(ts)
    if target == "decoy":
        return 50.0, 0.30, SLOW
    rpm = 600.0 + 40.0 * (d % 5) if target == "staging" else 1200.0 + 25.0 * (d % 3)
    if target == "staging":
        if ts >= INCIDENT_FROM:
            return rpm, 0.02, SLOW
        if d % 7 == 3:
            return rpm, 0.004, SLOW  # a bad day: 4x the budget rate, slower
        return rpm, 0.0004, CALM
    return rpm, 0.0002 if d % 2 else 0.0006, CALM


def _has_sample(target: str, ts: datetime) -> bool:
    if target != "staging":
        return True
    if ts.date() in MISSING_DAYS:
        return False
    return not (GAP[0] <= ts < GAP[1])


def generate() -> tuple[OpenMetrics, dict[str, Target]]:
    targets = {
        "staging": Target("search-staging", "ranker-7d9f8c6b5d-abcde"),
        "prod": Target("search-prod", "ranker-5c8d7f6b9a-fghij"),
        "decoy": Target("search-staging", "ranker-v2-6b7c8d9f5a-klmno"),
    }
    metrics = OpenMetrics()
    for key, target in targets.items():
        ok = errors = 1_000_000.0  # counters far from zero: no start-of-series clamp
        buckets = [2_000_000.0] * len(BOUNDS)
        ts = START + timedelta(seconds=30)
        while ts < END:
            rpm, ratio, dist = _shape(key, ts)
            per_step = rpm * STEP / 60
            ok += per_step * (1 - ratio)
            errors += per_step * ratio
            for i, share in enumerate(dist):
                buckets[i] += per_step * share
            if _has_sample(key, ts):
                t = int(ts.timestamp())
                labels = {"namespace": target.namespace, "pod": target.pod}
                series = [
                    ("inference_requests_total", {**labels, "code": "200"}, ok),
                    ("inference_requests_total", {**labels, "code": "503"}, errors),
                ] + [
                    ("inference_request_duration_seconds_bucket", {**labels, "le": le}, b)
                    for le, b in zip(BOUNDS, buckets, strict=True)
                ]
                for metric, series_labels, value in series:
                    metrics.add(metric, series_labels, t, value, kind="counter")
                    name = (
                        metric
                        + "|"
                        + ",".join(f"{k}={v}" for k, v in sorted(series_labels.items()))
                    )
                    target.samples.setdefault(name, []).append((t, value))
            ts += timedelta(seconds=STEP)
    return metrics, targets


# --- the oracle ----------------------------------------------------------------------------


def increase(samples: list[tuple[int, float]], start: float, end: float) -> float | None:
    """Prometheus's increase() over (start, end], from its documented extrapolation rules."""
    times = [t for t, _ in samples]
    inside = samples[bisect.bisect_right(times, start) : bisect.bisect_right(times, end)]
    if len(inside) < 2:
        return None
    first_t, first_v = inside[0]
    last_t, last_v = inside[-1]
    delta = last_v - first_v  # our counters never reset
    sampled = last_t - first_t
    average = sampled / (len(inside) - 1)
    threshold = average * 1.1
    to_start = first_t - start
    to_end = end - last_t
    extrapolate = sampled
    extrapolate += to_start if to_start < threshold else average / 2
    extrapolate += to_end if to_end < threshold else average / 2
    return delta * extrapolate / sampled


def _sum(target: Target, metric: str, want, start: float, end: float) -> float | None:
    values = [
        increase(samples, start, end)
        for name, samples in target.samples.items()
        if name.startswith(metric + "|") and want(name)
    ]
    values = [v for v in values if v is not None]
    return sum(values) if values else None


def requests(target: Target, start: float, end: float) -> float | None:
    return _sum(target, "inference_requests_total", lambda n: True, start, end)


def errors(target: Target, start: float, end: float) -> float | None:
    return _sum(target, "inference_requests_total", lambda n: "code=503" in n, start, end)


def buckets(target: Target, start: float, end: float) -> dict[str, float]:
    out = {}
    for le in BOUNDS:
        value = _sum(
            target,
            "inference_request_duration_seconds_bucket",
            lambda n, le=le: f"le={le}," in n,
            start,
            end,
        )
        if value is not None:
            out[le] = value
    return out


def quantile(q: float, cumulative: dict[str, float]) -> float:
    """Linear interpolation inside the bucket holding the q-th request (lower bound 0)."""
    bounds = sorted(cumulative, key=float)
    total = cumulative["+Inf"]
    rank = q * total
    lower, below = 0.0, 0.0
    for le in bounds:
        if cumulative[le] >= rank:
            if le == "+Inf":
                return float(bounds[-2])
            return lower + (float(le) - lower) * (rank - below) / (cumulative[le] - below)
        lower, below = float(le), cumulative[le]
    raise AssertionError("unreachable")
