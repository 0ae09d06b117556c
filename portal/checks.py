"""System checks of the portal's own settings, run by `manage.py check --deploy`.

Django's security.W009 only warns about a weak SECRET_KEY; a key published in this repository
is an error here, whatever DEBUG says, so a deployment pipeline that runs `check --deploy`
stops on it. The encryption key must be a Fernet key of its own, not derived from SECRET_KEY.
"""

from __future__ import annotations

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from portal import default_keys


@register(Tags.security, deploy=True)
def published_keys(app_configs, **kwargs):
    errors = []
    secret_key = settings.SECRET_KEY
    encryption_key = settings.PORTAL_ENCRYPTION_KEY
    if secret_key in default_keys.PUBLISHED_SECRET_KEYS:
        errors.append(
            Error(
                "SECRET_KEY is a default published in the gpu-portal repository.",
                hint=f"Set SECRET_KEY to a new random value: {default_keys.GENERATE_SECRET_KEY}",
                id="gpu_portal.E001",
            )
        )
    if encryption_key in default_keys.PUBLISHED_ENCRYPTION_KEYS:
        errors.append(
            Error(
                "PORTAL_ENCRYPTION_KEY is a default published in (or derived from a key in) the "
                "gpu-portal repository.",
                hint=f"Set PORTAL_ENCRYPTION_KEY: {default_keys.GENERATE_ENCRYPTION_KEY}",
                id="gpu_portal.E002",
            )
        )
    elif encryption_key == default_keys.derived_encryption_key(secret_key):
        errors.append(
            Error(
                "PORTAL_ENCRYPTION_KEY is derived from SECRET_KEY (the DEBUG=1 fallback): "
                "whoever learns one learns both.",
                hint=f"Set PORTAL_ENCRYPTION_KEY: {default_keys.GENERATE_ENCRYPTION_KEY}",
                id="gpu_portal.E003",
            )
        )
    else:
        try:
            Fernet(encryption_key.encode())
        except ValueError:
            errors.append(
                Error(
                    "PORTAL_ENCRYPTION_KEY is not a Fernet key (32 url-safe base64-encoded bytes).",
                    hint=f"Generate one: {default_keys.GENERATE_ENCRYPTION_KEY}",
                    id="gpu_portal.E004",
                )
            )
    return errors


@register(Tags.security, deploy=True)
def webhook_secret(app_configs, **kwargs):
    if not getattr(settings, "PORTAL_WEBHOOK_SECRET_DERIVED", False):
        return []
    return [
        Warning(
            "PORTAL_WEBHOOK_SECRET is not set: webhooks are signed with a key derived from "
            "SECRET_KEY, which the receivers cannot know.",
            hint="Set PORTAL_WEBHOOK_SECRET to a random value and give it to the receivers.",
            id="gpu_portal.W011",
        )
    ]
