"""Decisions on tenants and quota: a platform admin approves or rejects a pending tenant or
quota request (against the cluster's free guaranteed capacity), revokes a grant; the requesting
team withdraws a pending request.

Every function is one transaction; each locks its row, re-checks its state and moves it through
the model's `decide()` (which enforces `TRANSITIONS`). The loser of a race gets a ConflictError
saying who decided first.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from clusters.models import ClusterCapacity
from portal import roles
from portal.domain_errors import ConflictError, DomainError

from . import selectors
from .models import Environment, GpuProfile, QuotaGrant, QuotaRequest, Tenant
from .outbox import bump_desired_generation
from .selectors import can_write_tenant
from .services import ADMINS_DECIDE

UNIT_NOUNS = {
    GpuProfile.Partition.DEDICATED: "GPUs",
    GpuProfile.Partition.MIG: "MIG instances",
    GpuProfile.Partition.TIME_SLICED: "shared GPU slots",
    GpuProfile.Partition.MPS: "shared GPU slots",
}


def unit_noun(profile: GpuProfile) -> str:
    return UNIT_NOUNS.get(profile.partition, "units")


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Give a reason: the requester sees it.", field="reason")
    if len(reason) > 2000:
        raise DomainError("Keep the reason under 2000 characters.", field="reason")
    return reason


DECISION_VERBS = {"active": "approved", "archived": "approved"}


def _decided_conflict(obj, what: str) -> ConflictError:
    """The loser of a race: say who decided first and when, so nobody decides twice."""
    verb = DECISION_VERBS.get(obj.status, obj.status)
    # read the decider afresh: a join under FOR UPDATE sees the pre-lock snapshot
    who = (
        get_user_model().objects.filter(pk=obj.decided_by_id).values_list("username", flat=True)
    ).first() or "someone"
    when = obj.decided_at.strftime("%Y-%m-%d %H:%M:%S UTC") if obj.decided_at else "earlier"
    return ConflictError(f"This {what} was already {verb} by {who} at {when}.")


def _lock_pending_tenant(tenant: Tenant) -> Tenant:
    """The tenant row, locked, or a conflict if someone already decided it."""
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if tenant.status != Tenant.Status.PENDING:
        if tenant.decided_at:
            raise _decided_conflict(tenant, "tenant")
        raise ConflictError(f"Tenant {tenant.slug} is {tenant.status}, not pending.")
    return tenant


@transaction.atomic
def approve_tenant(*, actor, tenant: Tenant) -> Tenant:
    roles.require(actor, roles.PLATFORM_ADMIN, message=ADMINS_DECIDE)
    tenant = _lock_pending_tenant(tenant)
    tenant.decide(Tenant.Status.ACTIVE, by=actor)
    bump_desired_generation(tenant.pk)
    tenant.refresh_from_db()
    return tenant


@transaction.atomic
def reject_tenant(*, actor, tenant: Tenant, reason: str) -> Tenant:
    roles.require(actor, roles.PLATFORM_ADMIN, message=ADMINS_DECIDE)
    reason = _require_reason(reason)
    tenant = _lock_pending_tenant(tenant)
    now = timezone.now()
    tenant.decide(Tenant.Status.REJECTED, by=actor, reason=reason, at=now)
    for pending in tenant.quota_requests.select_for_update().filter(
        status=QuotaRequest.Status.PENDING
    ):
        pending.decide(
            QuotaRequest.Status.REJECTED,
            by=actor,
            reason=f"Tenant onboarding rejected: {reason}",
            at=now,
        )
    return tenant


@transaction.atomic
def approve_quota_request(*, actor, quota_request: QuotaRequest) -> QuotaGrant:
    """Turn a pending request into the live grant of its (environment, profile).

    Refuses when the cluster's guaranteed capacity of the profile would be over-committed; the
    capacity row is locked so concurrent approvals on one cluster/profile serialize.
    """
    roles.require(actor, roles.PLATFORM_ADMIN, message=ADMINS_DECIDE)
    qr = (
        QuotaRequest.objects.select_for_update(of=("self",))
        .select_related("tenant", "environment__cluster", "profile")
        .get(pk=quota_request.pk)
    )
    if qr.status != QuotaRequest.Status.PENDING:
        raise _decided_conflict(qr, "quota request")
    tenant = qr.tenant
    if tenant.status == Tenant.Status.PENDING:
        raise DomainError(f"Tenant {tenant.slug} is pending approval: approve the tenant first.")
    if tenant.status != Tenant.Status.ACTIVE:
        raise DomainError(f"Tenant {tenant.slug} is {tenant.status}: reject this request instead.")
    # one approval at a time per environment: the live grant of (environment, profile) is
    # created or replaced below, even for burst-only requests that lock no capacity row
    list(Environment.objects.select_for_update().filter(pk=qr.environment_id).values("pk"))
    cluster = qr.environment.cluster
    profile = qr.profile
    capacity_row = (
        ClusterCapacity.objects.select_for_update()
        .filter(
            cluster=cluster,
            gpu_product=profile.gpu_product,
            resource_name=profile.resource_name,
        )
        .first()
    )
    capacity = capacity_row.capacity if capacity_row else 0
    existing = (
        QuotaGrant.objects.select_for_update()
        .filter(environment=qr.environment, profile=profile, revoked_at__isnull=True)
        .first()
    )
    allocated = selectors.guaranteed_allocated(
        cluster_id=cluster.pk,
        gpu_product=profile.gpu_product,
        resource_name=profile.resource_name,
    )
    free = capacity - allocated + (existing.guaranteed if existing else 0)
    if qr.guaranteed > free:
        raise DomainError(
            f"guaranteed {qr.guaranteed} exceeds the {max(free, 0)} free {profile.display_name} "
            f"{unit_noun(profile)} on cluster {cluster.name}; approve fewer guaranteed units "
            "(ask the team to move the rest to burst) or add capacity to the cluster.",
            field="guaranteed",
        )
    now = timezone.now()
    if existing:
        existing.guaranteed = qr.guaranteed
        existing.burst = qr.burst
        existing.request = qr
        existing.granted_by = actor
        existing.save(update_fields=["guaranteed", "burst", "request", "granted_by", "updated_at"])
        grant = existing
    else:
        grant = QuotaGrant.objects.create(
            tenant=tenant,
            environment=qr.environment,
            profile=profile,
            guaranteed=qr.guaranteed,
            burst=qr.burst,
            request=qr,
            granted_by=actor,
        )
    qr.decide(QuotaRequest.Status.APPROVED, by=actor, at=now)
    bump_desired_generation(tenant.pk)
    return grant


@transaction.atomic
def reject_quota_request(*, actor, quota_request: QuotaRequest, reason: str) -> QuotaRequest:
    roles.require(actor, roles.PLATFORM_ADMIN, message=ADMINS_DECIDE)
    reason = _require_reason(reason)
    qr = QuotaRequest.objects.select_for_update().get(pk=quota_request.pk)
    if qr.status != QuotaRequest.Status.PENDING:
        raise _decided_conflict(qr, "quota request")
    qr.decide(QuotaRequest.Status.REJECTED, by=actor, reason=reason)
    return qr


@transaction.atomic
def cancel_quota_request(*, actor, quota_request: QuotaRequest) -> QuotaRequest:
    """The requester's team withdraws a pending request."""
    qr = QuotaRequest.objects.select_for_update(of=("self",)).get(pk=quota_request.pk)
    if not can_write_tenant(actor, qr.tenant):
        raise PermissionDenied("Viewers cannot withdraw requests.")
    if qr.status != QuotaRequest.Status.PENDING:
        raise ConflictError(f"This request is already {qr.status}.")
    qr.decide(QuotaRequest.Status.CANCELLED, by=actor)
    return qr


@transaction.atomic
def revoke_quota_grant(*, actor, grant: QuotaGrant) -> QuotaGrant:
    roles.require(actor, roles.PLATFORM_ADMIN, message=ADMINS_DECIDE)
    grant = QuotaGrant.objects.select_for_update().get(pk=grant.pk)
    if grant.revoked_at is not None:
        raise ConflictError("This grant is already revoked.")
    grant.revoked_at = timezone.now()
    grant.revoked_by = actor
    grant.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
    bump_desired_generation(grant.tenant_id)
    return grant
