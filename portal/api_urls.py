"""/api/v1/: each app contributes its endpoints from its own api_urls.py."""

from django.urls import include, path

urlpatterns = [
    path("", include("portal.auth_api_urls")),
    path("", include("tenants.sync_api_urls")),
    path("", include("tenants.api_urls")),
    path("", include("clusters.api_urls")),
    path("", include("workloads.api_urls")),
    path("", include("contracts.api_urls")),
    path("", include("costs.api_urls")),
    path("", include("guardrails.api_urls")),
]
