"""Web URLs of the costs app."""

app_name = "costs"
urlpatterns: list = []
