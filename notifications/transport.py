"""The two channels behind one small module: e-mail through Django's configured backend (SMTP),
and signed JSON webhooks. Callers see only TransportError (retry later) and
PermanentTransportError (retrying cannot help)."""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time

import requests
from django.conf import settings
from django.core.mail import EmailMessage, get_connection

SIGNATURE_HEADER = "X-GPU-Portal-Signature"
TIMESTAMP_HEADER = "X-GPU-Portal-Timestamp"
EVENT_HEADER = "X-GPU-Portal-Event"
DELIVERY_HEADER = "X-GPU-Portal-Delivery"


class TransportError(Exception):
    """The channel failed in a way a later attempt may not (server down, timeout, 5xx)."""


class PermanentTransportError(TransportError):
    """The channel refused the message for good (bad address, 4xx from the receiver)."""


def send_email(*, to: str, subject: str, body: str) -> None:
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        connection=get_connection(timeout=settings.EMAIL_TIMEOUT),
    )
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentTransportError(f"recipient refused: {exc.recipients}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise TransportError(f"SMTP: {exc.__class__.__name__}: {exc}") from None


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>", hex, prefixed "sha256=" (as GitHub and Slack do)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str, timestamp: str, body: bytes, header: str, *, max_age: float = 300
) -> bool:
    """What a receiver does: constant-time compare, and refuse stale timestamps (replays)."""
    try:
        age = abs(time.time() - int(timestamp))
    except (TypeError, ValueError):
        return False
    return age <= max_age and hmac.compare_digest(signature(secret, timestamp, body), header)


def post_webhook(*, url: str, payload: dict, event: str, delivery_id: int) -> None:
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "gpu-portal-notifications",
        EVENT_HEADER: event,
        DELIVERY_HEADER: str(delivery_id),
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(settings.PORTAL_WEBHOOK_SECRET, timestamp, body),
    }
    try:
        response = requests.post(
            url,
            data=body,
            headers=headers,
            timeout=settings.PORTAL_WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise TransportError(f"webhook: {exc.__class__.__name__}: {exc}") from None
    if 200 <= response.status_code < 300:
        return
    message = f"webhook answered HTTP {response.status_code}: {response.text[:300]}"
    if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
        raise PermanentTransportError(message)
    raise TransportError(message)
