"""API URLs of the costs app, mounted under /api/v1/."""

urlpatterns: list = []
