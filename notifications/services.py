"""Writes of notifications: emit an event into the outbox (in the caller's transaction), deliver
one delivery (idempotent, under a row lock), and users' and tenants' choices.

    from notifications.services import emit
    emit(kind="tenant.decided", subject="Tenant team-a approved", body="...",
         tenant_id=tenant.pk, tenant_slug=tenant.slug, users=[tenant.created_by],
         url="/tenants/team-a/", dedupe_key=f"tenant:{tenant.pk}:approved")

Recipients are resolved when the event is emitted: the kind's portal roles and tenant roles,
plus `users`, minus those who turned the kind off; plus the tenant's webhook and the platform
webhook (PORTAL_NOTIFICATIONS_WEBHOOK_URL). Nothing is sent before the transaction commits, and
a failing channel never rolls back the change it reports.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from portal import roles
from portal.domain_errors import DomainError

from . import kinds, transport
from .audience import tenant_directory
from .models import Delivery, Notification, NotificationPreference, TenantWebhook

log = logging.getLogger(__name__)


def _user_ids(users: Iterable) -> set[int]:
    return {u if isinstance(u, int) else u.pk for u in users if u is not None}


def recipients(kind: kinds.Kind, *, tenant_id: int | None, users: Iterable = ()) -> list:
    """Active users with an e-mail address who receive `kind` by e-mail."""
    User = get_user_model()
    ids = _user_ids(users)
    if kind.tenant_roles and tenant_id is not None:
        ids |= tenant_directory().member_ids(tenant_id, kind.tenant_roles)
    query = User.objects.filter(pk__in=ids)
    if kind.roles:
        query = User.objects.filter(pk__in=ids) | User.objects.filter(groups__name__in=kind.roles)
        if roles.PLATFORM_ADMIN in kind.roles:
            query = query | User.objects.filter(is_superuser=True)
    candidates = list(query.filter(is_active=True).exclude(email="").distinct().order_by("pk"))
    choices = dict(
        NotificationPreference.objects.filter(
            kind=kind.name, user__in=[u.pk for u in candidates]
        ).values_list("user_id", "email")
    )
    return [u for u in candidates if choices.get(u.pk, kind.email_by_default)]


def _absolute(url: str) -> str:
    if not url or urlsplit(url).scheme:
        return url
    return settings.PORTAL_BASE_URL.rstrip("/") + "/" + url.lstrip("/")


def emit(
    *,
    kind: str,
    subject: str,
    body: str = "",
    tenant_id: int | None = None,
    tenant_slug: str = "",
    users: Iterable = (),
    url: str = "",
    payload: dict | None = None,
    dedupe_key: str = "",
) -> Notification | None:
    """Record an event and its deliveries in the current transaction; deliver after commit.

    Returns None when `dedupe_key` was emitted before for this kind.
    """
    spec = kinds.get(kind)
    with transaction.atomic():
        try:
            with transaction.atomic():
                notification = Notification.objects.create(
                    kind=spec.name,
                    tenant_id=tenant_id,
                    tenant_slug=tenant_slug,
                    subject=subject[:200],
                    body=body,
                    url=_absolute(url),
                    payload=payload or {},
                    dedupe_key=dedupe_key[:200],
                )
        except IntegrityError:
            if dedupe_key:
                return None
            raise
        deliveries = [
            Delivery(
                notification=notification,
                channel=Delivery.Channel.EMAIL,
                recipient=u.email,
                user=u,
            )
            for u in recipients(spec, tenant_id=tenant_id, users=users)
        ]
        hooks = []
        if tenant_id is not None:
            hooks += TenantWebhook.objects.filter(tenant_id=tenant_id).values_list("url", flat=True)
        if settings.PORTAL_NOTIFICATIONS_WEBHOOK_URL:
            hooks.append(settings.PORTAL_NOTIFICATIONS_WEBHOOK_URL)
        deliveries += [
            Delivery(notification=notification, channel=Delivery.Channel.WEBHOOK, recipient=h)
            for h in dict.fromkeys(hooks)
        ]
        created = Delivery.objects.bulk_create(deliveries, ignore_conflicts=False)
        ids = [d.pk for d in created]
        transaction.on_commit(lambda: enqueue_deliveries(ids))
    return notification


def enqueue_deliveries(delivery_ids: Iterable[int]) -> None:
    """Best effort: if the broker is down, the redelivery beat picks the rows up later."""
    from .tasks import deliver_notification

    for delivery_id in delivery_ids:
        try:
            deliver_notification.delay(delivery_id)
        except Exception:  # noqa: BLE001 - the pending row is the guarantee
            log.warning("could not enqueue delivery %s; the redelivery beat will", delivery_id)
            return


def webhook_payload(notification: Notification) -> dict:
    text = notification.subject
    if notification.url:
        text += f"\n<{notification.url}|Open in gpu-portal>"
    return {
        "text": text,  # what Slack, Mattermost and Teams-compatible hooks display
        "id": str(notification.uuid),
        "kind": notification.kind,
        "tenant": notification.tenant_slug or None,
        "subject": notification.subject,
        "body": notification.body,
        "url": notification.url,
        "created_at": notification.created_at.isoformat(),
        "data": notification.payload,
    }


def _backoff(attempts: int) -> timedelta:
    base = settings.PORTAL_NOTIFICATIONS_RETRY_SECONDS
    return timedelta(seconds=min(3600.0, base * 2 ** (attempts - 1)) * random.uniform(0.8, 1.2))


def _send(delivery: Delivery) -> None:
    notification = delivery.notification
    if delivery.channel == Delivery.Channel.EMAIL:
        body = notification.body
        if notification.url:
            body = f"{body}\n\n{notification.url}".strip()
        body += "\n\n-- \ngpu-portal. Choose what you receive: " + _absolute("/notifications/")
        transport.send_email(
            to=delivery.recipient, subject=f"[gpu-portal] {notification.subject}", body=body
        )
    else:
        transport.post_webhook(
            url=delivery.recipient,
            payload=webhook_payload(notification),
            event=notification.kind,
            delivery_id=delivery.pk,
        )


def deliver(delivery_id: int) -> Delivery | None:
    """Send one pending delivery. Safe to run twice or concurrently: the row is locked and a
    delivery already sent (or being sent by another worker) is skipped."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("notification")
            .filter(pk=delivery_id, status=Delivery.Status.PENDING)
            .first()
        )
        if delivery is None:
            return None
        delivery.attempts += 1
        try:
            _send(delivery)
        except transport.TransportError as exc:
            delivery.last_error = str(exc)[:2000]
            permanent = isinstance(exc, transport.PermanentTransportError)
            if permanent or delivery.attempts >= settings.PORTAL_NOTIFICATIONS_MAX_ATTEMPTS:
                delivery.status = Delivery.Status.FAILED
                delivery.next_attempt_at = None
            else:
                delivery.next_attempt_at = timezone.now() + _backoff(delivery.attempts)
            log.warning("delivery %s failed (attempt %s): %s", delivery.pk, delivery.attempts, exc)
        else:
            delivery.status = Delivery.Status.SENT
            delivery.sent_at = timezone.now()
            delivery.last_error = ""
            delivery.next_attempt_at = None
        delivery.save(
            update_fields=[
                "status",
                "attempts",
                "last_error",
                "next_attempt_at",
                "sent_at",
                "updated_at",
            ]
        )
    return delivery


