"""Writes of budgets: finance sets a tenant's or a cost center's monthly budget; the hourly
evaluation records and sends each threshold alert (and the forecast one) once a month."""

from datetime import date
from decimal import Decimal

import pghistory
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from portal import roles
from portal.domain_errors import DomainError
from tenants.models import Tenant

from . import budget_alerts
from .budget_status import BudgetStatus, all_budgets, statuses
from .models import Budget, BudgetAlert, PriceBookEntry


def set_budget(
    *,
    user,
    monthly_amount: Decimal,
    tenant: Tenant | None = None,
    cost_center: str = "",
    thresholds: list[int] | None = None,
    alert_on_forecast: bool = True,
) -> Budget:
    """Create or change the budget of a tenant or a cost center (finance only)."""
    if not roles.is_finance(user):
        raise DomainError("Only finance sets budgets; ask someone in the finance group.")
    cost_center = (cost_center or "").strip()
    if (tenant is None) == (not cost_center):
        raise DomainError("Set a budget for either a tenant or a cost center.", field="tenant")
    if monthly_amount is None or monthly_amount < 0:
        raise DomainError("The monthly amount must be zero or more.", field="monthly_amount")
    thresholds = sorted(set(thresholds or [50, 80, 100]))
    if any(not 1 <= t <= 1000 for t in thresholds):
        raise DomainError(
            "Thresholds are percentages of the budget between 1 and 1000, e.g. 50, 80, 100.",
            field="thresholds",
        )
    if cost_center and not Tenant.objects.filter(cost_center=cost_center).exists():
        raise DomainError(
            f"No tenant has cost center {cost_center!r}; check its spelling on the tenants.",
            field="cost_center",
        )
    currency = (
        PriceBookEntry.objects.values_list("currency", flat=True).first() or settings.COSTS_CURRENCY
    )
    with transaction.atomic(), pghistory.context(user=user.pk, action="costs.set_budget"):
        budget, _ = Budget.objects.update_or_create(
            tenant=tenant,
            cost_center=cost_center,
            defaults=dict(
                monthly_amount=monthly_amount,
                currency=currency,
                thresholds=thresholds,
                alert_on_forecast=alert_on_forecast,
                updated_by=user,
            ),
        )
    return budget


def _alerts_due(status: BudgetStatus) -> list[tuple[str, int]]:
    due = [(BudgetAlert.Kind.THRESHOLD.value, t) for t in status.reached]
    if status.budget.alert_on_forecast and status.forecast_crosses:
        due.append((BudgetAlert.Kind.FORECAST.value, 100))
    return due


def _message(status: BudgetStatus, kind: str, threshold: int) -> budget_alerts.Alert:
    b = status.budget
    money = f"{b.currency} {status.spent:,.2f} of {b.monthly_amount:,.2f}"
    month = f"{status.month:%B %Y}"
    if kind == BudgetAlert.Kind.FORECAST:
        subject = (
            f"GPU budget: {b.scope} is forecast to exceed its {month} budget "
            f"({b.currency} {status.forecast:,.2f} forecast, {money} spent)"
        )
    else:
        subject = f"GPU budget: {b.scope} reached {threshold}% of its {month} budget ({money})"
    url = reverse("costs:tenant", args=[b.tenant.slug]) if b.tenant_id else reverse("costs:budgets")
    base = getattr(settings, "PORTAL_BASE_URL", "").rstrip("/")  # set by the identity work
    body = (
        f"{subject}.\n\n"
        f"Month to date: {b.currency} {status.spent:,.2f}\n"
        f"Forecast for the month: {b.currency} {status.forecast:,.2f}\n"
        f"Budget: {b.currency} {b.monthly_amount:,.2f}\n\n"
        f"Details: {base}{url}\n"
    )
    return budget_alerts.Alert(
        subject=subject,
        body=body,
        url=url,
        dedupe_key=f"budget:{b.pk}:{status.month:%Y-%m}:{kind}:{threshold}",
        tenant=b.tenant if b.tenant_id else None,
        cost_center=b.cost_center,
    )


def evaluate_budgets(*, today: date | None = None) -> list[BudgetAlert]:
    """Record and send every alert due and not yet sent this month: idempotent (the unique
    key of BudgetAlert), so running it every hour sends each threshold once a month."""
    today = today or timezone.now().date()
    sent = []
    for status in statuses(all_budgets(), today=today):
        for kind, threshold in _alerts_due(status):
            try:
                with transaction.atomic(), pghistory.context(task="costs.evaluate_budgets"):
                    alert = BudgetAlert.objects.create(
                        budget=status.budget,
                        month=status.month,
                        kind=kind,
                        threshold=threshold,
                        spent=status.spent.quantize(Decimal("0.01")),
                        forecast=status.forecast.quantize(Decimal("0.01")),
                        budget_amount=status.amount,
                    )
                    budget_alerts.deliver(_message(status, kind, threshold))
            except IntegrityError:
                continue  # sent before this month
            sent.append(alert)
    return sent
