"""API of accounts: the token endpoint (username + password -> an expiring token) and the
signed-in user's own tokens (list, create, revoke)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import ApiToken
from .services import signin, tokens


class Locked(exceptions.Throttled):
    default_detail = "Too many failed sign-ins."


class TokenSerializer(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id", "name", "prefix", "state", "created_at", "expires_at", "last_used_at",
            "revoked_at",
        ]  # fmt: skip
        read_only_fields = fields


class NewTokenSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    expires_in_days = serializers.IntegerField(required=False, min_value=1, max_value=3650)


class CreatedTokenSerializer(TokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The key; shown only this once.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


def _created(token, key) -> dict:
    data = CreatedTokenSerializer(token).data
    data["token"] = key
    return data


class ObtainToken(APIView):
    """POST {username, password} -> a new expiring token (name "api-token"). Failed attempts
    count towards the account's and the address's lockout (429 with Retry-After)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=CredentialsSerializer,
        responses={
            200: inline_serializer(
                "ObtainedToken",
                {"token": serializers.CharField(), "expires_at": serializers.DateTimeField()},
            )
        },
    )
    def post(self, request):
        credentials = CredentialsSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        try:
            user = signin.sign_in(
                request=request,
                username=credentials.validated_data["username"],
                password=credentials.validated_data["password"],
                channel="api",
            )
        except signin.Refused as exc:
            raise Locked(detail=str(exc), wait=exc.retry_after) from None
        if user is None:
            raise exceptions.ValidationError(
                {"non_field_errors": ["Unable to log in with provided credentials."]}
            )
        token, key = tokens.create_token(user=user, name="api-token")
        return Response(
            {"token": key, "expires_at": token.expires_at, "id": token.pk, "name": token.name}
        )


class TokenList(APIView):
    @extend_schema(responses=TokenSerializer(many=True))
    def get(self, request):
        rows = ApiToken.objects.filter(user=request.user)
        return Response(TokenSerializer(rows, many=True).data)

    @extend_schema(request=NewTokenSerializer, responses={201: CreatedTokenSerializer})
    def post(self, request):
        body = NewTokenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token, key = tokens.create_token(
            user=request.user,
            name=body.validated_data["name"],
            days=body.validated_data.get("expires_in_days"),
        )
        return Response(_created(token, key), status=status.HTTP_201_CREATED)


class TokenDetail(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="Token id")],
        responses={204: None},
    )
    def delete(self, request, pk: int):
        token = get_object_or_404(ApiToken, pk=pk, user=request.user)
        tokens.revoke_token(actor=request.user, token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)
