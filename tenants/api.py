"""REST API of tenancy: tenants (onboard, approve, reject), quota requests and the GPU catalog.

Same rules as the web: members see only their tenants (404 otherwise), decisions are for
platform admins (403 for others who can see the object). Writes record the actor in the audit.
"""

from decimal import Decimal

from django.http import Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response

from clusters.models import Cluster
from portal import roles
from portal.api_fields import (
    CharField,
    EmailField,
    RegexField,
    SlugField,
    StrictBooleanField,
    StrictDecimalField,
    StrictIntegerField,
)
from portal.audit import request_context

from . import catalog, decisions, selectors, services
from .models import (
    MAX_UNITS,
    TENANT_SLUG_MAX,
    EnvironmentName,
    GpuProfile,
    QuotaGrant,
    QuotaRequest,
    Tenant,
    Tier,
    dns1123_label,
)

DNS1123 = dns1123_label.regex.pattern
DNS1123_MESSAGE = (
    "Use lowercase letters, digits and '-', starting and ending with a letter or digit."
)


def units_field(**kwargs):
    return StrictIntegerField(min_value=0, max_value=MAX_UNITS, **kwargs)


# --- output -----------------------------------------------------------------------------------


class EnvironmentOutput(serializers.Serializer):
    name = serializers.CharField()
    namespace = serializers.CharField()
    cluster = serializers.CharField(source="cluster.name")


class GrantOutput(serializers.ModelSerializer):
    environment = serializers.CharField(source="environment.name")
    namespace = serializers.CharField(source="environment.namespace")
    profile = serializers.CharField(source="profile.name")
    limit = serializers.IntegerField()

    class Meta:
        model = QuotaGrant
        fields = ["id", "environment", "namespace", "profile", "guaranteed", "burst", "limit",
                  "granted_at", "updated_at"]  # fmt: skip


class QuotaRequestOutput(serializers.ModelSerializer):
    tenant = serializers.CharField(source="tenant.slug")
    environment = serializers.CharField(source="environment.name")
    namespace = serializers.CharField(source="environment.namespace")
    profile = serializers.CharField(source="profile.name")
    requested_by = serializers.CharField(
        source="requested_by.username", default=None, allow_null=True
    )
    decided_by = serializers.CharField(source="decided_by.username", default=None, allow_null=True)

    class Meta:
        model = QuotaRequest
        fields = ["id", "tenant", "environment", "namespace", "profile", "guaranteed", "burst",
                  "justification", "status", "requested_by", "created_at", "decided_by",
                  "decided_at", "decision_reason"]  # fmt: skip


class TenantOutput(serializers.ModelSerializer):
    cluster = serializers.CharField(source="cluster.name")
    decided_by = serializers.CharField(source="decided_by.username", default=None, allow_null=True)

    class Meta:
        model = Tenant
        fields = ["slug", "name", "team", "cost_center", "contact_email", "oncall_contact",
                  "description", "tier", "cluster", "status", "decided_by", "decided_at",
                  "decision_reason", "desired_generation", "applied_generation",
                  "created_at"]  # fmt: skip


