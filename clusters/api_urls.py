"""API URLs of the clusters app, mounted under /api/v1/."""

urlpatterns: list = []
