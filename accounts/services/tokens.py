"""API tokens: created with a key shown once, stored as its SHA-256, expiring, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from portal.domain_errors import ConflictError, DomainError

from ..models import ApiToken

KEY_PREFIX = "gpt_"  # lets secret scanners recognise a leaked gpu-portal token


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_token(*, user, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """A new token and its key; the key is not stored and cannot be shown again."""
    name = (name or "").strip()
    if not name:
        raise DomainError("Name the token (e.g. 'ci-pipeline') so you can tell it apart.", "name")
    if len(name) > 100:
        raise DomainError("Keep the name under 100 characters.", field="name")
    limit = settings.PORTAL_API_TOKEN_MAX_DAYS
    days = settings.PORTAL_API_TOKEN_DAYS if days is None else days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= limit:
        raise DomainError(f"Choose an expiry between 1 and {limit} days.", field="expires_in_days")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=key[: len(KEY_PREFIX) + 4],
        digest=digest_of(key),
        expires_at=timezone.now() + timedelta(days=days),
    )
    return token, key


@transaction.atomic
def revoke_token(*, actor, token: ApiToken) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.user_id != actor.pk and not actor.is_superuser:
        raise PermissionDenied("You can revoke only your own tokens.")
    if token.revoked_at is not None:
        raise ConflictError("This token is already revoked.")
    token.revoked_at = timezone.now()
    token.revoked_by = actor
    token.save(update_fields=["revoked_at", "revoked_by"])
    return token


def authenticate_key(key: str) -> tuple[ApiToken | None, str]:
    """(token, "") for a usable key, else (None, why) with a message the caller can act on."""
    token = ApiToken.objects.select_related("user").filter(digest=digest_of(key)).first()
    if token is None:
        return None, "Invalid token."
    if token.revoked_at is not None:
        return None, "This token was revoked: create a new one on your account page."
    now = timezone.now()
    if token.expires_at <= now:
        return None, "This token has expired: create a new one on your account page."
    if not token.user.is_active:
        return None, "This account is disabled."
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        # at most one write a minute per token, however busy the client
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token, ""
