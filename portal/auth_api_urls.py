"""POST /api/v1/auth/token/ {username, password} -> {token}."""

from django.urls import path
from rest_framework.authtoken.views import ObtainAuthToken

urlpatterns = [path("auth/token/", ObtainAuthToken.as_view(), name="api-token")]
