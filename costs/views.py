"""Web views of the costs app: tenant cost page, finance overview (+CSV), platform view,
price book, and the per-cluster pull status partial."""

import csv
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from clusters.models import Cluster
from portal import roles
from portal.audit import request_context
from portal.domain_errors import DomainError
from portal.form_errors import add_domain_error
from tenants.models import Tenant

from . import budget_status, selectors, services
from .forms import PriceForm, RangeForm
from .models import PriceBookEntry

_CENT = Decimal("0.01")


@login_required
def tenant(request, slug: str):
    tenant = selectors.tenant_for_costs(request.user, slug)
    if tenant is None:
        raise Http404("No such tenant")
    form = RangeForm(request.GET or None)
    start, end = form.range()
    data = selectors.tenant_costs(tenant=tenant, start=start, end=end)
    chart = {
        "labels": [line.key.isoformat() for line in data.by_day],
        "gpu_hours": [round(line.gpu_hours, 3) for line in data.by_day],
        "used_gpu_hours": [round(line.used_gpu_hours, 3) for line in data.by_day],
        "utilization": [round(line.utilization * 100, 1) for line in data.by_day],
        "cost": [float(line.cost.quantize(_CENT)) for line in data.by_day],
        "idle_cost": [float(line.idle_cost.quantize(_CENT)) for line in data.by_day],
        "environments": {
            "labels": [name for name, _ in data.by_environment],
            "cost": [float(line.cost.quantize(_CENT)) for _, line in data.by_environment],
        },
        "workloads": {
            "labels": [name for name, _ in data.by_workload],
            "cost": [float(line.cost.quantize(_CENT)) for _, line in data.by_workload],
        },
    }
    budgets = budget_status.statuses(
        budget_status.budgets_of_tenant(tenant), today=timezone.now().date()
    )
    return render(
        request,
        "costs/tenant.html",
        {
            "tenant": tenant, "form": form, "data": data, "chart": chart, "start": start,
            "end": end, "budgets": budgets,
        },
    )  # fmt: skip


@login_required
def overview(request):
    roles.require(request.user, roles.PLATFORM_ADMIN, roles.FINANCE)
    form = RangeForm(request.GET or None)
    start, end = form.range()
    data = selectors.tenants_overview(start=start, end=end, tenants=_tenants())
    sort = request.GET.get("sort", "-cost")
    rows = selectors.sort_rows(data.rows, sort)
    today = timezone.now().date()
    # the overview already has each tenant's month to date and forecast when it ends today
    spend = {r.tenant.pk: (r.month_to_date, r.forecast) for r in rows} if end == today else None
    context = {
        "budgets": budget_status.statuses(budget_status.all_budgets(), today=today, spend=spend),
        "form": form,
        "data": data,
        "rows": rows,
        "tbody": _overview_tbody(_overview_cells(rows, start, end)),
        "sort": sort,
        "start": start,
        "end": end,
        "range_qs": f"start={start:%Y-%m-%d}&end={end:%Y-%m-%d}",
    }
    template = "costs/_overview_table.html" if request.htmx else "costs/overview.html"
    return render(request, template, context)


def _overview_cells(rows, start, end) -> list[dict]:
    """Display strings for the overview's rows, formatted once in Python: rendering 1,000 rows
    through template filters (floatformat, url, date) cost more than the SQL behind them."""
    base = reverse("costs:tenant", args=["-"])[:-2]
    query = f"?start={start:%Y-%m-%d}&end={end:%Y-%m-%d}"
    return [
        {
            "slug": row.tenant.slug,
            "url": f"{base}{row.tenant.slug}/{query}",
            "gpu_hours": f"{row.line.gpu_hours:.1f}",
            "utilization": f"{row.line.utilization:.0%}",
            "low": bool(row.line.gpu_hours) and row.line.utilization < 0.6,
            "cost": f"{row.line.cost:.2f}",
            "idle": f"{row.line.idle_cost:.2f}",
            "forecast": f"{row.forecast:.2f}",
        }
        for row in rows
    ]


