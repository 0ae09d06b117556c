"""API URLs of the contracts app, mounted under /api/v1/."""

urlpatterns: list = []
