"""Web URLs of the contracts app."""

from django.urls import path

from . import slo_views, views

app_name = "contracts"
urlpatterns = [
    path("", views.document_list, name="list"),
    path("oncall/", views.oncall_directory, name="oncall"),
    path("oncall/<int:pk>/", views.oncall_edit, name="oncall_edit"),
    path("alertmanager/", views.alertmanager, name="alertmanager"),
    path("alertmanager.yml", views.alertmanager_yaml, name="alertmanager_yaml"),
    path("slo/", slo_views.slo_overview, name="slo_overview"),
    path("slo/tenants/<slug:slug>/", slo_views.tenant_slo, name="tenant_slo"),
    path("<slug:slug>/<slug:name>/slo/", slo_views.workload_slo, name="workload_slo"),
    path("<slug:slug>/<slug:name>/silence/", slo_views.workload_silence, name="silence"),
    path(
        "<slug:slug>/<slug:name>/slo-override/",
        slo_views.workload_slo_override,
        name="slo_override",
    ),
    path("<slug:slug>/<slug:name>/interface-document/", views.document, name="document"),
    path(
        "<slug:slug>/<slug:name>/interface-document.md",
        views.document_markdown,
        name="document_md",
    ),
    path(
        "<slug:slug>/<slug:name>/interface-document/<slug:section>/",
        views.edit_section,
        name="edit_section",
    ),
    path("<slug:slug>/<slug:name>/interface-document/sign-off", views.sign_off, name="sign_off"),
]
