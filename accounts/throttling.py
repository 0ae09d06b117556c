"""API request throttling per token (or per signed-in user, or per address for anonymous calls),
kept in Redis so every web process counts together. Limits: PORTAL_API_RATE (per token or user)
and PORTAL_API_ANON_RATE (per address), e.g. "600/minute"."""

import logging

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle

log = logging.getLogger(__name__)


class PortalRateThrottle(SimpleRateThrottle):
    scope = "api"

    def __init__(self):
        self.cache = caches["throttle"]
        super().__init__()

    def get_rate(self):
        return settings.PORTAL_API_RATE

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # noqa: BLE001 - Redis away: serve the request rather than fail it
            log.warning("API throttle cache unavailable; request not counted", exc_info=True)
            return True

    def get_cache_key(self, request, view):
        token = getattr(request, "api_token", None)
        if token is not None:
            ident = f"token:{token.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            return None  # anonymous calls: AnonymousRateThrottle
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonymousRateThrottle(PortalRateThrottle):
    scope = "anon"

    def get_rate(self):
        return settings.PORTAL_API_ANON_RATE

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
