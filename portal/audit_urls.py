"""The audit trail pages (portal/audit_views.py)."""

from django.urls import path

from . import audit_views

app_name = "audit"
urlpatterns = [
    path("", audit_views.audit_list, name="list"),
    path("export.csv", audit_views.audit_csv, name="csv"),
]
