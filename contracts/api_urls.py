"""API URLs of the contracts app, mounted under /api/v1/."""

from django.urls import path

from . import api, slo_api

urlpatterns = [
    path(
        "workloads/<int:pk>/interface-document/",
        api.interface_document,
        name="api-interface-document",
    ),
    path(
        "workloads/<int:pk>/interface-document/sign-off/",
        api.interface_document_sign_off,
        name="api-interface-document-sign-off",
    ),
    path(
        "workloads/<int:pk>/interface-document.md",
        api.interface_document_markdown,
        name="api-interface-document-md",
    ),
    path("oncall/", api.oncall_collection, name="api-oncall"),
    path("oncall/<int:pk>/", api.oncall_item, name="api-oncall-item"),
    path("alertmanager-config/", api.alertmanager_config, name="api-alertmanager-config"),
    path("workloads/<int:pk>/slo/", slo_api.workload_slo, name="api-workload-slo"),
    path("tenants/<slug:slug>/slo/", slo_api.tenant_slo, name="api-tenant-slo"),
]
