"""/oidc/: start single sign-on at the provider, and its callback (404 without an issuer)."""

from django.urls import path

from . import oidc

urlpatterns = [
    path("authenticate/", oidc.RequestView.as_view(), name="oidc_authentication_init"),
    path("callback/", oidc.CallbackView.as_view(), name="oidc_authentication_callback"),
]
