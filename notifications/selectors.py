"""Reads of notifications: the deliveries log and a user's choices."""

from django.db.models import QuerySet

from . import kinds
from .models import Delivery, NotificationPreference, TenantWebhook


def deliveries(*, status: str = "") -> QuerySet[Delivery]:
    query = Delivery.objects.select_related("notification", "user").order_by("-created_at", "-pk")
    if status:
        query = query.filter(status=status)
    return query


def delivery_counts() -> dict[str, int]:
    from django.db.models import Count

    rows = Delivery.objects.values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in rows}


def email_choices(user) -> list[tuple[kinds.Kind, bool]]:
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "email"))
    return [(k, chosen.get(k.name, k.email_by_default)) for k in kinds.all_kinds()]


def tenant_webhooks(tenant_ids) -> dict[int, str]:
    return dict(
        TenantWebhook.objects.filter(tenant_id__in=list(tenant_ids)).values_list("tenant_id", "url")
    )
