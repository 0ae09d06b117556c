"""REST API of measured SLOs: a workload's status per environment and a tenant's roll-up."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from workloads import selectors as workload_selectors

from . import slo_selectors


class SloStatusOutput(serializers.Serializer):
    workload = serializers.CharField(source="workload.name")
    workload_id = serializers.IntegerField(source="workload.pk")
    environment = serializers.CharField(source="environment.name")
    state = serializers.CharField(source="status.state")
    window_days = serializers.IntegerField(source="status.window_days")
    window_start = serializers.DateField(source="status.window_start")
    window_end = serializers.DateField(source="status.window_end")
    days_with_data = serializers.IntegerField(source="status.days_with_data")
    missing_days = serializers.ListField(
        child=serializers.DateField(), source="status.missing_days"
    )
    requests = serializers.FloatField(source="status.requests")
    errors = serializers.FloatField(source="status.errors")
    availability_target_pct = serializers.FloatField(
        source="status.availability_target_pct", allow_null=True
    )
    attainment_pct = serializers.FloatField(source="status.attainment_pct", allow_null=True)
    error_budget_remaining_pct = serializers.FloatField(
        source="status.budget_remaining_pct", allow_null=True
    )
    error_budget_remaining_minutes = serializers.FloatField(
        source="status.budget_remaining_minutes", allow_null=True
    )
    error_budget_total_minutes = serializers.FloatField(
        source="status.budget_total_minutes", allow_null=True
    )
    burn_rate_1h = serializers.FloatField(source="status.burn_rate_1h", allow_null=True)
    burn_rate_6h = serializers.FloatField(source="status.burn_rate_6h", allow_null=True)
    attainment_24h_pct = serializers.FloatField(source="status.attainment_24h_pct", allow_null=True)
    latency_target_ms = serializers.IntegerField(source="status.latency_target_ms", allow_null=True)
    p99_latency_ms = serializers.FloatField(source="status.p99_latency_ms", allow_null=True)
    p99_latency_24h_ms = serializers.FloatField(source="status.p99_latency_24h_ms", allow_null=True)
    met = serializers.BooleanField(source="status.met", allow_null=True)
    budget_exhausted_on = serializers.DateField(
        source="status.budget_exhausted_on", allow_null=True
    )
    days_over_budget = serializers.ListField(
        child=serializers.DateField(), source="status.days_over_budget"
    )
    as_of = serializers.DateTimeField(source="status.as_of", allow_null=True)
    last_error = serializers.CharField(source="status.last_error")


class TenantSloOutput(serializers.Serializer):
    tenant = serializers.CharField()
    measured = serializers.IntegerField()
    below_target = serializers.IntegerField()
    without_data = serializers.IntegerField()
    lowest_budget_remaining_pct = serializers.FloatField(allow_null=True)
    workloads = SloStatusOutput(many=True)


@extend_schema(responses=SloStatusOutput(many=True))
@api_view(["GET"])
def workload_slo(request, pk: int):
    """The workload's SLO status per environment, from the stored daily SLI rollups."""
    workload = workload_selectors.workload_for_user(request.user, pk=pk)
    rows = slo_selectors.workload_slo(workload)
    return Response(SloStatusOutput(rows, many=True).data)


@extend_schema(responses=TenantSloOutput)
@api_view(["GET"])
def tenant_slo(request, slug: str):
    """The tenant's roll-up: every serving workload environment with an SLO."""
    tenant = workload_selectors.tenant_for_user(request.user, slug)
    rollup = slo_selectors.tenant_slo(tenant)
    worst = rollup.worst
    return Response(
        {
            "tenant": tenant.slug,
            "measured": len(rollup.measured),
            "below_target": len(rollup.missing_target),
            "without_data": len(rollup.no_data),
            "lowest_budget_remaining_pct": worst.status.budget_remaining_pct if worst else None,
            "workloads": SloStatusOutput(rollup.rows, many=True).data,
        }
    )
