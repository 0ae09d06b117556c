"""API URLs of the guardrails, mounted under /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path("guardrails/clusters/", api.cluster_modes, name="api-guardrails-clusters"),
    path("guardrails/clusters/<slug:name>/", api.cluster_mode, name="api-guardrails-cluster"),
    path("guardrails/exemptions/", api.exemptions, name="api-guardrails-exemptions"),
]
