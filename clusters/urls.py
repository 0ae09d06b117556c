"""Web URLs of the clusters app."""

from django.urls import path

from . import views

app_name = "clusters"
urlpatterns = [
    path("", views.cluster_list, name="list"),
    path("new/", views.cluster_create, name="create"),
    path("<slug:name>/", views.cluster_detail, name="detail"),
    path("<slug:name>/edit/", views.cluster_edit, name="edit"),
    path("<slug:name>/capacity/", views.capacity_override, name="capacity_override"),
    path("<slug:name>/preflight/", views.cluster_preflight, name="preflight"),
]
