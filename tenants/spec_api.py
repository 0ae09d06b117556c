"""REST API of tenants as code: GET/PUT /api/v1/tenants/{slug}/spec/ and the document's JSON
Schema at /api/v1/schemas/tenant-spec.json. JSON or YAML in; JSON out."""

import yaml
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from portal.audit import request_context

from . import selectors
from .models import Tenant
from .spec import SCHEMA, SpecInvalid, current_spec
from .spec_services import apply_tenant_spec


class YAMLParser(BaseParser):
    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return yaml.safe_load(stream.read().decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"YAML parse error: {exc}") from exc


class TextYAMLParser(YAMLParser):
    media_type = "text/yaml"


def _flag(request, name: str) -> bool:
    value = request.query_params.get(name, "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise exceptions.ValidationError({name: ["Use true or false."]})
    return value in ("true", "1")


PLAN = inline_serializer(
    "TenantSpecPlan",
    {
        "slug": serializers.CharField(),
        "digest": serializers.CharField(),
        "changes": serializers.IntegerField(),
        "steps": serializers.ListField(child=serializers.DictField()),
    },
)
APPLY_RESULT = inline_serializer(
    "TenantSpecResult",
    {
        "applied": serializers.BooleanField(),
        "dry_run": serializers.BooleanField(),
        "plan": PLAN,
        "spec": serializers.DictField(allow_null=True),
    },
)


@extend_schema(
    methods=["GET"],
    responses={200: OpenApiTypes.OBJECT},
    description="The tenant as a tenant document (see /api/v1/schemas/tenant-spec.json).",
)
@extend_schema(
    methods=["PUT"],
    request={"application/json": OpenApiTypes.OBJECT, "application/yaml": OpenApiTypes.OBJECT},
    parameters=[
        OpenApiParameter("dry_run", bool, description="answer the plan, write nothing"),
        OpenApiParameter("prune", bool, description="remove members and quota not listed"),
    ],
    responses={200: APPLY_RESULT, 201: APPLY_RESULT},
    description=(
        "Make the tenant look like the document (schema: /api/v1/schemas/tenant-spec.json). "
        "Idempotent. Quota above what is granted becomes a pending request."
    ),
)
@api_view(["GET", "PUT"])
@parser_classes([JSONParser, YAMLParser, TextYAMLParser])
def tenant_spec(request, slug):
    exists = Tenant.objects.filter(slug=slug).exists()
    if exists or request.method == "GET":
        tenant = selectors.get_tenant_for_user(request.user, slug)  # 404 for others' tenants
    if request.method == "GET":
        return Response(current_spec(tenant))
    dry_run, prune = _flag(request, "dry_run"), _flag(request, "prune")
    try:
        with request_context(request):
            plan = apply_tenant_spec(
                actor=request.user, slug=slug, document=request.data, dry_run=dry_run, prune=prune
            )
    except SpecInvalid as exc:
        raise exceptions.ValidationError(exc.errors) from exc
    applied = bool(plan.changes) and not dry_run
    spec = None
    if not dry_run or exists:
        spec = current_spec(selectors.get_tenant_for_user(request.user, slug))
    code = status.HTTP_201_CREATED if applied and not exists else status.HTTP_200_OK
    return Response(
        {"applied": applied, "dry_run": dry_run, "plan": plan.as_dict(), "spec": spec},
        status=code,
    )


@extend_schema(responses={200: OpenApiTypes.OBJECT})
@api_view(["GET"])
@permission_classes([AllowAny])
def tenant_spec_schema(request):
    """The JSON Schema of the tenant document."""
    return Response(SCHEMA)
