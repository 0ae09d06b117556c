"""API URLs of the workloads app, mounted under /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path("workloads/", api.workload_collection, name="api-workloads"),
    path("workloads/<int:pk>/", api.workload_detail, name="api-workload"),
    path("workloads/<int:pk>/revisions/", api.workload_revisions, name="api-workload-revisions"),
    path("workloads/<int:pk>/promote/", api.workload_promote, name="api-workload-promote"),
    path("workloads/<int:pk>/rollback/", api.workload_rollback, name="api-workload-rollback"),
]
