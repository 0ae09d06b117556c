"""REST API of workloads: list/create, detail, revisions, promote and rollback. Thin views with
separate input and output serializers; the rules are in services."""

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response

from portal import api_fields
from portal.api_fields import StrictModelSerializer
from portal.audit import request_context
from tenants.models import EnvironmentName, GpuProfile

from . import selectors, services
from .models import REVISION_SPEC_FIELDS, Template, WorkloadRevision


class RevisionOutput(serializers.ModelSerializer):
    profile = serializers.SlugRelatedField(slug_field="name", read_only=True)
    image_ref = serializers.CharField(read_only=True)
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = WorkloadRevision
        fields = ["number", "image_ref", *REVISION_SPEC_FIELDS, "created_by", "created_at"]


class RevisionInput(StrictModelSerializer):
    profile = serializers.SlugRelatedField(
        slug_field="name", queryset=GpuProfile.objects.filter(is_active=True), required=False
    )

    class Meta:
        model = WorkloadRevision
        fields = REVISION_SPEC_FIELDS
        extra_kwargs = {f: {"required": False} for f in REVISION_SPEC_FIELDS}


class WorkloadInput(RevisionInput):
    tenant = api_fields.SlugField()
    name = api_fields.CharField(max_length=40)
    template = serializers.ChoiceField(choices=Template.choices)
    description = api_fields.CharField(max_length=500, required=False, default="")

    class Meta(RevisionInput.Meta):
        fields = ["tenant", "name", "template", "description", *REVISION_SPEC_FIELDS]


class WorkloadSummary(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    tenant = serializers.CharField(source="tenant.slug")
    name = serializers.CharField()
    template = serializers.CharField()


class DeploymentOutput(serializers.Serializer):
    revision = serializers.IntegerField()
    previous_revision = serializers.IntegerField(allow_null=True)
    canary_revision = serializers.IntegerField(allow_null=True)
    canary_percent = serializers.IntegerField()


class WorkloadOutput(serializers.Serializer):
    id = serializers.IntegerField()
    tenant = serializers.CharField()
    name = serializers.CharField()
    template = serializers.CharField()
    description = serializers.CharField()
    latest_revision = serializers.IntegerField(allow_null=True)
    environments = serializers.DictField(child=DeploymentOutput())


class GateOutput(serializers.Serializer):
    name = serializers.CharField()
    passed = serializers.BooleanField()
    reason = serializers.CharField()


class PromotionOutput(serializers.Serializer):
    environment = serializers.CharField()
    from_revision = serializers.IntegerField(allow_null=True)
    to_revision = serializers.IntegerField()
    gates = GateOutput(many=True)


class RollbackOutput(serializers.Serializer):
    environment = serializers.CharField()
    from_revision = serializers.IntegerField()
    to_revision = serializers.IntegerField()


def workload_output(workload) -> dict:
    deployments = selectors.deployments_of(workload)
    latest = selectors.latest_revision(workload)
    return {
        "id": workload.pk,
        "tenant": workload.tenant.slug,
        "name": workload.name,
        "template": workload.template,
        "description": workload.description,
        "latest_revision": latest.number if latest else None,
        "environments": {
            d.environment.name: {
                "revision": d.current_revision.number,
                "previous_revision": d.previous_revision.number if d.previous_revision else None,
                "canary_revision": d.canary_revision.number if d.canary_revision else None,
                "canary_percent": d.canary_percent,
            }
            for d in deployments
        },
    }


@extend_schema(methods=["GET"], responses=WorkloadSummary(many=True))
@extend_schema(methods=["POST"], request=WorkloadInput, responses={201: WorkloadOutput})
@api_view(["GET", "POST"])
def workload_collection(request):
    if request.method == "GET":
        workloads = selectors.visible_workloads(request.user).order_by("tenant__slug", "name")
        tenant = request.query_params.get("tenant")
        if tenant:
            workloads = workloads.filter(tenant__slug=tenant)
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(workloads, request)
        return paginator.get_paginated_response(WorkloadSummary(page, many=True).data)
    data = WorkloadInput(data=request.data)
    data.is_valid(raise_exception=True)
    values = dict(data.validated_data)
    tenant = selectors.tenant_for_user(request.user, values.pop("tenant"))
    with request_context(request):
        workload = services.create_workload(
            tenant=tenant,
            name=values.pop("name"),
            template=values.pop("template"),
            description=values.pop("description", ""),
            actor=request.user,
            **values,
        )
    return Response(workload_output(workload), status=status.HTTP_201_CREATED)


# the view paginates by hand: tell the schema so it documents the {count, results} envelope
workload_collection.cls.pagination_class = LimitOffsetPagination


@extend_schema(responses=WorkloadOutput)
@api_view(["GET"])
def workload_detail(request, pk: int):
    return Response(workload_output(selectors.workload_for_user(request.user, pk=pk)))


@extend_schema(methods=["GET"], responses=RevisionOutput(many=True))
@extend_schema(methods=["POST"], request=RevisionInput, responses={201: RevisionOutput})
@api_view(["GET", "POST"])
def workload_revisions(request, pk: int):
    workload = selectors.workload_for_user(request.user, pk=pk)
    if request.method == "GET":
        return Response(RevisionOutput(selectors.revisions_of(workload), many=True).data)
    if not selectors.can_write_tenant(request.user, workload.tenant):
        raise PermissionDenied
    data = RevisionInput(data=request.data)
    data.is_valid(raise_exception=True)
    with request_context(request):
        revision = services.create_revision(
            workload=workload, actor=request.user, **data.validated_data
        )
    return Response(RevisionOutput(revision).data, status=status.HTTP_201_CREATED)


class EnvironmentInput(serializers.Serializer):
    environment = serializers.ChoiceField(choices=EnvironmentName.choices)


class RollbackInput(EnvironmentInput):
    reason = api_fields.CharField(max_length=500, required=False, default="")


@extend_schema(request=EnvironmentInput, responses=PromotionOutput)
@api_view(["POST"])
def workload_promote(request, pk: int):
    workload = selectors.workload_for_user(request.user, pk=pk)
    data = EnvironmentInput(data=request.data)
    data.is_valid(raise_exception=True)
    with request_context(request):
        record = services.promote(
            workload=workload,
            environment_name=data.validated_data["environment"],
            actor=request.user,
        )
    return Response(
        {
            "environment": record.environment.name,
            "from_revision": record.from_revision.number if record.from_revision else None,
            "to_revision": record.to_revision.number,
            "gates": record.gate_results,
        }
    )


@extend_schema(request=RollbackInput, responses=RollbackOutput)
@api_view(["POST"])
def workload_rollback(request, pk: int):
    workload = selectors.workload_for_user(request.user, pk=pk)
    data = RollbackInput(data=request.data)
    data.is_valid(raise_exception=True)
    with request_context(request):
        record = services.rollback(
            workload=workload,
            environment_name=data.validated_data["environment"],
            actor=request.user,
            reason=data.validated_data["reason"],
        )
    return Response(
        {
            "environment": record.environment.name,
            "from_revision": record.from_revision.number,
            "to_revision": record.to_revision.number,
        }
    )
