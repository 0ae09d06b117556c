"""The audit trail pages (built out in portal/audit_views.py)."""

urlpatterns: list = []
