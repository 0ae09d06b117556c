"""API URL of the tenant sync status, mounted under /api/v1/ before tenants.api_urls."""

from django.urls import path

from . import sync_views

urlpatterns = [
    path("tenants/<slug:slug>/sync/", sync_views.tenant_sync_api, name="api-tenant-sync")
]
