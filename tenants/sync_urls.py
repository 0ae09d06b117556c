"""Web URLs of the tenant sync panel (mounted under /tenants/ before tenants.urls)."""

from django.urls import path

from . import sync_views

app_name = "tenants_sync"
urlpatterns = [
    path("<slug:slug>/sync/", sync_views.panel, name="panel"),
    path("<slug:slug>/sync/force/", sync_views.force_sync, name="force"),
    path(
        "<slug:slug>/sync/resolve-conflicts/",
        sync_views.resolve_conflicts,
        name="resolve_conflicts",
    ),
    path("<slug:slug>/sync/adopt/", sync_views.adopt, name="adopt"),
    path(
        "<slug:slug>/sync/delete-namespaces/",
        sync_views.confirm_namespace_deletion,
        name="delete_namespaces",
    ),
]
