"""Top-level URLs: each app owns its web urls.py and its api_urls.py."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from tenants.home_views import home

from . import guide

handler404 = "portal.api_errors.api_aware_page_not_found"

urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("audit/", include("portal.audit_urls")),
    path("tenants/", include("tenants.sync_urls")),
    path("tenants/", include("tenants.urls")),
    path("clusters/", include("clusters.urls")),
    path("workloads/", include("workloads.urls")),
    path("contracts/", include("contracts.urls")),
    path("costs/", include("costs.urls")),
    path("api/v1/", include("portal.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("guide/", guide.guide_page, name="guide"),
    path("guide/<path:path>", guide.guide_page, name="guide-page"),
]
