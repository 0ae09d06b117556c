"""Web URLs of the guardrails (platform admins)."""

from django.urls import path

from . import views

app_name = "guardrails"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("settings/", views.edit_settings, name="settings"),
    path("exceptions/pod-security/new/", views.grant_pod_security, name="grant_pod_security"),
    path("exceptions/rules/new/", views.grant_exemption, name="grant_exemption"),
    path("exceptions/revoke/", views.revoke, name="revoke"),
    path("tenants/<slug:slug>/", views.tenant_guardrails, name="tenant"),
    path("clusters/<slug:name>/", views.cluster_panel, name="cluster"),
    path("clusters/<slug:name>/mode/", views.cluster_mode, name="cluster_mode"),
]
