"""Chargeback statements: per cost center and month, the GPU usage of its tenants and
environments by GPU model and partition (allocated, idle-within-allocation and charged cost),
idle capacity, and adjustments of earlier closed months.

An open month's statement is computed from the rollups (a draft). Closing a month (finance)
stores its lines; from then on its statement is read from those lines only, so it never
changes, byte for byte. A later change to a closed month's usage (a re-pull, a product priced
late) shows up as an adjustment line in the next month closed, never as a rewrite.
"""

import calendar
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal

import pghistory
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clusters.models import Cluster
from portal import roles
from portal.domain_errors import DomainError
from tenants.models import Environment, QuotaGrant, Tenant

from .aggregates import cost_tables, pricing
from .models import MonthClose, StatementLine
from .pricing import exact_fraction

HOURS = Decimal("0.0001")
CENT = Decimal("0.01")
PLATFORM = ""  # cost center of idle capacity no tenant is charged for
ADJUSTMENT_LOOKBACK_MONTHS = 12
_KIND_ORDER = {"usage": 0, "shared": 1, "idle": 2, "adjustment": 3}
_MONEY = ("cost_allocated", "cost_idle", "cost")
_QUANTITIES = ("unit_hours", "gpu_hours", "burst_gpu_hours", "used_gpu_hours")


@dataclass
class Line:
    cost_center: str
    kind: str
    for_month: date
    tenant: str = ""
    environment: str = ""
    cluster: str = ""
    gpu_model: str = ""
    gpu_product: str = ""
    resource_name: str = ""
    unit_hours: Decimal = Decimal(0)
    gpu_hours: Decimal = Decimal(0)
    burst_gpu_hours: Decimal = Decimal(0)
    used_gpu_hours: Decimal = Decimal(0)
    cost_allocated: Decimal = Decimal(0)
    cost_idle: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)

    @property
    def key(self) -> tuple:
        """What an adjustment is matched on: everything but the amounts and the kind."""
        return (
            self.cost_center, self.tenant, self.environment, self.cluster, self.gpu_model,
            self.gpu_product, self.resource_name,
        )  # fmt: skip

    def sort_key(self) -> tuple:
        return (self.cost_center, _KIND_ORDER[self.kind], self.for_month, *self.key[1:])

    def rounded(self) -> "Line":
        for name in _QUANTITIES:
            setattr(self, name, Decimal(getattr(self, name)).quantize(HOURS))
        for name in _MONEY:
            setattr(self, name, Decimal(getattr(self, name)).quantize(CENT))
        return self


