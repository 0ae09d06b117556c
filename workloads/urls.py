"""Web URLs of the workloads app."""

app_name = "workloads"
urlpatterns: list = []
