"""Identity: personal API tokens (hashed at rest) and the record of sign-in attempts that
throttling and lockout read."""

import pghistory
from django.conf import settings
from django.db import models
from django.utils import timezone


def audited(**kwargs):
    return pghistory.track(
        pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), **kwargs
    )


@audited(exclude=["last_used_at"])
class ApiToken(models.Model):
    """A named, expiring, revocable API token. Only the SHA-256 of the key is stored: the key has
    256 random bits, so a plain digest cannot be brute-forced and lookups stay one index probe."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)  # shown to tell tokens apart; not secret
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.user}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        return "active" if self.expires_at > timezone.now() else "expired"


@audited()
class SignInAttempt(models.Model):
    """Every password sign-in, failed, refused or not: what throttling counts, and the audit
    trail of attacks on accounts."""

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", "Signed in"
        FAILED = "failed", "Wrong credentials"
        LOCKED = "locked", "Refused: locked out"

    username = models.CharField(max_length=150, db_index=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    channel = models.CharField(max_length=8)  # web | api
    outcome = models.CharField(max_length=9, choices=Outcome.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.outcome} sign-in as {self.username} from {self.client_ip}"


@audited()
class OidcIdentity(models.Model):
    """Which identity-provider subject a user is: the stable key, unlike e-mail or username."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_identity"
    )
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="uniq_oidc_identity")
        ]

    def __str__(self) -> str:
        return f"{self.user} = {self.subject}@{self.issuer}"
