"""Delivery of budget alerts: through the portal's notifications app when it is installed
(its outbox, e-mail and webhooks, users' preferences), else straight by e-mail with Django's
send_mail after the transaction commits. Switching to notifications only is one line."""

from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction

from portal import roles
from tenants.models import Tenant, TenantMembership

KIND = "costs.budget"


@dataclass(frozen=True)
class Alert:
    subject: str
    body: str
    url: str
    dedupe_key: str
    tenant: Tenant | None = None
    cost_center: str = ""


def recipients(alert: Alert) -> list[str]:
    """Finance, plus the owners of the tenant (or of every tenant of the cost center)."""
    User = get_user_model()
    owners = TenantMembership.objects.filter(role=TenantMembership.Role.OWNER)
    if alert.tenant is not None:
        owners = owners.filter(tenant=alert.tenant)
    else:
        owners = owners.filter(tenant__cost_center=alert.cost_center)
    users = User.objects.filter(is_active=True).exclude(email="")
    users = users.filter(groups__name=roles.FINANCE) | users.filter(pk__in=owners.values("user_id"))
    return sorted(set(users.values_list("email", flat=True)))


def deliver(alert: Alert) -> None:
    """Send `alert` once the current transaction commits (nothing if it rolls back)."""
    if apps.is_installed("notifications"):  # pragma: no cover - until notifications lands
        from notifications import kinds, services

        kinds.register(
            kinds.Kind(
                KIND,
                "A GPU budget threshold was reached or its forecast crosses the budget",
                roles=(roles.FINANCE,),
                tenant_roles=("owner",),
            )
        )
        services.emit(
            kind=KIND,
            subject=alert.subject,
            body=alert.body,
            tenant_id=alert.tenant.pk if alert.tenant else None,
            tenant_slug=alert.tenant.slug if alert.tenant else "",
            url=alert.url,
            dedupe_key=alert.dedupe_key,
        )
        return
    to = recipients(alert)
    if to:
        transaction.on_commit(
            lambda: send_mail(
                alert.subject, alert.body, settings.DEFAULT_FROM_EMAIL, to, fail_silently=False
            )
        )