def due_delivery_ids(limit: int = 500) -> list[int]:
    """Pending deliveries whose retry time has come, or that were never attempted and are older
    than a minute (their enqueue was lost)."""
    now = timezone.now()
    never_tried_before = now - timedelta(seconds=settings.PORTAL_NOTIFICATIONS_REDELIVER_SECONDS)
    return list(
        Delivery.objects.filter(status=Delivery.Status.PENDING)
        .filter(
            Q(next_attempt_at__lte=now)
            | Q(next_attempt_at__isnull=True, created_at__lte=never_tried_before)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


@transaction.atomic
def retry_delivery(*, actor, delivery: Delivery) -> Delivery:
    """A platform admin sends a failed delivery again (after fixing the address or receiver)."""
    if not roles.is_platform_admin(actor):
        raise PermissionDenied("Only platform admins retry deliveries.")
    delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
    if delivery.status == Delivery.Status.SENT:
        raise DomainError("This delivery was sent already.")
    delivery.status = Delivery.Status.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
    transaction.on_commit(lambda: enqueue_deliveries([delivery.pk]))
    return delivery


@transaction.atomic
def set_preferences(*, user, email_kinds: Iterable[str]) -> None:
    """The user receives exactly `email_kinds` by e-mail; every kind gets an explicit row."""
    chosen = set(email_kinds)
    unknown = chosen - {k.name for k in kinds.all_kinds()}
    if unknown:
        raise DomainError(f"Unknown notification kind {sorted(unknown)[0]!r}.", field="kinds")
    for kind in kinds.all_kinds():
        NotificationPreference.objects.update_or_create(
            user=user, kind=kind.name, defaults={"email": kind.name in chosen}
        )


def _check_webhook_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise DomainError("Enter a full http(s) URL, e.g. https://hooks.slack.com/...", field="url")
    if parts.scheme == "http" and not settings.PORTAL_WEBHOOK_ALLOW_HTTP:
        raise DomainError(
            "Webhook URLs must use https (e.g. https://hooks.slack.com/...).", field="url"
        )
    if parts.username or parts.password:
        raise DomainError("Put no credentials in the URL; the body is signed.", field="url")
    return url


@transaction.atomic
def set_tenant_webhook(*, actor, tenant_id: int, url: str) -> TenantWebhook | None:
    """An owner (or platform admin) sets or clears the tenant's webhook; empty URL clears it."""
    owned = dict(tenant_directory().owned_tenants(actor))
    if tenant_id not in owned:
        raise PermissionDenied("Only the tenant's owners and platform admins set its webhook.")
    url = _check_webhook_url(url)
    if not url:
        TenantWebhook.objects.filter(tenant_id=tenant_id).delete()
        return None
    hook, _ = TenantWebhook.objects.update_or_create(
        tenant_id=tenant_id,
        defaults={"url": url, "tenant_slug": owned[tenant_id], "updated_by": actor},
    )
    return hook
