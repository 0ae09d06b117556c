"""OpenID Connect sign-in on mozilla-django-oidc: the provider's endpoints from its discovery
document, the ID token's signature, issuer, audience and expiry verified, users matched by their
(issuer, subject) identity, created at first login, and their portal roles set from their groups
at every login. Enabled by PORTAL_OIDC_ISSUER (docs/configuration.md)."""

from __future__ import annotations

import logging
import time
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from .services import identities

log = logging.getLogger(__name__)
BREAK_GLASS_GROUP = "break-glass"
_metadata: dict[str, tuple[float, dict]] = {}


def enabled() -> bool:
    return bool(settings.PORTAL_OIDC_ISSUER)


def provider_metadata() -> dict:
    """The provider's discovery document, cached for an hour per process."""
    issuer = settings.PORTAL_OIDC_ISSUER.rstrip("/")
    cached = _metadata.get(issuer)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    url = issuer + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ImproperlyConfigured(f"OpenID provider discovery at {url} failed: {exc}") from exc
    if document.get("issuer", "").rstrip("/") != issuer:
        raise ImproperlyConfigured(
            f"{url} names issuer {document.get('issuer')!r}, not PORTAL_OIDC_ISSUER {issuer!r}"
        )
    _metadata[issuer] = (time.monotonic() + 3600, document)
    return document


class PortalOIDCBackend(OIDCAuthenticationBackend):
    # The provider's endpoints come from discovery, when a sign-in needs them: Django builds this
    # backend for every request of an SSO session (get_user), which must not call the provider.
    OIDC_OP_TOKEN_ENDPOINT = property(lambda self: provider_metadata()["token_endpoint"])
    OIDC_OP_USER_ENDPOINT = property(lambda self: provider_metadata()["userinfo_endpoint"])
    OIDC_OP_JWKS_ENDPOINT = property(lambda self: provider_metadata()["jwks_uri"])

    def __init__(self, *args, **kwargs):
        self.OIDC_RP_CLIENT_ID = settings.PORTAL_OIDC_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.PORTAL_OIDC_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.UserModel = get_user_model()

    def authenticate(self, request, **kwargs):
        if not enabled():
            return None
        return super().authenticate(request, **kwargs)

    def _verify_jws(self, payload, key):
        """Signature (with the provider's key and algorithm), issuer, audience = our client id,
        expiry and issued-at; the library itself leaves audience unchecked."""
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(f"ID token algorithm {header.get('alg')!r} refused")
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=provider_metadata()["issuer"],
                leeway=settings.PORTAL_OIDC_CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iat", "aud", "iss", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc}") from None

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        self._id_claims = payload
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        """Userinfo claims, but the subject must be the ID token's (OIDC Core 5.3.2)."""
        claims = dict(super().get_userinfo(access_token, id_token, payload))
        if claims.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("userinfo subject differs from the ID token's")
        return {**payload, **claims}

    def verify_claims(self, claims):
        return bool(claims.get(settings.PORTAL_OIDC_USERNAME_CLAIM)) and bool(claims.get("sub"))

    def filter_users_by_claims(self, claims):
        user = identities.user_for_identity(issuer=claims["iss"], subject=claims["sub"])
        return [user] if user else []

    def create_user(self, claims):
        return identities.sign_in_from_provider(claims=claims)

    def update_user(self, user, claims):
        return identities.sign_in_from_provider(claims=claims, user=user)


class BreakGlassModelBackend(ModelBackend):
    """Password sign-in: everyone without an identity provider; with one, only users in the
    'break-glass' group (for when the provider is down)."""

    def user_can_authenticate(self, user):
        if not super().user_can_authenticate(user):
            return False
        if not enabled():
            return True
        return user.groups.filter(name=BREAK_GLASS_GROUP).exists()


class RequestView(OIDCAuthenticationRequestView):
    def __init__(self, *args, **kwargs):
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)
        self.OIDC_RP_CLIENT_ID = settings.PORTAL_OIDC_CLIENT_ID

    def get(self, request):
        if not enabled():
            raise Http404("Single sign-on is not configured.")
        self.OIDC_OP_AUTH_ENDPOINT = provider_metadata()["authorization_endpoint"]
        return super().get(request)


class CallbackView(OIDCAuthenticationCallbackView):
    """A refused sign-in (bad token, replayed or unknown state) lands on the login page with a
    message instead of a bare 400, and is logged."""

    def get(self, request):
        if not enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            return super().get(request)
        except (SuspiciousOperation, requests.RequestException) as exc:
            log.warning("OIDC sign-in refused: %s", exc)
            from .services.signin import client_ip, record_failure

            record_failure(username="(sso)", ip=client_ip(request), channel="oidc")
            messages.error(request, "Single sign-on failed: start again from the sign-in page.")
            return HttpResponseRedirect(reverse("login"))

    def login_failure(self):
        messages.error(self.request, "Single sign-on failed: start again from the sign-in page.")
        return HttpResponseRedirect(reverse("login"))


def provider_logout_url(request) -> str:
    """RP-initiated logout at the provider when it offers it (end_session_endpoint)."""
    end_session = provider_metadata().get("end_session_endpoint")
    after = request.build_absolute_uri(reverse("login"))
    if not end_session:
        return after
    params = {"post_logout_redirect_uri": after, "client_id": settings.PORTAL_OIDC_CLIENT_ID}
    id_token = request.session.get("oidc_id_token")
    if id_token:
        params["id_token_hint"] = id_token
    return f"{end_session}?{urlencode(params)}"
