"""Encryption at rest for cluster credentials (Fernet, keyed by PORTAL_ENCRYPTION_KEY)."""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except ValueError as exc:
        raise ImproperlyConfigured(
            "PORTAL_ENCRYPTION_KEY must be a Fernet key: "
            'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key())"'
        ) from exc


def fernet() -> Fernet:
    return _fernet(settings.PORTAL_ENCRYPTION_KEY)


def encrypt(plaintext: str) -> str:
    if not plaintext:
        return ""
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "a stored credential cannot be decrypted: PORTAL_ENCRYPTION_KEY changed?"
        ) from exc


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees plaintext. Never render it back to users."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
