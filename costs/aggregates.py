"""Cost aggregates: one SQL scan of the daily rollups grouped by the caller's keys, GPU profile
and price period (several date windows at once), each group priced in Python with the
effective-dated price book. The query count never depends on tenants, environments or days."""

from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db import connection

from .models import PriceBookEntry
from .pricing import CostLine, Price, PriceBook

GROUPS = {
    "tenant": "u.tenant_id",
    "environment": "u.environment_id",
    "workload": "u.workload",
    "day": "u.day",
    "cluster": "u.cluster_id",
    "resource": "u.resource_name",
    "namespace": "u.namespace",
    "model": "u.gpu_model",
    "product": "u.gpu_product",
}

_SUMS = (
    "unit_hours", "gpu_hours", "used_unit_hours", "used_gpu_hours", "requests", "runs",
    "burst_unit_hours",
)  # fmt: skip
_NO_PRICE = date(1, 1, 1)


def _epoch_sql(breakpoints: list[date], params: dict) -> str:
    """A CASE naming the price period each day falls in (the latest price change on or before
    it): prices are constant inside a period, so grouping by it prices every group exactly."""
    if not breakpoints:
        return "DATE '0001-01-01'"
    branches = []
    for i, day in enumerate(reversed(breakpoints)):
        params[f"bp{i}"] = day
        branches.append(f"WHEN u.day >= %(bp{i})s THEN %(bp{i})s::date")
    return f"CASE {' '.join(branches)} ELSE DATE '0001-01-01' END"


@dataclass
class Pricing:
    book: PriceBook

    @property
    def currency(self) -> str:
        return self.book.currency(settings.COSTS_CURRENCY)


def pricing() -> Pricing:
    """The whole price book: one query, reused by every aggregate. Usage rows carry the terms
    (profile, GPU model, exact fraction) they are priced with, so the catalog is not read."""
    return Pricing(
        PriceBook(
            Price(e.gpu_model, e.profile_id, e.hourly_price, e.currency, e.effective_from)
            for e in PriceBookEntry.objects.all()
        )
    )


@dataclass
class CostTable:
    lines: dict = field(default_factory=dict)
    demo: bool = False

    def get(self, key) -> CostLine:
        return self.lines.get(key) or CostLine(key=key)

    def total(self) -> CostLine:
        total = CostLine(key="total")
        for line in self.lines.values():
            total.merge(line)
        return total


def cost_table(
    *,
    start: date,
    end: date,
    group_by: tuple[str, ...] = ("tenant",),
    tenant_id: int | None = None,
    cluster_id: int | None = None,
    attributed_only: bool = True,
    prices: Pricing,
) -> CostTable:
    """Cost lines for days [start, end] grouped by `group_by` (names of GROUPS): one query."""
    return cost_tables(
        windows={"range": (start, end)},
        group_by=group_by,
        tenant_id=tenant_id,
        cluster_id=cluster_id,
        attributed_only=attributed_only,
        prices=prices,
    )["range"]


def cost_tables(
    *,
    windows: dict[str, tuple[date, date]],
    group_by: tuple[str, ...] = ("tenant",),
    tenant_id: int | None = None,
    tenant_ids: list[int] | None = None,
    cluster_id: int | None = None,
    attributed_only: bool = True,
    prices: Pricing,
) -> dict[str, CostTable]:
    """Cost lines for several date windows at once (e.g. the range, month to date and the
    trailing week) in ONE scan of the daily rollups: SUM(...) FILTER per window, grouped by
    `group_by`, GPU profile and price period; each group is then priced in Python."""
    keys = ", ".join(GROUPS[g] for g in group_by)
    params: dict = {
        "lo": min(s for s, _ in windows.values()),
        "hi": max(e for _, e in windows.values()),
    }
    where = []
    if tenant_id is not None:
        where.append("AND u.tenant_id = %(tenant)s")
        params["tenant"] = tenant_id
    elif tenant_ids is not None:
        where.append("AND u.tenant_id = ANY(%(tenants)s)")
        params["tenants"] = list(tenant_ids)
    elif attributed_only:
        where.append("AND u.tenant_id IS NOT NULL")
    if cluster_id is not None:
        where.append("AND u.cluster_id = %(cluster)s")
        params["cluster"] = cluster_id
    columns = []
    for n, (start, end) in enumerate(windows.values()):
        params[f"s{n}"], params[f"e{n}"] = start, end
        inside = f"FILTER (WHERE u.day BETWEEN %(s{n})s AND %(e{n})s)"
        columns += [f"SUM(u.{col}) {inside}" for col in _SUMS] + [f"MIN(u.day) {inside}"]
    epoch = _epoch_sql(prices.book.breakpoints(), params)
    # keys come from GROUPS and every value is a parameter
    sql = " ".join(
        [
            f"SELECT {keys}, u.profile_id, u.gpu_model, u.gpu_fraction, u.burst_factor,",
            f"{epoch} AS epoch,",
            "BOOL_OR(u.source = 'demo'),",
            ", ".join(columns),
            "FROM costs_dailyusage u WHERE u.day >= %(lo)s AND u.day <= %(hi)s",
            *where,
            f"GROUP BY {keys}, u.profile_id, u.gpu_model, u.gpu_fraction, u.burst_factor, epoch",
        ]
    )
    tables = {name: CostTable() for name in windows}
    width = len(group_by)
    per_window = len(_SUMS) + 1
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            key = row[0] if width == 1 else tuple(row[:width])
            profile_id, gpu_model, fraction, burst_factor, epoch_day, demo = row[width : width + 6]
            # priced with the terms recorded with the usage, never the profile's current ones
            price = (
                prices.book.price_of(profile_id, gpu_model, fraction, epoch_day)
                if epoch_day != _NO_PRICE
                else None
            )
            for n, name in enumerate(windows):
                offset = width + 6 + n * per_window
                unit_h, gpu_h, used_unit_h, used_gpu_h, requests, runs, burst_h, first_day = row[
                    offset : offset + per_window
                ]
                if first_day is None:
                    continue  # no rows of this group inside this window
                table = tables[name]
                line = table.lines.get(key)
                if line is None:
                    line = table.lines[key] = CostLine(key=key)
                line.add(
                    unit_hours=unit_h,
                    gpu_hours=gpu_h,
                    used_unit_hours=used_unit_h,
                    used_gpu_hours=used_gpu_h,
                    requests=requests,
                    runs=runs,
                    unit_price=price,
                    burst_unit_hours=burst_h or 0.0,
                    burst_factor=burst_factor,
                    gpu_share=float(fraction) if fraction is not None else 1.0,
                )
                table.demo = table.demo or demo
                if line.first_day is None or first_day < line.first_day:
                    line.first_day = first_day
    return tables
