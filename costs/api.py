"""Costs API: cost per tenant for a date range, one tenant grouped by environment / workload /
day, and the price book (finance writes, everyone signed in reads)."""

from decimal import Decimal

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from portal import api_fields, roles
from portal.audit import request_context
from tenants.models import GpuProfile

from . import ranges, selectors, services
from .models import PriceBookEntry

MAX_RANGE_DAYS = 400
_CENT = Decimal("0.01")
_MICRO = Decimal("0.000001")


class RangeInput(serializers.Serializer):
    start = serializers.DateField(required=False, input_formats=["%Y-%m-%d"])
    end = serializers.DateField(required=False, input_formats=["%Y-%m-%d"])
    range = serializers.ChoiceField(choices=list(ranges.QUICK), required=False)

    def validate(self, attrs):
        today = timezone.now().date()
        if attrs.get("range") and not attrs.get("start") and not attrs.get("end"):
            start, end = ranges.quick_range(attrs["range"], today)
            return {"start": start, "end": end}
        end = attrs.get("end") or today
        start = attrs.get("start") or ranges.default_range(end, today)[0]
        if start > end:
            raise ValidationError({"start": ["start must be on or before end."]})
        if (end - start).days > MAX_RANGE_DAYS:
            raise ValidationError(
                {"start": [f"A range may span at most {MAX_RANGE_DAYS} days; narrow it."]}
            )
        return {"start": start, "end": end}


class TenantRangeInput(RangeInput):
    group_by = serializers.ChoiceField(
        choices=["environment", "workload", "day"], required=False, default="environment"
    )

    def validate(self, attrs):
        group_by = attrs.get("group_by", "environment")
        return {**super().validate(attrs), "group_by": group_by}


class CostLineOutput(serializers.Serializer):
    gpu_hours_allocated = serializers.FloatField(help_text="GPU-hours in physical-GPU equivalents")
    gpu_hours_used = serializers.FloatField(help_text="Allocated GPU-hours x utilization")
    utilization = serializers.FloatField(help_text="0-1")
    cost_allocated = serializers.DecimalField(max_digits=14, decimal_places=2)
    cost_idle = serializers.DecimalField(max_digits=14, decimal_places=2)
    requests = serializers.IntegerField(help_text="Inference requests served")
    cost_per_request = serializers.DecimalField(max_digits=14, decimal_places=6, allow_null=True)
    runs = serializers.IntegerField(help_text="Training runs (Jobs) started")
    cost_per_run = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    gpu_hours_guaranteed = serializers.FloatField(help_text="Within guaranteed quota")
    gpu_hours_burst = serializers.FloatField(help_text="Above guaranteed quota (borrowed)")
    cost_guaranteed = serializers.DecimalField(max_digits=14, decimal_places=2)
    cost_burst = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="Burst hours at the burst price factor"
    )
    gpu_hours_unpriced = serializers.FloatField(
        help_text="GPU-hours on a GPU product with no profile or price: not in cost_allocated"
    )
    currency = serializers.CharField()


class TenantCostOutput(CostLineOutput):
    tenant = serializers.SlugField()
    month_to_date = serializers.DecimalField(max_digits=14, decimal_places=2)
    forecast_month_end = serializers.DecimalField(max_digits=14, decimal_places=2)


class UnpricedOutput(serializers.Serializer):
    cluster = serializers.CharField()
    resource = serializers.CharField()
    gpu_product = serializers.CharField(help_text="Empty when the device was not known")
    unit_hours = serializers.FloatField()
    message = serializers.CharField()


def _unpriced(items) -> list[dict]:
    return [
        {
            "cluster": u.cluster,
            "resource": u.resource_name,
            "gpu_product": u.gpu_product,
            "unit_hours": round(u.unit_hours, 4),
            "message": u.message,
        }
        for u in items
    ]


