"""What the tenancy domain tells people (notifications.services.emit), and the tenant directory
the notifications app asks for a tenant's members (it imports no domain app)."""

from django.urls import reverse

from notifications import kinds
from notifications.audience import register_tenant_directory
from notifications.services import emit
from portal import roles

from .models import QuotaRequest, Tenant, TenantMembership


class TenantDirectory:
    def member_ids(self, tenant_id, tenant_roles):
        return set(
            TenantMembership.objects.filter(
                tenant_id=tenant_id, role__in=list(tenant_roles)
            ).values_list("user_id", flat=True)
        )

    def owned_tenants(self, user):
        query = Tenant.objects.exclude(status=Tenant.Status.REJECTED).order_by("slug")
        if not roles.is_platform_admin(user):
            query = query.filter(
                memberships__user=user, memberships__role=TenantMembership.Role.OWNER
            )
        return list(query.values_list("pk", "slug"))


register_tenant_directory(TenantDirectory())


def _tenant_url(tenant: Tenant) -> str:
    return reverse("tenants:detail", args=[tenant.slug])


def tenant_submitted(tenant: Tenant) -> None:
    emit(
        kind=kinds.TENANT_SUBMITTED.name,
        subject=f"Tenant {tenant.slug} waits for approval",
        body=(
            f"{tenant.created_by} asked to onboard {tenant.name} ({tenant.slug}) for team "
            f"{tenant.team} on cluster {tenant.cluster}.\nDecide in the approvals queue."
        ),
        tenant_id=tenant.pk,
        tenant_slug=tenant.slug,
        url=reverse("tenants:approvals"),
        payload={"tenant": tenant.slug, "team": tenant.team},
    )


def tenant_decided(tenant: Tenant) -> None:
    verb = "approved" if tenant.status == Tenant.Status.ACTIVE else tenant.status
    body = f"{tenant.decided_by} {verb} tenant {tenant.slug}."
    if tenant.decision_reason:
        body += f"\nReason: {tenant.decision_reason}"
    emit(
        kind=kinds.TENANT_DECIDED.name,
        subject=f"Tenant {tenant.slug} {verb}",
        body=body,
        tenant_id=tenant.pk,
        tenant_slug=tenant.slug,
        users=[tenant.created_by_id],
        url=_tenant_url(tenant),
        payload={"tenant": tenant.slug, "decision": verb, "reason": tenant.decision_reason},
        dedupe_key=f"tenant:{tenant.pk}:{tenant.status}",
    )


def quota_submitted(qr: QuotaRequest) -> None:
    """Requests of an active tenant; a pending tenant's come with its onboarding."""
    what = f"{qr.guaranteed} guaranteed + {qr.burst} burst {qr.profile.name}"
    emit(
        kind=kinds.QUOTA_SUBMITTED.name,
        subject=f"Quota request from {qr.tenant.slug} ({qr.environment.name}) waits for a decision",
        body=f"{qr.requested_by} asks for {what}: {qr.justification}",
        tenant_id=qr.tenant_id,
        tenant_slug=qr.tenant.slug,
        url=reverse("tenants:approvals"),
        payload={"tenant": qr.tenant.slug, "environment": qr.environment.name,
                 "profile": qr.profile.name, "guaranteed": qr.guaranteed, "burst": qr.burst},
    )  # fmt: skip


def quota_decided(qr: QuotaRequest) -> None:
    verb = qr.status
    what = f"{qr.guaranteed} guaranteed + {qr.burst} burst {qr.profile.name}"
    what += f" in {qr.environment.name}"
    body = f"{qr.decided_by} {verb} the request for {what} of tenant {qr.tenant.slug}."
    if qr.decision_reason:
        body += f"\nReason: {qr.decision_reason}"
    emit(
        kind=kinds.QUOTA_DECIDED.name,
        subject=f"Quota request {verb} for {qr.tenant.slug} ({qr.environment.name})",
        body=body,
        tenant_id=qr.tenant_id,
        tenant_slug=qr.tenant.slug,
        users=[qr.requested_by_id],
        url=_tenant_url(qr.tenant),
        payload={
            "tenant": qr.tenant.slug,
            "environment": qr.environment.name,
            "profile": qr.profile.name,
            "guaranteed": qr.guaranteed,
            "burst": qr.burst,
            "decision": verb,
            "reason": qr.decision_reason,
        },
        dedupe_key=f"quota:{qr.pk}:{qr.status}",
    )
