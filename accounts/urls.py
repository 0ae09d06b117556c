"""Web URLs of accounts: the user's own page."""

from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("", views.me, name="me"),
    path("tokens/revoke/", views.revoke, name="revoke_token"),
]