class TenantCostListOutput(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    demo_data = serializers.BooleanField()
    totals = CostLineOutput()
    unpriced = UnpricedOutput(many=True)
    results = TenantCostOutput(many=True)


class GroupCostOutput(CostLineOutput):
    environment = serializers.CharField(required=False)
    workload = serializers.CharField(required=False)
    day = serializers.DateField(required=False)


class ProjectionOutput(serializers.Serializer):
    resource = serializers.CharField()
    units_now = serializers.FloatField()
    units_at_10x = serializers.FloatField()
    capacity = serializers.IntegerField()
    runs_out = serializers.BooleanField()


class FlagOutput(serializers.Serializer):
    kind = serializers.CharField()
    subject = serializers.CharField()
    message = serializers.CharField()


class TenantCostDetailOutput(serializers.Serializer):
    tenant = serializers.SlugField()
    start = serializers.DateField()
    end = serializers.DateField()
    group_by = serializers.CharField()
    demo_data = serializers.BooleanField()
    totals = CostLineOutput()
    month_to_date = serializers.DecimalField(max_digits=14, decimal_places=2)
    forecast_month_end = serializers.DecimalField(max_digits=14, decimal_places=2)
    what_at_10x = ProjectionOutput(many=True)
    flags = FlagOutput(many=True)
    unpriced = UnpricedOutput(many=True)
    results = GroupCostOutput(many=True)


_RANGE_PARAMS = [
    OpenApiParameter("start", str, description="YYYY-MM-DD, default: 29 days before end"),
    OpenApiParameter("end", str, description="YYYY-MM-DD (inclusive), default: today"),
    OpenApiParameter(
        "range", str, enum=list(ranges.QUICK), description="A quick range, when no start/end"
    ),
]


def _line(line, currency: str) -> dict:
    return {
        "gpu_hours_allocated": round(line.gpu_hours, 4),
        "gpu_hours_used": round(line.used_gpu_hours, 4),
        "utilization": round(line.utilization, 4),
        "cost_allocated": str(line.cost.quantize(_CENT)),
        "cost_idle": str(line.idle_cost.quantize(_CENT)),
        "requests": round(line.requests),
        "cost_per_request": (
            str(line.cost_per_request.quantize(_MICRO)) if line.cost_per_request else None
        ),
        "runs": round(line.runs),
        "cost_per_run": str(line.cost_per_run.quantize(_CENT)) if line.cost_per_run else None,
        "gpu_hours_guaranteed": round(line.guaranteed_gpu_hours, 4),
        "gpu_hours_burst": round(line.burst_gpu_hours, 4),
        "cost_guaranteed": str(line.guaranteed_cost.quantize(_CENT)),
        "cost_burst": str(line.burst_cost.quantize(_CENT)),
        "gpu_hours_unpriced": round(line.unpriced_gpu_hours, 4),
        "currency": currency,
    }


@extend_schema(
    operation_id="costs_tenants_list", parameters=_RANGE_PARAMS, responses=TenantCostListOutput
)
@api_view(["GET"])
def tenant_costs_list(request):
    params = RangeInput(data=request.query_params)
    params.is_valid(raise_exception=True)
    start, end = params.validated_data["start"], params.validated_data["end"]
    overview = selectors.tenants_overview(
        start=start, end=end, tenants=selectors.visible_tenants(request.user)
    )
    results = [
        {
            "tenant": row.tenant.slug,
            **_line(row.line, overview.currency),
            "month_to_date": str(row.month_to_date.quantize(_CENT)),
            "forecast_month_end": str(row.forecast.quantize(_CENT)),
        }
        for row in overview.rows
    ]
    return Response(
        {
            "start": start,
            "end": end,
            "demo_data": overview.demo,
            "totals": _line(overview.total, overview.currency),
            "unpriced": _unpriced(
                overview.unpriced if selectors.can_see_all_costs(request.user) else []
            ),
            "results": results,
        }
    )


@extend_schema(
    operation_id="costs_tenant_retrieve",
    parameters=[
        *_RANGE_PARAMS,
        OpenApiParameter("group_by", str, enum=["environment", "workload", "day"]),
    ],
    responses=TenantCostDetailOutput,
)
@api_view(["GET"])
def tenant_costs_detail(request, slug: str):
    tenant = selectors.tenant_for_costs(request.user, slug)
    if tenant is None:
        raise Http404
    params = TenantRangeInput(data=request.query_params)
    params.is_valid(raise_exception=True)
    start, end = params.validated_data["start"], params.validated_data["end"]
    group_by = params.validated_data["group_by"]
    data = selectors.tenant_costs(tenant=tenant, start=start, end=end)
    if group_by == "environment":
        groups = [{"environment": k, **_line(v, data.currency)} for k, v in data.by_environment]
    elif group_by == "workload":
        groups = [{"workload": k, **_line(v, data.currency)} for k, v in data.by_workload]
    else:
        groups = [{"day": line.key, **_line(line, data.currency)} for line in data.by_day]
    return Response(
        {
            "tenant": tenant.slug,
            "start": start,
            "end": end,
            "group_by": group_by,
            "demo_data": data.demo,
            "totals": _line(data.total, data.currency),
            "month_to_date": str(data.month_to_date.quantize(_CENT)),
            "forecast_month_end": str(data.forecast.quantize(_CENT)),
            "what_at_10x": [
                {
                    "resource": p.profile,
                    "units_now": round(p.units_now, 3),
                    "units_at_10x": round(p.units_at_scale, 3),
                    "capacity": p.capacity,
                    "runs_out": p.runs_out,
                }
                for p in data.projections
            ],
            "flags": [
                {"kind": f.kind, "subject": f.subject, "message": f.message} for f in data.flags
            ],
            "unpriced": _unpriced(data.unpriced),
            "results": groups,
        }
    )


class PriceInput(serializers.Serializer):
    gpu_model = api_fields.CharField(max_length=100, required=False, allow_blank=True)
    profile = serializers.SlugRelatedField(
        slug_field="name", queryset=GpuProfile.objects.all(), required=False, allow_null=True
    )
    hourly_price = api_fields.StrictDecimalField(
        max_digits=12, decimal_places=4, min_value=Decimal(0)
    )
    currency = api_fields.RegexField(r"^[A-Za-z]{3}$", required=False, default="USD")
    effective_from = serializers.DateField(input_formats=["%Y-%m-%d"])
    note = api_fields.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if not attrs.get("profile") and not attrs.get("gpu_model"):
            raise ValidationError({"gpu_model": ["Give a gpu_model or a profile."]})
        return attrs


class PriceOutput(serializers.ModelSerializer):
    profile = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)

    class Meta:
        model = PriceBookEntry
        fields = [
            "id",
            "gpu_model",
            "profile",
            "hourly_price",
            "currency",
            "effective_from",
            "note",
        ]


@extend_schema(methods=["GET"], responses=PriceOutput(many=True))
@extend_schema(methods=["POST"], request=PriceInput, responses={201: PriceOutput})
@api_view(["GET", "POST"])
def price_book(request):
    if request.method == "GET":
        entries = PriceBookEntry.objects.select_related("profile").order_by(
            "gpu_model", "profile__name", "effective_from"
        )
        return Response(PriceOutput(entries, many=True).data)
    roles.require(request.user, roles.FINANCE, message="Only finance maintains the price book.")
    data = PriceInput(data=request.data)
    data.is_valid(raise_exception=True)
    with request_context(request):
        entry = services.add_price(
            gpu_model=data.validated_data.get("gpu_model") or "",
            profile=data.validated_data.get("profile"),
            hourly_price=data.validated_data["hourly_price"],
            currency=data.validated_data["currency"],
            effective_from=data.validated_data["effective_from"],
            note=data.validated_data.get("note", ""),
            user=request.user,
        )
    return Response(PriceOutput(entry).data, status=status.HTTP_201_CREATED)
