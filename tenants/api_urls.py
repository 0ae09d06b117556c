"""API URLs of the tenants app, mounted under /api/v1/."""

from django.urls import path

from . import api, spec_api

urlpatterns = [
    path("tenants/", api.tenant_collection, name="api-tenants"),
    path("tenants/<slug:slug>/", api.tenant_item, name="api-tenant"),
    path("tenants/<slug:slug>/spec/", spec_api.tenant_spec, name="api-tenant-spec"),
    path("schemas/tenant-spec.json", spec_api.tenant_spec_schema, name="api-tenant-spec-schema"),
    path("tenants/<slug:slug>/approve/", api.tenant_approve, name="api-tenant-approve"),
    path("tenants/<slug:slug>/reject/", api.tenant_reject, name="api-tenant-reject"),
    path("quota-requests/", api.quota_request_collection, name="api-quota-requests"),
    path("quota-requests/<int:pk>/", api.quota_request_item, name="api-quota-request"),
    path(
        "quota-requests/<int:pk>/approve/",
        api.quota_request_approve,
        name="api-quota-request-approve",
    ),
    path(
        "quota-requests/<int:pk>/reject/",
        api.quota_request_reject,
        name="api-quota-request-reject",
    ),
    path("gpu-profiles/", api.gpu_profile_collection, name="api-gpu-profiles"),
    path("gpu-profiles/<slug:name>/", api.gpu_profile_item, name="api-gpu-profile"),
]
