"""Sign-in throttling and lockout, shared by the web login and the API token endpoint.

Failed attempts are rows (SignInAttempt, audited). An account with PORTAL_LOGIN_MAX_FAILURES
failures since its last success within PORTAL_LOGIN_WINDOW_SECONDS, or a client address with
PORTAL_LOGIN_MAX_FAILURES_PER_IP failures in the window, is refused, even with the right password,
until the window has passed. Counting rows in PostgreSQL keeps every web and API process in step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.utils import timezone

from ..models import SignInAttempt


@dataclass
class Refused(Exception):
    """Locked out; `retry_after` seconds until the window lets the next attempt through."""

    message: str
    retry_after: int

    def __str__(self) -> str:
        return self.message


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or the address PORTAL_NUM_PROXIES trusted proxies saw (X-Forwarded-For)."""
    proxies = settings.PORTAL_NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR") or None


def _window_start():
    return timezone.now() - timedelta(seconds=settings.PORTAL_LOGIN_WINDOW_SECONDS)


def _retry_after(oldest) -> int:
    end = oldest + timedelta(seconds=settings.PORTAL_LOGIN_WINDOW_SECONDS)
    return max(1, math.ceil((end - timezone.now()).total_seconds()))


def _minutes(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def check_allowed(*, username: str, ip: str | None, channel: str) -> None:
    """Raise Refused (and record the refusal) when the account or the address is locked out."""
    start = _window_start()
    failures = SignInAttempt.objects.filter(
        created_at__gte=start, outcome=SignInAttempt.Outcome.FAILED
    )
    refusal = None
    if username:
        mine = failures.filter(username__iexact=username)
        last_success = (
            SignInAttempt.objects.filter(username__iexact=username, outcome="succeeded")
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        if last_success:
            mine = mine.filter(created_at__gt=last_success)
        times = list(mine.order_by("-created_at").values_list("created_at", flat=True))
        limit = settings.PORTAL_LOGIN_MAX_FAILURES
        if len(times) >= limit:
            wait = _retry_after(times[limit - 1])
            refusal = Refused(
                f"Too many failed sign-ins for {username}: try again in {_minutes(wait)}, or "
                "ask a platform admin to reset the password.",
                wait,
            )
    if refusal is None and ip:
        times = list(
            failures.filter(client_ip=ip)
            .order_by("-created_at")
            .values_list("created_at", flat=True)
        )
        limit = settings.PORTAL_LOGIN_MAX_FAILURES_PER_IP
        if len(times) >= limit:
            wait = _retry_after(times[limit - 1])
            refusal = Refused(
                f"Too many failed sign-ins from your address: try again in {_minutes(wait)}.", wait
            )
    if refusal is not None:
        SignInAttempt.objects.create(
            username=username[:150], client_ip=ip, channel=channel, outcome="locked"
        )
        raise refusal


def record_failure(*, username: str, ip: str | None, channel: str) -> None:
    SignInAttempt.objects.create(
        username=(username or "")[:150], client_ip=ip, channel=channel, outcome="failed"
    )


def record_success(*, username: str, ip: str | None, channel: str) -> None:
    SignInAttempt.objects.create(
        username=username[:150], client_ip=ip, channel=channel, outcome="succeeded"
    )


def sign_in(*, request, username: str, password: str, channel: str):
    """The user for these credentials, None for wrong ones; Refused when locked out."""
    ip = client_ip(request)
    check_allowed(username=username, ip=ip, channel=channel)
    user = authenticate(request, username=username, password=password)
    if user is None:
        record_failure(username=username, ip=ip, channel=channel)
        return None
    record_success(username=username, ip=ip, channel=channel)
    return user
