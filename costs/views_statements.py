"""Chargeback statements (finance): a month's cost centers, closing a month, and each cost
center's statement as a printable page and as CSV (from stored lines once closed)."""

import csv
import io
from datetime import date, datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from portal import roles
from portal.domain_errors import DomainError

from . import statements

COLUMNS = [
    "month", "cost_center", "kind", "for_month", "tenant", "environment", "cluster", "gpu_model",
    "gpu_product", "resource", "unit_hours", "gpu_hours", "burst_gpu_hours", "used_gpu_hours",
    "cost_allocated", "cost_idle_in_allocation", "cost_charged", "currency",
]  # fmt: skip


def _month(request) -> date:
    """?month=YYYY-MM, default last month."""
    raw = request.GET.get("month") or request.POST.get("month") or ""
    try:
        return datetime.strptime(raw, "%Y-%m").date()
    except ValueError:
        return (timezone.now().date().replace(day=1) - timedelta(days=1)).replace(day=1)


def _require_finance(user) -> None:
    if not (roles.is_finance(user) or roles.is_platform_admin(user)):
        raise PermissionDenied


@login_required
def index(request):
    _require_finance(request.user)
    month = _month(request)
    if request.method == "POST":
        try:
            statements.close_month(month=month, user=request.user)
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Closed {month:%B %Y}: its statements are final.")
        return redirect(f"{reverse('costs:statements')}?month={month:%Y-%m}")
    data = statements.statement(month=month, cost_center=None)
    totals = {}
    for line in data.lines:
        totals.setdefault(line.cost_center, statements.Line(line.cost_center, "usage", month))
        statements.add_to(totals[line.cost_center], line)
    return render(
        request,
        "costs/statements.html",
        {
            "month": month, "data": data,
            "totals": sorted(totals.values(), key=lambda t: t.cost_center),
            "can_close": roles.is_finance(request.user) and data.closed is None,
            "previous": (month - timedelta(days=1)).replace(day=1),
            "next": (month + timedelta(days=32)).replace(day=1),
        },
    )  # fmt: skip


def _statement(request):
    _require_finance(request.user)
    return statements.statement(
        month=_month(request), cost_center=request.GET.get("cost_center", "")
    )


@login_required
def printable(request):
    data = _statement(request)
    return render(request, "costs/statement.html", {"s": data})


def _text(value: str) -> str:
    """A text cell a spreadsheet must not run as a formula (CSV injection); numbers, negative
    adjustments included, are written as they are."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def render_csv(data: statements.Statement) -> str:
    """The statement as CSV: a pure function of its lines (closed: stored lines)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for line in data.lines:
        writer.writerow(
            [
                f"{data.month:%Y-%m}", _text(line.cost_center), line.kind,
                f"{line.for_month:%Y-%m}", _text(line.tenant), _text(line.environment),
                _text(line.cluster), _text(line.gpu_model), _text(line.gpu_product),
                _text(line.resource_name), line.unit_hours, line.gpu_hours, line.burst_gpu_hours,
                line.used_gpu_hours, line.cost_allocated, line.cost_idle, line.cost,
                data.currency,
            ]
        )  # fmt: skip
    t = data.total
    writer.writerow(
        [f"{data.month:%Y-%m}", _text(data.cost_center), "TOTAL", "", "", "", "", "", "", "",
         t.unit_hours, t.gpu_hours, t.burst_gpu_hours, t.used_gpu_hours, t.cost_allocated,
         t.cost_idle, t.cost, data.currency]
    )  # fmt: skip
    return out.getvalue()


@login_required
def export_csv(request):
    data = _statement(request)
    name = data.cost_center or "platform"
    response = HttpResponse(render_csv(data), content_type="text/csv")
    response["Content-Disposition"] = (
        f'attachment; filename="gpu-statement-{name}-{data.month:%Y-%m}.csv"'
    )
    if data.closed is None:
        response["X-Statement-Draft"] = "true"
    return response
