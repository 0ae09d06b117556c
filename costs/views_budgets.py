"""Budgets page: finance sets budgets; everyone sees the budgets of their tenants."""

import pghistory
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from portal import roles
from portal.domain_errors import DomainError

from . import budget_status
from . import budgets as budget_services
from .forms import BudgetForm


@login_required
def budgets(request):
    can_write = roles.is_finance(request.user)
    form = BudgetForm(request.POST or None)
    if request.method == "POST":
        if not can_write:
            messages.error(request, "Only finance sets budgets.")
            return redirect(reverse("costs:budgets"))
        if form.is_valid():
            try:
                with pghistory.context(user=request.user.id, url=request.path):
                    budget = budget_services.set_budget(
                        user=request.user,
                        tenant=form.cleaned_data["tenant"],
                        cost_center=form.cleaned_data["cost_center"],
                        monthly_amount=form.cleaned_data["monthly_amount"],
                        thresholds=form.cleaned_data["thresholds"],
                        alert_on_forecast=form.cleaned_data["alert_on_forecast"],
                    )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                messages.success(request, f"Saved the {budget}.")
                return redirect(reverse("costs:budgets"))
    items = budget_status.statuses(
        budget_status.visible_budgets(request.user), today=timezone.now().date()
    )
    return render(
        request,
        "costs/budgets.html",
        {"budgets": items, "form": form, "can_write": can_write},
        status=400 if request.method == "POST" else 200,
    )
