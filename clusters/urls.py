"""Web URLs of the clusters app."""

app_name = "clusters"
urlpatterns: list = []
