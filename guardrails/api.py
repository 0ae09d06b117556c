"""REST API of the guardrails (platform admins): each cluster's mode, and rule exemptions
(list the live ones, grant one). Errors are problem+json (portal.api_errors)."""

import pghistory
from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from clusters.selectors import get_cluster
from portal import roles
from portal.domain_errors import DomainError
from tenants.models import Environment, EnvironmentName
from workloads.models import Workload

from . import selectors, services
from .models import ClusterGuardrails
from .rules import RULE_CHOICES


def _admin(request) -> None:
    if not roles.is_platform_admin(request.user):
        raise PermissionDenied


class ClusterModeOutput(serializers.Serializer):
    cluster = serializers.CharField(source="cluster.name")
    kubernetes_version = serializers.CharField(source="cluster.kubernetes_version")
    mode = serializers.ChoiceField(choices=ClusterGuardrails.Mode.choices)
    enforced = serializers.BooleanField(
        help_text="False before Kubernetes 1.30: no ValidatingAdmissionPolicy is rendered there."
    )


class ClusterModeInput(serializers.Serializer):
    mode = serializers.ChoiceField(choices=ClusterGuardrails.Mode.choices)


class ExemptionOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    tenant = serializers.CharField(source="environment.tenant.slug")
    workload = serializers.CharField(source="workload.name")
    environment = serializers.CharField(source="environment.name")
    rule = serializers.CharField()
    reason = serializers.CharField()
    expires_at = serializers.DateTimeField()
    granted_by = serializers.CharField(source="granted_by.username", allow_null=True)


class ExemptionInput(serializers.Serializer):
    tenant = serializers.SlugField(max_length=63)
    workload = serializers.SlugField(max_length=63)
    environment = serializers.ChoiceField(choices=EnvironmentName.choices)
    rule = serializers.ChoiceField(choices=RULE_CHOICES)
    reason = serializers.CharField(max_length=2000)
    expires_at = serializers.DateTimeField()


@extend_schema(responses=ClusterModeOutput(many=True))
@api_view(["GET"])
def cluster_modes(request):
    _admin(request)
    return Response(ClusterModeOutput(selectors.cluster_statuses(), many=True).data)


@extend_schema(methods=["GET"], responses=ClusterModeOutput)
@extend_schema(methods=["PUT"], request=ClusterModeInput, responses=ClusterModeOutput)
@api_view(["GET", "PUT"])
def cluster_mode(request, name):
    _admin(request)
    cluster = get_cluster(name)
    if request.method == "PUT":
        data = ClusterModeInput(data=request.data)
        data.is_valid(raise_exception=True)
        with pghistory.context(url=request.path):
            services.set_cluster_mode(
                actor=request.user, cluster=cluster, mode=data.validated_data["mode"]
            )
    return Response(ClusterModeOutput(selectors.cluster_status(cluster)).data)


@extend_schema(methods=["GET"], responses=ExemptionOutput(many=True))
@extend_schema(methods=["POST"], request=ExemptionInput, responses={201: ExemptionOutput})
@api_view(["GET", "POST"])
def exemptions(request):
    _admin(request)
    if request.method == "GET":
        return Response(ExemptionOutput(selectors.live_rule_exemptions(), many=True).data)
    data = ExemptionInput(data=request.data)
    data.is_valid(raise_exception=True)
    v = data.validated_data
    workload = Workload.objects.filter(tenant__slug=v["tenant"], name=v["workload"]).first()
    if workload is None:
        raise DomainError(f"{v['tenant']} has no workload {v['workload']}.", field="workload")
    environment = Environment.objects.filter(
        tenant_id=workload.tenant_id, name=v["environment"]
    ).first()
    if environment is None:
        raise DomainError(
            f"{v['tenant']} has no {v['environment']} environment.", field="environment"
        )
    with pghistory.context(url=request.path):
        exemption = services.grant_rule_exemption(
            actor=request.user,
            workload=workload,
            environment=environment,
            rule=v["rule"],
            reason=v["reason"],
            expires_at=v["expires_at"],
        )
    return Response(ExemptionOutput(exemption).data, status=status.HTTP_201_CREATED)
