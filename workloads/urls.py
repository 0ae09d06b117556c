"""Web URLs of the workloads app."""

from django.urls import path

from . import views

app_name = "workloads"
urlpatterns = [
    path("<slug:slug>/", views.workload_list, name="list"),
    path("<slug:slug>/new/", views.workload_create, name="create"),
    path("<slug:slug>/<slug:name>/", views.workload_detail, name="detail"),
    path("<slug:slug>/<slug:name>/revise/", views.workload_revise, name="revise"),
    path("<slug:slug>/<slug:name>/promote/", views.workload_promote, name="promote"),
    path("<slug:slug>/<slug:name>/rollback/", views.workload_rollback, name="rollback"),
    path("<slug:slug>/<slug:name>/canary/", views.workload_canary, name="canary"),
]
