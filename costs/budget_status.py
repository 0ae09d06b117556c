"""Reads of budgets: where each tenant's and cost center's month stands against its budget
(month-to-date cost, month-end forecast, thresholds reached). A fixed number of queries."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Q

from tenants.models import Tenant

from . import forecast
from .aggregates import cost_tables, pricing
from .models import Budget


@dataclass
class BudgetStatus:
    budget: Budget
    spent: Decimal
    forecast: Decimal
    as_of: date
    tenants: list[str] = field(default_factory=list)  # the cost center's tenants

    @property
    def amount(self) -> Decimal:
        return self.budget.monthly_amount

    @property
    def percent(self) -> float:
        return float(self.spent / self.amount * 100) if self.amount else 0.0

    @property
    def forecast_percent(self) -> float:
        return float(self.forecast / self.amount * 100) if self.amount else 0.0

    @property
    def reached(self) -> list[int]:
        """Thresholds (percent) month-to-date cost has reached."""
        if not self.amount:
            return []
        return sorted(t for t in self.budget.thresholds if self.spent * 100 >= self.amount * t)

    @property
    def forecast_crosses(self) -> bool:
        return bool(self.amount) and self.forecast >= self.amount > self.spent

    @property
    def state(self) -> str:
        if self.amount and self.spent >= self.amount:
            return "over"
        if self.forecast_crosses:
            return "at-risk"
        return "ok"

    @property
    def month(self) -> date:
        return self.as_of.replace(day=1)


def month_spend(
    *, today: date, tenant_ids: list[int] | None = None
) -> dict[int, tuple[Decimal, Decimal]]:
    """Month-to-date cost and month-end forecast per tenant as of `today`: two queries."""
    prices = pricing()
    month_start, _ = forecast.month_bounds(today)
    trail_start, _ = forecast.trailing_window(today)
    tables = cost_tables(
        windows={"mtd": (month_start, today), "trail": (trail_start, today)},
        tenant_ids=tenant_ids,
        prices=prices,
    )
    out = {}
    for tenant_id in set(tables["mtd"].lines) | set(tables["trail"].lines):
        mtd = tables["mtd"].get(tenant_id).cost
        trail = tables["trail"].get(tenant_id)
        out[tenant_id] = (
            mtd,
            forecast.month_end_forecast(
                month_to_date=mtd,
                trailing_cost=trail.cost,
                trailing_days=forecast.days_observed(trail.first_day, trail_start, today),
                as_of=today,
            ),
        )
    return out


def statuses(budgets: list[Budget], *, today: date, spend=None) -> list[BudgetStatus]:
    """Status of each budget. `spend` (tenant id -> (month to date, forecast)) may be passed
    when the caller has it; else it is read for the tenants the budgets cover."""
    if not budgets:
        return []
    centers = {b.cost_center for b in budgets if b.cost_center}
    members: dict[str, list[tuple[int, str]]] = {}
    if centers:
        for pk, slug, center in Tenant.objects.filter(cost_center__in=centers).values_list(
            "pk", "slug", "cost_center"
        ):
            members.setdefault(center, []).append((pk, slug))
    if spend is None:
        ids = {b.tenant_id for b in budgets if b.tenant_id}
        ids |= {pk for group in members.values() for pk, _ in group}
        spend = month_spend(today=today, tenant_ids=sorted(ids))
    zero = (Decimal(0), Decimal(0))
    out = []
    for b in budgets:
        if b.tenant_id:
            spent, fc = spend.get(b.tenant_id, zero)
            out.append(BudgetStatus(b, spent, fc, today))
        else:
            group = members.get(b.cost_center, [])
            spent = sum((spend.get(pk, zero)[0] for pk, _ in group), Decimal(0))
            fc = sum((spend.get(pk, zero)[1] for pk, _ in group), Decimal(0))
            out.append(BudgetStatus(b, spent, fc, today, tenants=sorted(s for _, s in group)))
    return out


def all_budgets() -> list[Budget]:
    return list(Budget.objects.select_related("tenant").order_by("cost_center", "tenant__slug"))


def budgets_of_tenant(tenant: Tenant) -> list[Budget]:
    """The tenant's own budget and its cost center's: what its owners see."""
    scope = Q(tenant=tenant)
    if tenant.cost_center:
        scope |= Q(cost_center=tenant.cost_center)
    return list(Budget.objects.filter(scope).select_related("tenant").order_by("cost_center"))


def visible_budgets(user) -> list[Budget]:
    from .selectors import can_see_all_costs, visible_tenants

    if can_see_all_costs(user):
        return all_budgets()
    tenants = list(visible_tenants(user).only("id", "cost_center"))
    scope = Q(tenant__in=[t.pk for t in tenants])
    centers = {t.cost_center for t in tenants if t.cost_center}
    if centers:
        scope |= Q(cost_center__in=centers)
    return list(Budget.objects.filter(scope).select_related("tenant").order_by("cost_center"))
