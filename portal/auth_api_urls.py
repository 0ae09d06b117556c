"""/api/v1/auth/: the token endpoint and personal API tokens live in accounts."""

from django.urls import include, path

urlpatterns = [path("", include("accounts.api_urls"))]