def _overview_tbody(cells: list[dict]):
    if not cells:
        return mark_safe('<tr><td colspan="6">No tenants.</td></tr>')  # noqa: S308 - constant
    return format_html_join(
        "\n",
        '<tr><th scope="row"><a href="{}">{}</a></th><td>{}</td><td{}>{}</td><td>{}</td>'
        "<td>{}</td><td>{}</td></tr>",
        (
            (c["url"], c["slug"], c["gpu_hours"], mark_safe(' class="low"') if c["low"] else "",  # noqa: S308
             c["utilization"], c["cost"], c["idle"], c["forecast"])
            for c in cells
        ),
    )  # fmt: skip


def _tenants():
    return Tenant.objects.exclude(status=Tenant.Status.REJECTED)


@login_required
def overview_csv(request):
    roles.require(request.user, roles.PLATFORM_ADMIN, roles.FINANCE)
    start, end = RangeForm(request.GET or None).range()
    data = selectors.tenants_overview(start=start, end=end, tenants=_tenants())
    rows = selectors.sort_rows(data.rows, request.GET.get("sort", "tenant"))
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="gpu-costs-{start}-{end}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "tenant",
            "cost_center",
            "gpu_hours_allocated",
            "gpu_hours_used",
            "utilization",
            "cost_allocated",
            "cost_idle",
            "month_to_date",
            "forecast_month_end",
            "currency",
        ]
    )
    for row in rows:
        writer.writerow(
            [
                row.tenant.slug,
                row.tenant.cost_center,
                f"{row.line.gpu_hours:.4f}",
                f"{row.line.used_gpu_hours:.4f}",
                f"{row.line.utilization:.4f}",
                row.line.cost.quantize(_CENT),
                row.line.idle_cost.quantize(_CENT),
                row.month_to_date.quantize(_CENT),
                row.forecast.quantize(_CENT),
                data.currency,
            ]
        )
    writer.writerow(
        [
            "TOTAL",
            "",
            f"{data.total.gpu_hours:.4f}",
            f"{data.total.used_gpu_hours:.4f}",
            f"{data.total.utilization:.4f}",
            data.total.cost.quantize(_CENT),
            data.total.idle_cost.quantize(_CENT),
            "",
            data.total_forecast.quantize(_CENT),
            data.currency,
        ]
    )
    return response


@login_required
def platform(request):
    roles.require(request.user, roles.PLATFORM_ADMIN)
    form = RangeForm(request.GET or None)
    start, end = form.range()
    usage = selectors.platform_usage(start=start, end=end)
    chart = {
        "labels": [f"{u.cluster} {u.profiles or u.resource_name}" for u in usage],
        "used": [round(u.used_gpu_hours, 2) for u in usage],
        "idle": [round(u.idle_gpu_hours, 2) for u in usage],
    }
    return render(
        request,
        "costs/platform.html",
        {"form": form, "usage": usage, "chart": chart, "start": start, "end": end},
    )


@login_required
def price_book(request):
    can_write = roles.is_finance(request.user)
    form = PriceForm(request.POST or None, gpu_models=selectors.gpu_models())
    if request.method == "POST":
        roles.require(request.user, roles.FINANCE)
        if form.is_valid():
            try:
                with request_context(request):
                    entry = services.add_price(
                        gpu_model=form.cleaned_data["gpu_model"],
                        profile=form.cleaned_data["profile"],
                        hourly_price=form.cleaned_data["hourly_price"],
                        currency=form.cleaned_data["currency"],
                        effective_from=form.cleaned_data["effective_from"],
                        note=form.cleaned_data["note"],
                        user=request.user,
                    )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, f"Added {entry}.")
                return redirect(reverse("costs:price_book"))
    entries = PriceBookEntry.objects.select_related("profile").order_by(
        "gpu_model", "profile__name", "-effective_from"
    )
    return render(
        request,
        "costs/price_book.html",
        {"entries": entries, "form": form, "can_write": can_write},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def cluster_pull_status(request, name: str):
    if not (roles.is_platform_admin(request.user) or roles.is_sre(request.user)):
        raise Http404
    cluster = get_object_or_404(Cluster, name=name)
    return render(
        request,
        "costs/_cluster_pull_status.html",
        {"cluster": cluster, "status": selectors.pull_status(cluster)},
    )