def month_bounds(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _dec(value: float) -> Decimal:
    return Decimal(repr(value))


def compute_lines(month: date) -> list[Line]:
    """The month's lines from the rollups as they are now (no adjustments): four queries."""
    first, last = month_bounds(month)
    prices = pricing()
    table = cost_tables(
        windows={"m": (first, last)},
        group_by=("tenant", "environment", "namespace", "cluster", "model", "product", "resource"),
        attributed_only=False,
        prices=prices,
    )["m"]
    tenants = {pk: (slug, cc) for pk, slug, cc in Tenant.objects.values_list(
        "pk", "slug", "cost_center")}  # fmt: skip
    envs = dict(Environment.objects.values_list("pk", "name"))
    clusters = dict(Cluster.objects.values_list("pk", "name"))
    lines = []
    for (
        tenant_id,
        env_id,
        namespace,
        cluster_id,
        model,
        product,
        resource,
    ), c in table.lines.items():
        slug, center = tenants.get(tenant_id, ("", PLATFORM))
        if tenant_id is None and namespace:
            kind, env = "usage", f"(unattributed {namespace})"
        elif tenant_id is None:
            kind, env = "idle", "(idle capacity)"
        else:
            kind, env = "usage", envs.get(env_id, "?")
        lines.append(
            Line(
                cost_center=center, kind=kind, for_month=first, tenant=slug, environment=env,
                cluster=clusters.get(cluster_id, "?"), gpu_model=model or "",
                gpu_product=product or "", resource_name=resource, unit_hours=_dec(c.unit_hours),
                gpu_hours=_dec(c.gpu_hours), used_gpu_hours=_dec(c.used_gpu_hours),
                burst_gpu_hours=_dec(c.burst_gpu_hours),
                cost_allocated=c.cost, cost_idle=c.idle_cost if kind == "usage" else c.cost,
                cost=c.cost,
            )
        )  # fmt: skip
    if settings.COSTS_IDLE_DISTRIBUTION == "guaranteed":
        lines = _share_idle_capacity(lines, tenants)
    return _merge(lines)


def guaranteed_shares(tenants: dict) -> dict[str, dict[tuple[str, str], Decimal]]:
    """cluster name -> {(tenant slug, cost center): share of the guaranteed GPU-equivalents
    granted on that cluster} from the live quota grants: one query."""
    weights: dict[str, dict[tuple[str, str], Decimal]] = defaultdict(dict)
    grants = QuotaGrant.objects.filter(revoked_at__isnull=True).values_list(
        "environment__cluster__name", "tenant_id", "guaranteed", "profile__gpu_fraction",
        "profile__replicas",
    )  # fmt: skip
    for cluster, tenant_id, units, fraction, replicas in grants:
        who = tenants.get(tenant_id)
        if who is None or not units:
            continue
        gpus = units * exact_fraction(fraction, replicas=replicas)
        weights[cluster][who] = weights[cluster].get(who, Decimal(0)) + gpus
    shares = {}
    for cluster, by_tenant in weights.items():
        total = sum(by_tenant.values())
        shares[cluster] = {who: w / total for who, w in by_tenant.items()}
    return shares


def _share_idle_capacity(lines: list[Line], tenants: dict) -> list[Line]:
    """Idle capacity of a cluster becomes "shared" lines of the tenants holding guaranteed
    quota there, pro rata; a cluster nobody has a guarantee on keeps its idle line."""
    shares = guaranteed_shares(tenants)
    out = []
    for line in lines:
        split = shares.get(line.cluster) if line.kind == "idle" else None
        if not split:
            out.append(line)
            continue
        for (slug, center), share in sorted(split.items()):
            part = Line(
                cost_center=center, kind="shared", for_month=line.for_month, tenant=slug,
                environment="(share of idle capacity)", cluster=line.cluster,
                gpu_model=line.gpu_model, gpu_product=line.gpu_product,
                resource_name=line.resource_name,
            )  # fmt: skip
            for name in (*_QUANTITIES, *_MONEY):
                setattr(part, name, Decimal(getattr(line, name)) * share)
            out.append(part)
    return out


def _merge(lines: list[Line]) -> list[Line]:
    """One line per (kind, key, month), amounts summed and rounded."""
    merged: dict[tuple, Line] = {}
    for line in lines:
        k = (line.kind, line.for_month, line.key)
        if k not in merged:
            merged[k] = line
            continue
        into = merged[k]
        for name in (*_QUANTITIES, *_MONEY):
            setattr(into, name, getattr(into, name) + getattr(line, name))
    return [line.rounded() for line in merged.values()]


def adjustments(month: date) -> list[Line]:
    """For each closed month before `month`: what its usage says now minus what its lines
    (and the adjustments recorded since) charged, per key; zero differences are left out."""
    first, _ = month_bounds(month)
    closed = list(
        MonthClose.objects.filter(month__lt=first).order_by("-month")[:ADJUSTMENT_LOOKBACK_MONTHS]
    )
    if not closed:
        return []
    months = [c.month for c in closed]
    billed: dict[tuple, Line] = {}
    for row in StatementLine.objects.filter(for_month__in=months).order_by("pk"):
        k = (row.for_month, _line_from_row(row).key)
        line = billed.setdefault(k, Line(row.cost_center, "adjustment", row.for_month))
        add_to(line, _line_from_row(row))
    out = []
    for past in months:
        now: dict[tuple, Line] = {}
        for line in compute_lines(past):
            add_to(now.setdefault(line.key, _blank(line)), line)
        keys = set(now) | {k for (m, k) in billed if m == past}
        for key in keys:
            current = now.get(key)
            charged = billed.get((past, key))
            base = current or charged
            diff = Line(
                cost_center=key[0], kind="adjustment", for_month=past, tenant=key[1],
                environment=key[2], cluster=key[3], gpu_model=key[4], gpu_product=key[5],
                resource_name=key[6],
            )  # fmt: skip
            for name in (*_QUANTITIES, *_MONEY):
                setattr(
                    diff, name,
                    (getattr(current, name) if current else 0)
                    - (getattr(charged, name) if charged else 0),
                )  # fmt: skip
            if base is not None and (diff.cost != 0 or diff.gpu_hours != 0):
                out.append(diff.rounded())
    return out


def _blank(line: Line) -> Line:
    return Line(line.cost_center, line.kind, line.for_month, *line.key[1:])


def add_to(into: Line, line: Line) -> None:
    for name in (*_QUANTITIES, *_MONEY):
        setattr(into, name, getattr(into, name) + getattr(line, name))


def _line_from_row(row: StatementLine) -> Line:
    values = {name: getattr(row, name) for name in Line.__dataclass_fields__}
    return Line(**values)


def draft(month: date) -> list[Line]:
    """An open month's statement lines as they would be closed now."""
    return sorted(compute_lines(month) + adjustments(month), key=Line.sort_key)


def close_month(*, month: date, user, today: date | None = None) -> MonthClose:
    """Store the month's lines (finance only): the month's statements never change again."""
    if not roles.is_finance(user):
        raise DomainError("Only finance closes a month.")
    today = today or timezone.now().date()
    first, last = month_bounds(month)
    if last >= today:
        raise DomainError(
            f"{first:%B %Y} is not over yet; close it on {last.replace(day=last.day):%Y-%m-%d} "
            "or later, once its last day has been pulled.",
            field="month",
        )
    later = MonthClose.objects.filter(month__gt=first).order_by("month").first()
    if later is not None:
        raise DomainError(
            f"{later.month:%B %Y} is already closed; months are closed in order.", field="month"
        )
    with transaction.atomic(), pghistory.context(user=user.pk, action="costs.close_month"):
        if MonthClose.objects.select_for_update().filter(month=first).exists():
            raise DomainError(f"{first:%B %Y} is already closed.", field="month")
        lines = draft(first)
        close = MonthClose.objects.create(month=first, currency=pricing().currency, closed_by=user)
        StatementLine.objects.bulk_create(
            StatementLine(close=close, position=i, **asdict(line)) for i, line in enumerate(lines)
        )
    return close


@dataclass
class Statement:
    month: date
    cost_center: str
    currency: str
    closed: MonthClose | None
    lines: list[Line]

    @property
    def total(self) -> Line:
        total = Line(self.cost_center, "usage", self.month)
        for line in self.lines:
            add_to(total, line)
        return total

    @property
    def cost_centers(self) -> list[str]:
        return sorted({line.cost_center for line in self.lines})


def statement(*, month: date, cost_center: str | None) -> Statement:
    """A cost center's statement (every cost center's with None): stored lines for a closed
    month, a draft otherwise."""
    first, _ = month_bounds(month)
    closed = MonthClose.objects.filter(month=first).first()
    if closed is not None:
        rows = StatementLine.objects.filter(close=closed).order_by("position")
        if cost_center is not None:
            rows = rows.filter(cost_center=cost_center)
        lines = [_line_from_row(r) for r in rows]
        currency = closed.currency
    else:
        lines = [
            line for line in draft(first) if cost_center is None or line.cost_center == cost_center
        ]
        currency = pricing().currency
    return Statement(first, cost_center or "", currency, closed, lines)


def last_closed_day() -> date | None:
    last = MonthClose.objects.order_by("-month").values_list("month", flat=True).first()
    return month_bounds(last)[1] if last else None
