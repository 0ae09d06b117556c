"""REST API of the cluster registry (platform admins): CRUD with write-only credentials, and
capacity per GPU product/resource with the guaranteed and burst units granted on it."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from portal import api_fields, roles
from portal.audit import request_context

from . import selectors, services
from .models import Cluster
from .services import CREDENTIAL_FIELDS


class ClusterOutput(serializers.ModelSerializer):
    credentials = serializers.SerializerMethodField(
        help_text="Which credentials are stored ('set'/'not set'); values are never returned."
    )

    class Meta:
        model = Cluster
        fields = [
            "name", "display_name", "region", "kubernetes_version", "gpu_pool", "backend",
            "is_active", "api_server_url", "verify_tls", "gitops_repo_url", "gitops_branch",
            "prometheus_url", "alertmanager_url", "grafana_url", "credentials", "created_at",
            "updated_at",
        ]  # fmt: skip

    def get_credentials(self, obj) -> dict[str, str]:
        return {name: "set" if getattr(obj, name) else "not set" for name in CREDENTIAL_FIELDS}


class ClusterInput(serializers.Serializer):
    name = api_fields.SlugField(max_length=63)
    display_name = api_fields.CharField(max_length=100, required=False, allow_blank=True)
    region = api_fields.CharField(max_length=63, required=False, allow_blank=True)
    kubernetes_version = api_fields.RegexField(r"^1\.\d{1,2}$", required=False)
    gpu_pool = api_fields.SlugField(max_length=63, required=False)
    backend = serializers.ChoiceField(choices=Cluster.Backend.choices, required=False)
    is_active = api_fields.StrictBooleanField(required=False)
    api_server_url = api_fields.URLField(required=False, allow_blank=True)
    verify_tls = api_fields.StrictBooleanField(required=False)
    gitops_repo_url = api_fields.CharField(max_length=500, required=False, allow_blank=True)
    gitops_branch = api_fields.CharField(max_length=100, required=False)
    prometheus_url = api_fields.URLField(required=False, allow_blank=True)
    api_token = api_fields.CharField(required=False, allow_blank=True, write_only=True)
    ca_cert = api_fields.CharField(required=False, allow_blank=True, write_only=True)
    kubeconfig = api_fields.CharField(required=False, allow_blank=True, write_only=True)
    gitops_credentials = api_fields.CharField(required=False, allow_blank=True, write_only=True)
    prometheus_token = api_fields.CharField(required=False, allow_blank=True, write_only=True)
    alertmanager_url = api_fields.URLField(required=False, allow_blank=True)
    alertmanager_token = api_fields.CharField(required=False, allow_blank=True, write_only=True)
    grafana_url = api_fields.URLField(required=False, allow_blank=True)


class ClusterCapacityLineOutput(serializers.Serializer):
    gpu_product = serializers.CharField()
    resource_name = serializers.CharField()
    allocatable = serializers.IntegerField()
    override = serializers.IntegerField(allow_null=True)
    capacity = serializers.IntegerField()
    guaranteed_allocated = serializers.IntegerField(source="guaranteed")
    free = serializers.IntegerField()
    burst_granted = serializers.IntegerField(source="burst")
    observed_at = serializers.DateTimeField(allow_null=True)


class ClusterCapacityOutput(serializers.Serializer):
    cluster = serializers.CharField()
    capacity = ClusterCapacityLineOutput(many=True)


@extend_schema(methods=["GET"], responses=ClusterOutput(many=True))
@extend_schema(methods=["POST"], request=ClusterInput, responses={201: ClusterOutput})
@api_view(["GET", "POST"])
def cluster_collection(request):
    roles.require(request.user, roles.PLATFORM_ADMIN)
    if request.method == "GET":
        return Response(ClusterOutput(Cluster.objects.all(), many=True).data)
    data = ClusterInput(data=request.data)
    data.is_valid(raise_exception=True)
    with request_context(request):
        cluster = services.create_cluster(actor=request.user, **data.validated_data)
    return Response(ClusterOutput(cluster).data, status=status.HTTP_201_CREATED)


@extend_schema(methods=["GET"], responses=ClusterOutput)
@extend_schema(methods=["PUT", "PATCH"], request=ClusterInput, responses=ClusterOutput)
@extend_schema(methods=["DELETE"], responses={204: None})
@api_view(["GET", "PUT", "PATCH", "DELETE"])
def cluster_item(request, name):
    roles.require(request.user, roles.PLATFORM_ADMIN)
    cluster = selectors.get_cluster(name)
    if request.method == "GET":
        return Response(ClusterOutput(cluster).data)
    if request.method == "DELETE":
        with request_context(request):
            services.delete_cluster(actor=request.user, cluster=cluster)
        return Response(status=status.HTTP_204_NO_CONTENT)
    body = request.data
    data = ClusterInput(
        data={"name": cluster.name, **body} if isinstance(body, dict) else body,
        partial=request.method == "PATCH",
    )
    data.is_valid(raise_exception=True)
    fields = {k: v for k, v in data.validated_data.items() if k != "name"}
    with request_context(request):
        cluster = services.update_cluster(actor=request.user, cluster=cluster, **fields)
    return Response(ClusterOutput(cluster).data)


@extend_schema(responses=ClusterCapacityOutput)
@api_view(["GET"])
def cluster_capacity(request, name):
    roles.require(request.user, roles.PLATFORM_ADMIN)
    cluster = selectors.get_cluster(name)
    return Response(
        {
            "cluster": cluster.name,
            "capacity": ClusterCapacityLineOutput(
                selectors.capacity_lines(cluster), many=True
            ).data,
        }
    )


class MissingPermissionOutput(serializers.Serializer):
    group = serializers.CharField()
    resource = serializers.CharField()
    verb = serializers.CharField()
    name = serializers.CharField(help_text="resource name the rule is limited to, if any")
    why = serializers.CharField()


class PreflightOutput(serializers.Serializer):
    cluster = serializers.CharField(source="cluster.name")
    applicable = serializers.BooleanField()
    reachable = serializers.BooleanField()
    ok = serializers.BooleanField()
    checked = serializers.IntegerField(help_text="verbs asked with SelfSubjectAccessReview")
    missing = MissingPermissionOutput(many=True)
    error = serializers.CharField()


@extend_schema(responses=PreflightOutput, summary="What the portal may not do on the cluster")
@api_view(["GET"])
def cluster_preflight(request, name):
    roles.require(request.user, roles.PLATFORM_ADMIN)
    cluster = selectors.get_cluster(name)
    return Response(PreflightOutput(selectors.cluster_preflight(cluster)).data)
