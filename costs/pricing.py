"""Cost math as pure functions: price resolution from the effective-dated price book, and the
numbers every cost view shows (GPU-hours, utilization, allocated and idle cost, unit costs)."""

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from fractions import Fraction

FRACTION_PLACES = Decimal("1e-18")
_ROUNDING = Fraction(1, 20000)  # the catalog keeps fractions to 4 decimals (half a step)


def exact_fraction(fraction: Decimal, *, replicas: int = 1) -> Decimal:
    """The exact share of a GPU that a catalog fraction stands for, to 18 decimals.

    The catalog stores 4 decimals (1/7 as 0.1429, off by 0.03%). A fraction within rounding of
    1/replicas (time-slicing, MPS) or of a ratio with a denominator up to 8 (MIG slices: 7ths,
    A30's 4ths, 8ths) is that ratio; anything else is taken as written.
    """
    written = Fraction(fraction)
    for candidate in (Fraction(1, max(replicas, 1)), written.limit_denominator(8)):
        if abs(candidate - written) <= _ROUNDING:
            written = candidate
            break
    with localcontext() as ctx:
        ctx.prec = 40
        return (Decimal(written.numerator) / Decimal(written.denominator)).quantize(FRACTION_PLACES)


@dataclass(frozen=True)
class Price:
    gpu_model: str
    profile_id: int | None
    hourly_price: Decimal
    currency: str
    effective_from: date


@dataclass(frozen=True)
class ProfileInfo:
    id: int
    gpu_model: str
    gpu_fraction: Decimal


class PriceBook:
    """The price book at any day: per-profile override first, else the GPU model's price times
    the profile's fraction of a GPU (MIG slices, time-sliced and MPS replicas)."""

    def __init__(self, prices: Iterable[Price]):
        self._by_model: dict[str, list[Price]] = {}
        self._by_profile: dict[int, list[Price]] = {}
        for price in sorted(prices, key=lambda p: p.effective_from):
            if price.profile_id is None:
                self._by_model.setdefault(price.gpu_model, []).append(price)
            else:
                self._by_profile.setdefault(price.profile_id, []).append(price)
        self.currencies = sorted(
            {
                p.currency
                for ps in (*self._by_model.values(), *self._by_profile.values())
                for p in ps
            }
        )

    @staticmethod
    def _at(prices: list[Price] | None, day: date) -> Price | None:
        if not prices:
            return None
        i = bisect_right([p.effective_from for p in prices], day)
        return prices[i - 1] if i else None

    def unit_price(self, profile: ProfileInfo, day: date) -> Decimal | None:
        """Hourly price of one unit of `profile` on `day`; None when nothing is priced yet."""
        return self.price_of(profile.id, profile.gpu_model, profile.gpu_fraction, day)

    def price_of(
        self, profile_id: int | None, gpu_model: str, fraction: Decimal | None, day: date
    ) -> Decimal | None:
        """Hourly price of one unit on `day` from the terms recorded with the usage: the
        profile's override, else the GPU model's price times the exact fraction. None when the
        usage has no profile (unknown product) or nothing is priced yet."""
        if profile_id is not None:
            override = self._at(self._by_profile.get(profile_id), day)
            if override is not None:
                return override.hourly_price
        if not gpu_model or fraction is None:
            return None
        model = self._at(self._by_model.get(gpu_model), day)
        if model is not None:
            return model.hourly_price * fraction
        return None

    def currency(self, default: str = "USD") -> str:
        return self.currencies[0] if self.currencies else default

    def breakpoints(self) -> list[date]:
        """Every day on which some price changes: costs are constant between two of them."""
        days = {p.effective_from for ps in self._by_model.values() for p in ps}
        days |= {p.effective_from for ps in self._by_profile.values() for p in ps}
        return sorted(days)


@dataclass
class CostLine:
    """Sums for one group (a tenant, an environment, a workload, a day...)."""

    key: object = None
    unit_hours: float = 0.0
    gpu_hours: float = 0.0
    used_gpu_hours: float = 0.0
    requests: float = 0.0
    runs: float = 0.0
    cost: Decimal = Decimal(0)
    cost_used: Decimal = Decimal(0)
    unpriced_gpu_hours: float = 0.0
    burst_gpu_hours: float = 0.0  # of gpu_hours: above guaranteed quota (borrowed)
    burst_cost: Decimal = Decimal(0)  # of cost: what the burst hours cost (at the burst factor)
    first_day: date | None = None  # first day with usage in the group

    def add(
        self,
        *,
        unit_hours: float,
        gpu_hours: float,
        used_unit_hours: float,
        used_gpu_hours: float,
        requests: float,
        unit_price: Decimal | None,
        runs: float = 0.0,
        burst_unit_hours: float = 0.0,
        burst_factor: Decimal = Decimal(1),
        gpu_share: float = 1.0,
    ) -> None:
        """Burst unit-hours are part of `unit_hours`; they cost `burst_factor` x the price."""
        self.burst_gpu_hours += burst_unit_hours * gpu_share
        self.unit_hours += unit_hours
        self.gpu_hours += gpu_hours
        self.used_gpu_hours += used_gpu_hours
        self.requests += requests
        self.runs += runs
        if unit_price is None:
            self.unpriced_gpu_hours += gpu_hours
            return
        burst = Decimal(repr(burst_unit_hours))
        burst_cost = unit_price * burst * burst_factor
        self.cost += unit_price * (Decimal(repr(unit_hours)) - burst) + burst_cost
        self.burst_cost += burst_cost
        self.cost_used += unit_price * Decimal(repr(used_unit_hours))

    def merge(self, line: "CostLine") -> None:
        """Add another line's sums (not its key or first_day) to this one."""
        self.unit_hours += line.unit_hours
        self.gpu_hours += line.gpu_hours
        self.used_gpu_hours += line.used_gpu_hours
        self.requests += line.requests
        self.runs += line.runs
        self.cost += line.cost
        self.cost_used += line.cost_used
        self.unpriced_gpu_hours += line.unpriced_gpu_hours
        self.burst_gpu_hours += line.burst_gpu_hours
        self.burst_cost += line.burst_cost

    @property
    def utilization(self) -> float:
        return utilization(self.used_gpu_hours, self.gpu_hours)

    @property
    def guaranteed_gpu_hours(self) -> float:
        return self.gpu_hours - self.burst_gpu_hours

    @property
    def guaranteed_cost(self) -> Decimal:
        return self.cost - self.burst_cost

    @property
    def idle_cost(self) -> Decimal:
        return max(self.cost - self.cost_used, Decimal(0))

    @property
    def cost_per_request(self) -> Decimal | None:
        return cost_per(self.cost, self.requests)

    @property
    def cost_per_run(self) -> Decimal | None:
        """Cost of one training run (Job) of the group, when Jobs were started."""
        return cost_per(self.cost, self.runs)


def utilization(used_gpu_hours: float, gpu_hours: float) -> float:
    """Used over allocated GPU-hours, 0-1 (0 when nothing was allocated)."""
    if gpu_hours <= 0:
        return 0.0
    return min(used_gpu_hours / gpu_hours, 1.0)


def cost_per(cost: Decimal, count: float) -> Decimal | None:
    """Cost of one request / run; None when there were none."""
    if not count:
        return None
    return cost / Decimal(repr(count))


def money(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.01"))
