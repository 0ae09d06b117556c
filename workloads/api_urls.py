"""API URLs of the workloads app, mounted under /api/v1/."""

urlpatterns: list = []
