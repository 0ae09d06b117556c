"""API URLs of the clusters app, mounted under /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path("clusters/", api.cluster_collection, name="api-clusters"),
    path("clusters/<slug:name>/", api.cluster_item, name="api-cluster"),
    path("clusters/<slug:name>/capacity/", api.cluster_capacity, name="api-cluster-capacity"),
    path("clusters/<slug:name>/preflight/", api.cluster_preflight, name="api-cluster-preflight"),
]
