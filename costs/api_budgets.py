"""Budgets API: GET the budgets a user may see with where the month stands; POST (finance)
sets a tenant's or a cost center's monthly budget."""

from decimal import Decimal

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from portal import roles
from tenants.models import Tenant

from . import budget_status, budgets

_CENT = Decimal("0.01")


class BudgetInput(serializers.Serializer):
    tenant = serializers.SlugRelatedField(
        slug_field="slug", queryset=Tenant.objects.all(), required=False, allow_null=True
    )
    cost_center = serializers.CharField(max_length=64, required=False, allow_blank=True)
    monthly_amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal(0))
    thresholds = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=1000),
        required=False,
        max_length=10,
    )
    alert_on_forecast = serializers.BooleanField(required=False, default=True)


class BudgetStatusOutput(serializers.Serializer):
    scope = serializers.CharField()
    tenant = serializers.CharField(allow_null=True)
    cost_center = serializers.CharField()
    month = serializers.DateField()
    monthly_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    thresholds = serializers.ListField(child=serializers.IntegerField())
    alert_on_forecast = serializers.BooleanField()
    spent = serializers.DecimalField(max_digits=14, decimal_places=2)
    forecast = serializers.DecimalField(max_digits=14, decimal_places=2)
    percent = serializers.FloatField()
    state = serializers.ChoiceField(choices=["ok", "at-risk", "over"])
    thresholds_reached = serializers.ListField(child=serializers.IntegerField())


class BudgetListOutput(serializers.Serializer):
    results = BudgetStatusOutput(many=True)


def status_dict(s: budget_status.BudgetStatus) -> dict:
    b = s.budget
    return {
        "scope": b.scope,
        "tenant": b.tenant.slug if b.tenant_id else None,
        "cost_center": b.cost_center,
        "month": s.month,
        "monthly_amount": str(b.monthly_amount),
        "currency": b.currency,
        "thresholds": list(b.thresholds),
        "alert_on_forecast": b.alert_on_forecast,
        "spent": str(s.spent.quantize(_CENT)),
        "forecast": str(s.forecast.quantize(_CENT)),
        "percent": round(s.percent, 2),
        "state": s.state,
        "thresholds_reached": s.reached,
    }


@extend_schema(methods=["GET"], responses=BudgetListOutput, operation_id="costs_budgets_list")
@extend_schema(
    methods=["POST"],
    request=BudgetInput,
    responses={201: BudgetStatusOutput},
    operation_id="costs_budgets_set",
)
@api_view(["GET", "POST"])
def budget_list(request):
    today = timezone.now().date()
    if request.method == "GET":
        items = budget_status.statuses(budget_status.visible_budgets(request.user), today=today)
        return Response({"results": [status_dict(s) for s in items]})
    if not roles.is_finance(request.user):
        raise PermissionDenied("Only finance sets budgets.")
    data = BudgetInput(data=request.data)
    data.is_valid(raise_exception=True)
    budget = budgets.set_budget(
        user=request.user,
        tenant=data.validated_data.get("tenant"),
        cost_center=data.validated_data.get("cost_center", ""),
        monthly_amount=data.validated_data["monthly_amount"],
        thresholds=data.validated_data.get("thresholds"),
        alert_on_forecast=data.validated_data["alert_on_forecast"],
    )
    [result] = budget_status.statuses([budget], today=today)
    return Response(status_dict(result), status=status.HTTP_201_CREATED)
