"""/api/v1/auth/: the token endpoint and the signed-in user's tokens."""

from django.urls import path

from . import api

urlpatterns = [
    path("auth/token/", api.ObtainToken.as_view(), name="api-token"),
    path("auth/tokens/", api.TokenList.as_view(), name="api-auth-tokens"),
    path("auth/tokens/<int:pk>/", api.TokenDetail.as_view(), name="api-auth-token-item"),
]
