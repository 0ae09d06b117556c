"""Delivery of budget alerts: by e-mail with Django's send_mail after the transaction commits,
to finance and the owners of the tenant (or of every tenant of the cost center).

Not yet through the notifications outbox: its audience is one tenant's roles, while a cost
center's alert goes to the owners of all its tenants (see the closing note of session 2)."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction

from portal import roles
from tenants.models import Tenant, TenantMembership


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
    to = recipients(alert)
    if to:
        transaction.on_commit(
            lambda: send_mail(
                alert.subject, alert.body, settings.DEFAULT_FROM_EMAIL, to, fail_silently=False
            )
        )