class MemberOutput(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    role = serializers.CharField()


class TenantDetailOutput(TenantOutput):
    environments = EnvironmentOutput(many=True, source="environment_list")
    grants = GrantOutput(many=True)
    requests = QuotaRequestOutput(many=True)
    members = MemberOutput(many=True)

    class Meta(TenantOutput.Meta):
        fields = [*TenantOutput.Meta.fields, "environments", "grants", "requests", "members"]


class GpuProfileOutput(serializers.ModelSerializer):
    class Meta:
        model = GpuProfile
        fields = ["name", "display_name", "gpu_model", "gpu_product", "partition", "mig_profile",
                  "resource_name", "gpu_fraction", "replicas", "memory_gb",
                  "is_active"]  # fmt: skip


# --- input ------------------------------------------------------------------------------------


class InitialQuotaInput(serializers.Serializer):
    environment = serializers.ChoiceField(choices=EnvironmentName.choices)
    profile = serializers.SlugRelatedField(
        slug_field="name", queryset=GpuProfile.objects.filter(is_active=True)
    )
    guaranteed = units_field()
    burst = units_field(default=0)
    justification = CharField(max_length=4000)


class TenantInput(serializers.Serializer):
    name = CharField(max_length=100)
    slug = RegexField(
        DNS1123, max_length=TENANT_SLUG_MAX, error_messages={"invalid": DNS1123_MESSAGE}
    )
    team = CharField(max_length=100)
    cost_center = RegexField(
        r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$",
        max_length=63,
        error_messages={"invalid": "Use letters, digits, '-', '_' or '.'."},
    )
    contact_email = EmailField(max_length=254)
    oncall_contact = CharField(max_length=200, required=False, default="")
    description = CharField(max_length=2000, required=False, default="", allow_blank=True)
    environments = serializers.ListField(
        child=serializers.ChoiceField(choices=EnvironmentName.choices),
        min_length=1,
        max_length=3,
    )
    tier = serializers.ChoiceField(choices=Tier.choices, default=Tier.SMALL)
    cluster = serializers.SlugRelatedField(
        slug_field="name", queryset=Cluster.objects.filter(is_active=True)
    )
    initial_quota = InitialQuotaInput(required=False, allow_null=True)


class QuotaRequestInput(serializers.Serializer):
    tenant = SlugField(max_length=63)
    environment = serializers.ChoiceField(choices=EnvironmentName.choices)
    profile = serializers.SlugRelatedField(
        slug_field="name", queryset=GpuProfile.objects.filter(is_active=True)
    )
    guaranteed = units_field()
    burst = units_field(default=0)
    justification = CharField(max_length=4000)


class ReasonInput(serializers.Serializer):
    reason = CharField(max_length=2000)


class GpuProfileInput(serializers.Serializer):
    name = RegexField(DNS1123, max_length=63, error_messages={"invalid": DNS1123_MESSAGE})
    display_name = CharField(max_length=100)
    gpu_model = CharField(max_length=100)
    gpu_product = CharField(max_length=100)
    partition = serializers.ChoiceField(choices=GpuProfile.Partition.choices)
    mig_profile = CharField(max_length=32, required=False, allow_blank=True)
    resource_name = RegexField(
        r"^[a-z0-9.-]+/[a-z0-9.-]+$",
        max_length=100,
        error_messages={"invalid": "Use an extended resource name, e.g. nvidia.com/gpu."},
    )
    gpu_fraction = StrictDecimalField(
        max_digits=5,
        decimal_places=4,
        min_value=Decimal("0.0001"),
        max_value=Decimal("1"),
        required=False,
    )
    replicas = StrictIntegerField(min_value=1, max_value=64, required=False)
    memory_gb = StrictIntegerField(min_value=0, max_value=4096, required=False)
    is_active = StrictBooleanField(required=False)


# --- views ------------------------------------------------------------------------------------


def _paginated(request, queryset, serializer_class):
    paginator = LimitOffsetPagination()
    page = paginator.paginate_queryset(queryset, request)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


@extend_schema(methods=["GET"], responses=TenantOutput(many=True))
@extend_schema(methods=["POST"], request=TenantInput, responses={201: TenantDetailOutput})
@api_view(["GET", "POST"])
def tenant_collection(request):
    if request.method == "GET":
        qs = selectors.visible_tenants(request.user).select_related("decided_by")
        wanted = request.query_params.get("status")
        if wanted in Tenant.Status.values:
            qs = qs.filter(status=wanted)
        return _paginated(request, qs.order_by("slug"), TenantOutput)
    data = TenantInput(data=request.data)
    data.is_valid(raise_exception=True)
    fields = dict(data.validated_data)
    initial_quota = fields.pop("initial_quota", None)
    with request_context(request):
        tenant = services.onboard_tenant(
            actor=request.user, initial_quota=initial_quota and dict(initial_quota), **fields
        )
    return Response(_tenant_detail(tenant), status=status.HTTP_201_CREATED)


# the view paginates by hand: tell the schema so it documents the {count, results} envelope
tenant_collection.cls.pagination_class = LimitOffsetPagination


def _tenant_detail(tenant: Tenant) -> dict:
    overview = selectors.tenant_overview(tenant)
    tenant.grants = overview["grants"]
    tenant.requests = overview["requests"]
    tenant.members = overview["members"]
    tenant.environment_list = overview["environments"]
    return TenantDetailOutput(tenant).data


@extend_schema(responses=TenantDetailOutput)
@api_view(["GET"])
def tenant_item(request, slug):
    tenant = selectors.get_tenant_for_user(request.user, slug)
    return Response(_tenant_detail(tenant))


@extend_schema(request=None, responses=TenantOutput)
@api_view(["POST"])
def tenant_approve(request, slug):
    tenant = selectors.get_tenant_for_user(request.user, slug)
    roles.require(request.user, roles.PLATFORM_ADMIN)
    with request_context(request):
        tenant = decisions.approve_tenant(actor=request.user, tenant=tenant)
    return Response(TenantOutput(tenant).data)


@extend_schema(request=ReasonInput, responses=TenantOutput)
@api_view(["POST"])
def tenant_reject(request, slug):
    tenant = selectors.get_tenant_for_user(request.user, slug)
    roles.require(request.user, roles.PLATFORM_ADMIN)
    data = ReasonInput(data=request.data)
    data.is_valid(raise_exception=True)
    with request_context(request):
        tenant = decisions.reject_tenant(
            actor=request.user, tenant=tenant, reason=data.validated_data["reason"]
        )
    return Response(TenantOutput(tenant).data)


@extend_schema(methods=["GET"], responses=QuotaRequestOutput(many=True))
@extend_schema(methods=["POST"], request=QuotaRequestInput, responses={201: QuotaRequestOutput})
@api_view(["GET", "POST"])
def quota_request_collection(request):
    if request.method == "GET":
        qs = selectors.visible_quota_requests(request.user)
        wanted = request.query_params.get("status")
        if wanted in QuotaRequest.Status.values:
            qs = qs.filter(status=wanted)
        return _paginated(request, qs.order_by("-created_at", "-pk"), QuotaRequestOutput)
    data = QuotaRequestInput(data=request.data)
    data.is_valid(raise_exception=True)
    fields = data.validated_data
    tenant = selectors.get_tenant_for_user(request.user, fields["tenant"])
    environment = tenant.environments.filter(name=fields["environment"]).first()
    if environment is None:
        raise serializers.ValidationError(
            {"environment": [f"Tenant {tenant.slug} has no {fields['environment']} environment."]}
        )
    with request_context(request):
        qr = services.request_quota(
            actor=request.user,
            tenant=tenant,
            environment=environment,
            profile=fields["profile"],
            guaranteed=fields["guaranteed"],
            burst=fields["burst"],
            justification=fields["justification"],
        )
    qr = selectors.get_quota_request_for_user(request.user, qr.pk)
    return Response(QuotaRequestOutput(qr).data, status=status.HTTP_201_CREATED)


# the view paginates by hand: tell the schema so it documents the {count, results} envelope
quota_request_collection.cls.pagination_class = LimitOffsetPagination


@extend_schema(responses=QuotaRequestOutput)
@api_view(["GET"])
def quota_request_item(request, pk):
    return Response(QuotaRequestOutput(selectors.get_quota_request_for_user(request.user, pk)).data)


@extend_schema(
    request=None,
    responses=inline_serializer(
        "QuotaApproval", {"request": QuotaRequestOutput(), "grant": GrantOutput()}
    ),
)
@api_view(["POST"])
def quota_request_approve(request, pk):
    qr = selectors.get_quota_request_for_user(request.user, pk)
    roles.require(request.user, roles.PLATFORM_ADMIN)
    with request_context(request):
        grant = decisions.approve_quota_request(actor=request.user, quota_request=qr)
    qr = selectors.get_quota_request_for_user(request.user, pk)
    return Response({"request": QuotaRequestOutput(qr).data, "grant": GrantOutput(grant).data})


@extend_schema(request=ReasonInput, responses=QuotaRequestOutput)
@api_view(["POST"])
def quota_request_reject(request, pk):
    qr = selectors.get_quota_request_for_user(request.user, pk)
    roles.require(request.user, roles.PLATFORM_ADMIN)
    data = ReasonInput(data=request.data)
    data.is_valid(raise_exception=True)
    with request_context(request):
        decisions.reject_quota_request(
            actor=request.user, quota_request=qr, reason=data.validated_data["reason"]
        )
    qr = selectors.get_quota_request_for_user(request.user, pk)
    return Response(QuotaRequestOutput(qr).data)


@extend_schema(methods=["GET"], responses=GpuProfileOutput(many=True))
@extend_schema(methods=["POST"], request=GpuProfileInput, responses={201: GpuProfileOutput})
@api_view(["GET", "POST"])
def gpu_profile_collection(request):
    if request.method == "GET":
        qs = GpuProfile.objects.all()
        if not roles.is_platform_admin(request.user):
            qs = qs.filter(is_active=True)
        return _paginated(request, qs, GpuProfileOutput)
    roles.require(request.user, roles.PLATFORM_ADMIN)
    data = GpuProfileInput(data=request.data)
    data.is_valid(raise_exception=True)
    with request_context(request):
        profile = catalog.create_gpu_profile(actor=request.user, **data.validated_data)
    return Response(GpuProfileOutput(profile).data, status=status.HTTP_201_CREATED)


# the view paginates by hand: tell the schema so it documents the {count, results} envelope
gpu_profile_collection.cls.pagination_class = LimitOffsetPagination


@extend_schema(methods=["GET"], responses=GpuProfileOutput)
@extend_schema(methods=["PATCH"], request=GpuProfileInput, responses=GpuProfileOutput)
@api_view(["GET", "PATCH"])
def gpu_profile_item(request, name):
    profile = GpuProfile.objects.filter(name=name).first()
    if profile is None or (not profile.is_active and not roles.is_platform_admin(request.user)):
        raise Http404
    if request.method == "GET":
        return Response(GpuProfileOutput(profile).data)
    roles.require(request.user, roles.PLATFORM_ADMIN)
    data = GpuProfileInput(data=request.data, partial=True)
    data.is_valid(raise_exception=True)
    fields = {k: v for k, v in data.validated_data.items() if k != "name"}
    with request_context(request):
        profile = catalog.update_gpu_profile(actor=request.user, profile=profile, **fields)
    return Response(GpuProfileOutput(profile).data)
