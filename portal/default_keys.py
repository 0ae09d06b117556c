"""Keys published in this repository (dev defaults, old compose defaults, build-time
placeholders). Anyone can read them, so they protect nothing: with DEBUG=0 the settings refuse
them, and `manage.py check --deploy` reports them (portal/checks.py).

No Django imports: portal/settings.py uses this module before Django is set up.
"""

from __future__ import annotations

import base64
import hashlib

DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me-0123456789-abcdefghijklmnopqrstuvwxyz"

PUBLISHED_SECRET_KEYS = frozenset(
    {
        DEV_SECRET_KEY,
        # docker-compose.yml's default until issue #10
        "compose-demo-insecure-secret-key-change-me-0123456789",
        # the Dockerfile's collectstatic placeholder
        "build-only",
        "change-me",
        "changeme",
        "secret",
    }
)

GENERATE_SECRET_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(50))"'
GENERATE_ENCRYPTION_KEY = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


def derived_encryption_key(secret_key: str) -> str:
    """The DEBUG=1 fallback PORTAL_ENCRYPTION_KEY, derived from SECRET_KEY."""
    digest = hashlib.sha256(("gpu-portal-credentials:" + secret_key).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


PUBLISHED_ENCRYPTION_KEYS = frozenset(
    {"build-only", "change-me", "changeme", "secret"}
    | {derived_encryption_key(k) for k in PUBLISHED_SECRET_KEYS}
)


def published_key_problems(secret_key: str, encryption_key: str) -> list[str]:
    """What is wrong with the two keys, each with how to fix it (empty when neither is public)."""
    problems = []
    if secret_key in PUBLISHED_SECRET_KEYS:
        problems.append(
            "SECRET_KEY is a default published in the gpu-portal repository; "
            f"set a new one: {GENERATE_SECRET_KEY}"
        )
    if encryption_key in PUBLISHED_ENCRYPTION_KEYS:
        problems.append(
            "PORTAL_ENCRYPTION_KEY is a default published in (or derived from a key in) the "
            f"gpu-portal repository; set a new one: {GENERATE_ENCRYPTION_KEY}"
        )
    return problems
