"""API URLs of the tenants app, mounted under /api/v1/."""

urlpatterns: list = []
