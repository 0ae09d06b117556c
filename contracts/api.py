"""REST API of interface documents (GET, PATCH one section, sign-off, Markdown), the on-call
directory and the generated Alertmanager configuration."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response

from portal import roles
from portal.api_fields import StrictModelSerializer
from portal.audit import request_context
from workloads import selectors as workload_selectors

from . import selectors, services
from .alertmanager import to_yaml
from .models import OnCallTeam


def document_output(request, workload) -> dict:
    document = selectors.document_of(workload)
    if document is None:
        services.ensure_document(workload)
        document = selectors.document_of(workload)
    readiness = selectors.readiness_of(document, workload.template)
    return {
        "workload": workload.pk,
        "version": document.version,
        "content": selectors.content_of(document, workload),
        "complete": not readiness.missing,
        "missing": readiness.missing,
        "signed_off": readiness.signed_off,
        "signed_off_version": readiness.signed_off_version,
        "signed_off_by": readiness.signed_off_by or None,
        "editable_sections": selectors.editable_sections(request.user, workload.tenant),
    }


class SectionPatch(serializers.Serializer):
    section = serializers.ChoiceField(choices=list(selectors.SECTIONS))


class DocumentOutput(serializers.Serializer):
    workload = serializers.IntegerField()
    version = serializers.IntegerField()
    content = serializers.JSONField()
    complete = serializers.BooleanField()
    missing = serializers.ListField(child=serializers.CharField())
    signed_off = serializers.BooleanField()
    signed_off_version = serializers.IntegerField(allow_null=True)
    signed_off_by = serializers.CharField(allow_null=True)
    editable_sections = serializers.ListField(child=serializers.CharField())


def _text(media_type: str, what: str) -> dict:
    return {(200, media_type): OpenApiResponse(OpenApiTypes.STR, description=what)}


@extend_schema(methods=["GET"], responses=DocumentOutput)
@extend_schema(methods=["PATCH"], request=SectionPatch, responses=DocumentOutput)
@api_view(["GET", "PATCH"])
def interface_document(request, pk: int):
    """PATCH body: {"section": "slos", "p99_latency_ms": 200, ...} (alerts: {"section":
    "alerts", "alerts": [{"signal", "threshold", "window", "paged_team"}]})."""
    workload = workload_selectors.workload_for_user(request.user, pk=pk)
    if request.method == "PATCH":
        data = SectionPatch(data=request.data)
        data.is_valid(raise_exception=True)
        values = {k: v for k, v in request.data.items() if k != "section"}
        with request_context(request):
            services.update_section(
                workload=workload,
                section=data.validated_data["section"],
                values=values,
                actor=request.user,
            )
    return Response(document_output(request, workload))


@extend_schema(request=None, responses=DocumentOutput)
@api_view(["POST"])
def interface_document_sign_off(request, pk: int):
    workload = workload_selectors.workload_for_user(request.user, pk=pk)
    with request_context(request):
        services.sign_off(workload=workload, actor=request.user)
    return Response(document_output(request, workload))


@extend_schema(responses=_text("text/markdown", "The document as Markdown"))
@api_view(["GET"])
def interface_document_markdown(request, pk: int):
    workload = workload_selectors.workload_for_user(request.user, pk=pk)
    document = selectors.document_of(workload) or services.ensure_document(workload)
    return HttpResponse(
        selectors.markdown_of(document, workload), content_type="text/markdown; charset=utf-8"
    )


class OnCallTeamSerializer(StrictModelSerializer):
    class Meta:
        model = OnCallTeam
        fields = [
            "id",
            "name",
            "display_name",
            "rotation",
            "escalation",
            "pager_url",
            "email",
            "chat_channel",
        ]
        read_only_fields = ["id"]


class OnCallTeamUpdate(OnCallTeamSerializer):
    class Meta(OnCallTeamSerializer.Meta):
        read_only_fields = ["id", "name"]
        extra_kwargs = {"display_name": {"required": False}}


def _sees_pager_urls(user) -> bool:
    return roles.is_sre(user) or roles.is_platform_admin(user)


def _team_data(request, data: dict) -> dict:
    """Pager URLs (often carrying an integration key) only for SREs and platform admins."""
    if not _sees_pager_urls(request.user):
        data = dict(data)
        data.pop("pager_url", None)
    return data


@extend_schema(
    methods=["GET"], responses=OnCallTeamSerializer(many=True), operation_id="v1_oncall_list"
)
@extend_schema(
    methods=["POST"], request=OnCallTeamSerializer, responses={201: OnCallTeamSerializer}
)
@api_view(["GET", "POST"])
def oncall_collection(request):
    if request.method == "GET":
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(OnCallTeam.objects.order_by("name"), request)
        rows = [_team_data(request, row) for row in OnCallTeamSerializer(page, many=True).data]
        return paginator.get_paginated_response(rows)
    roles.require(request.user, roles.SRE)
    data = OnCallTeamSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    with request_context(request):
        team = services.create_oncall_team(actor=request.user, **data.validated_data)
    return Response(OnCallTeamSerializer(team).data, status=status.HTTP_201_CREATED)


# the view paginates by hand: tell the schema so it documents the {count, results} envelope
oncall_collection.cls.pagination_class = LimitOffsetPagination


@extend_schema(methods=["GET"], responses=OnCallTeamSerializer)
@extend_schema(methods=["PATCH"], request=OnCallTeamUpdate, responses=OnCallTeamSerializer)
@extend_schema(methods=["DELETE"], responses={204: None})
@api_view(["GET", "PATCH", "DELETE"])
def oncall_item(request, pk: int):
    team = get_object_or_404(OnCallTeam, pk=pk)
    if request.method == "GET":
        return Response(_team_data(request, OnCallTeamSerializer(team).data))
    roles.require(request.user, roles.SRE)
    with request_context(request):
        if request.method == "DELETE":
            services.delete_oncall_team(team=team, actor=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = OnCallTeamUpdate(team, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        team = services.update_oncall_team(team=team, actor=request.user, **data.validated_data)
    return Response(OnCallTeamSerializer(team).data)


@extend_schema(responses=_text("application/yaml", "alertmanager.yml"))
@api_view(["GET"])
def alertmanager_config(request):
    roles.require(request.user, roles.SRE, roles.PLATFORM_ADMIN)
    return HttpResponse(to_yaml(selectors.alertmanager_config()), content_type="application/yaml")
