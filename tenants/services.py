"""Writes of the tenancy domain: onboarding, quota requests, approvals, grants and members.

Every function is one transaction; state transitions lock their row and re-check its state.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from clusters.models import Cluster, ClusterCapacity
from portal import roles
from portal.domain_errors import ConflictError, DomainError

from . import notify
from .models import (
    MAX_UNITS,
    Environment,
    EnvironmentName,
    GpuProfile,
    QuotaGrant,
    QuotaRequest,
    Tenant,
    TenantMembership,
)
from .outbox import bump_desired_generation
from .selectors import can_manage_members, can_onboard, can_write_tenant

# Paths under /tenants/ that a tenant slug would shadow.
RESERVED_SLUGS = frozenset({"new", "approvals", "quota-requests", "capacity"})

UNIT_NOUNS = {
    GpuProfile.Partition.DEDICATED: "GPUs",
    GpuProfile.Partition.MIG: "MIG instances",
    GpuProfile.Partition.TIME_SLICED: "shared GPU slots",
    GpuProfile.Partition.MPS: "shared GPU slots",
}


def _full_clean(instance, exclude=None) -> None:
    """Model validation as a DomainError on the first offending field."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(messages[0], field=None if field == "__all__" else field) from exc


def _require_admin(actor) -> None:
    if not roles.is_platform_admin(actor):
        raise PermissionDenied("Only platform admins can decide on tenants and quota.")


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Give a reason: the requester sees it.", field="reason")
    if len(reason) > 2000:
        raise DomainError("Keep the reason under 2000 characters.", field="reason")
    return reason


def _check_units(guaranteed, burst) -> None:
    for field, value in (("guaranteed", guaranteed), ("burst", burst)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise DomainError("Enter a whole number.", field=field)
        if value < 0 or value > MAX_UNITS:
            raise DomainError(f"Enter a whole number between 0 and {MAX_UNITS}.", field=field)
    if guaranteed + burst == 0:
        raise DomainError("Ask for at least one guaranteed or burst unit.", field="guaranteed")


def unit_noun(profile: GpuProfile) -> str:
    return UNIT_NOUNS.get(profile.partition, "units")


@transaction.atomic
def onboard_tenant(
    *,
    actor,
    name: str,
    slug: str,
    team: str,
    cost_center: str,
    contact_email: str,
    environments: list[str],
    tier: str,
    cluster: Cluster,
    description: str = "",
    oncall_contact: str = "",
    initial_quota: dict | None = None,
) -> Tenant:
    """Create a pending tenant, its environments, the actor's ownership and the first request."""
    if not can_onboard(actor):
        raise PermissionDenied("SRE and finance read tenants; an ML team member onboards one.")
    envs = list(dict.fromkeys(environments or []))
    if not envs:
        raise DomainError("Pick at least one environment.", field="environments")
    unknown = [e for e in envs if e not in EnvironmentName.values]
    if unknown:
        raise DomainError(
            f"Unknown environment {unknown[0]!r}: choose from dev, staging, prod.",
            field="environments",
        )
    if not cluster.is_active:
        raise DomainError(f"Cluster {cluster.name} takes no new tenants.", field="cluster")
    if slug in RESERVED_SLUGS:
        raise DomainError(f"The slug {slug!r} is reserved; pick another.", field="slug")
    if Tenant.objects.filter(slug=slug).exists():
        raise DomainError(f"The slug {slug!r} is taken; pick another.", field="slug")
    tenant = Tenant(
        name=name,
        slug=slug,
        team=team,
        cost_center=cost_center,
        contact_email=contact_email,
        tier=tier,
        cluster=cluster,
        description=description or "",
        oncall_contact=oncall_contact or "",
        status=Tenant.Status.PENDING,
        created_by=actor,
    )
    _full_clean(tenant)
    try:
        with transaction.atomic():
            tenant.save()
    except IntegrityError as exc:  # a concurrent onboarding took the slug first
        raise DomainError(f"The slug {slug!r} is taken; pick another.", field="slug") from exc

    for env_name in envs:
        namespace = Environment.namespace_for(slug, env_name)
        if Environment.objects.filter(namespace=namespace).exists():
            raise DomainError(
                f"Namespace {namespace} already exists; pick another slug.", field="slug"
            )
        Environment.objects.create(
            tenant=tenant, name=env_name, cluster=cluster, namespace=namespace
        )
    TenantMembership.objects.create(tenant=tenant, user=actor, role=TenantMembership.Role.OWNER)

    if initial_quota:
        env_name = initial_quota.get("environment")
        if env_name not in envs:
            raise DomainError(
                "The initial quota must be for one of the tenant's environments.",
                field="quota_environment",
            )
        request_quota(
            actor=actor,
            tenant=tenant,
            environment=tenant.environments.get(name=env_name),
            profile=initial_quota["profile"],
            guaranteed=initial_quota.get("guaranteed", 0),
            burst=initial_quota.get("burst", 0),
            justification=initial_quota.get("justification", ""),
        )
    notify.tenant_submitted(tenant)
    return tenant


@transaction.atomic
def request_quota(
    *,
    actor,
    tenant: Tenant,
    environment: Environment,
    profile: GpuProfile,
    guaranteed: int,
    burst: int,
    justification: str,
) -> QuotaRequest:
    if not can_write_tenant(actor, tenant):
        raise PermissionDenied("Viewers cannot request quota.")
    if tenant.status not in (Tenant.Status.PENDING, Tenant.Status.ACTIVE):
        raise DomainError(f"Tenant {tenant.slug} is {tenant.get_status_display().lower()}.")
    if environment.tenant_id != tenant.pk:
        raise DomainError("Pick one of this tenant's environments.", field="environment")
    if not profile.is_active:
        raise DomainError(f"GPU profile {profile.name} is retired; pick another.", field="profile")
    _check_units(guaranteed, burst)
    justification = (justification or "").strip()
    if not justification:
        raise DomainError("Say what the GPUs are for.", field="justification")
    quota_request = QuotaRequest(
        tenant=tenant,
        environment=environment,
        profile=profile,
        guaranteed=guaranteed,
        burst=burst,
        justification=justification,
        requested_by=actor,
    )
    _full_clean(quota_request)
    quota_request.save()
    if tenant.status == Tenant.Status.ACTIVE:
        notify.quota_submitted(quota_request)
    return quota_request


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
    _require_admin(actor)
    tenant = _lock_pending_tenant(tenant)
    tenant.status = Tenant.Status.ACTIVE
    tenant.decided_by = actor
    tenant.decided_at = timezone.now()
    tenant.decision_reason = ""
    tenant.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    bump_desired_generation(tenant.pk)
    tenant.refresh_from_db()
    notify.tenant_decided(tenant)
    return tenant


@transaction.atomic
def reject_tenant(*, actor, tenant: Tenant, reason: str) -> Tenant:
    _require_admin(actor)
    reason = _require_reason(reason)
    tenant = _lock_pending_tenant(tenant)
    now = timezone.now()
    tenant.status = Tenant.Status.REJECTED
    tenant.decided_by = actor
    tenant.decided_at = now
    tenant.decision_reason = reason
    tenant.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    for pending in tenant.quota_requests.select_for_update().filter(
        status=QuotaRequest.Status.PENDING
    ):
        pending.status = QuotaRequest.Status.REJECTED
        pending.decided_by = actor
        pending.decided_at = now
        pending.decision_reason = f"Tenant onboarding rejected: {reason}"
        pending.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    notify.tenant_decided(tenant)
    return tenant


def guaranteed_allocated(*, cluster_id: int, gpu_product: str, resource_name: str) -> int:
    """Sum of live guaranteed grants of one capacity key on one cluster."""
    return (
        QuotaGrant.objects.filter(
            revoked_at__isnull=True,
            environment__cluster_id=cluster_id,
            profile__gpu_product=gpu_product,
            profile__resource_name=resource_name,
        ).aggregate(total=Sum("guaranteed"))["total"]
        or 0
    )


@transaction.atomic
def approve_quota_request(*, actor, quota_request: QuotaRequest) -> QuotaGrant:
    """Turn a pending request into the live grant of its (environment, profile).

    Refuses when the cluster's guaranteed capacity of the profile would be over-committed; the
    capacity row is locked so concurrent approvals on one cluster/profile serialize.
    """
    _require_admin(actor)
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
    allocated = guaranteed_allocated(
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
    qr.status = QuotaRequest.Status.APPROVED
    qr.decided_by = actor
    qr.decided_at = now
    qr.save(update_fields=["status", "decided_by", "decided_at"])
    bump_desired_generation(tenant.pk)
    notify.quota_decided(qr)
    return grant


@transaction.atomic
def reject_quota_request(*, actor, quota_request: QuotaRequest, reason: str) -> QuotaRequest:
    _require_admin(actor)
    reason = _require_reason(reason)
    qr = QuotaRequest.objects.select_for_update().get(pk=quota_request.pk)
    if qr.status != QuotaRequest.Status.PENDING:
        raise _decided_conflict(qr, "quota request")
    qr.status = QuotaRequest.Status.REJECTED
    qr.decided_by = actor
    qr.decided_at = timezone.now()
    qr.decision_reason = reason
    qr.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    notify.quota_decided(qr)
    return qr


@transaction.atomic
def cancel_quota_request(*, actor, quota_request: QuotaRequest) -> QuotaRequest:
    """The requester's team withdraws a pending request."""
    qr = QuotaRequest.objects.select_for_update(of=("self",)).get(pk=quota_request.pk)
    if not can_write_tenant(actor, qr.tenant):
        raise PermissionDenied("Viewers cannot withdraw requests.")
    if qr.status != QuotaRequest.Status.PENDING:
        raise ConflictError(f"This request is already {qr.status}.")
    qr.status = QuotaRequest.Status.CANCELLED
    qr.decided_by = actor
    qr.decided_at = timezone.now()
    qr.save(update_fields=["status", "decided_by", "decided_at"])
    return qr


@transaction.atomic
def revoke_quota_grant(*, actor, grant: QuotaGrant) -> QuotaGrant:
    _require_admin(actor)
    grant = QuotaGrant.objects.select_for_update().get(pk=grant.pk)
    if grant.revoked_at is not None:
        raise ConflictError("This grant is already revoked.")
    grant.revoked_at = timezone.now()
    grant.revoked_by = actor
    grant.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
    bump_desired_generation(grant.tenant_id)
    return grant


@transaction.atomic
def archive_tenant(*, actor, tenant: Tenant) -> Tenant:
    """Active -> archived: live grants are revoked and pending requests cancelled."""
    _require_admin(actor)
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if not tenant.can_transition(Tenant.Status.ARCHIVED):
        raise ConflictError(
            f"Tenant {tenant.slug} is {tenant.status}; only active tenants archive."
        )
    now = timezone.now()
    tenant.status = Tenant.Status.ARCHIVED
    tenant.save(update_fields=["status", "updated_at"])
    for grant in tenant.quota_grants.select_for_update().filter(revoked_at__isnull=True):
        grant.revoked_at = now
        grant.revoked_by = actor
        grant.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
    for pending in tenant.quota_requests.select_for_update().filter(
        status=QuotaRequest.Status.PENDING
    ):
        pending.status = QuotaRequest.Status.CANCELLED
        pending.decided_by = actor
        pending.decided_at = now
        pending.decision_reason = "Tenant archived."
        pending.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    bump_desired_generation(tenant.pk)
    return tenant


@transaction.atomic
def add_member(*, actor, tenant: Tenant, user, role: str) -> TenantMembership:
    if not can_manage_members(actor, tenant):
        raise PermissionDenied("Only owners and platform admins manage members.")
    if role not in TenantMembership.Role.values:
        raise DomainError("Choose owner, member or viewer.", field="role")
    membership, created = TenantMembership.objects.select_for_update().get_or_create(
        tenant=tenant, user=user, defaults={"role": role}
    )
    if not created and membership.role != role:
        if membership.role == TenantMembership.Role.OWNER:
            _keep_an_owner(tenant, excluding=membership)
        membership.role = role
        membership.save(update_fields=["role"])
    bump_desired_generation(tenant.pk)
    return membership


def _keep_an_owner(tenant: Tenant, *, excluding: TenantMembership) -> None:
    others = (
        TenantMembership.objects.select_for_update()
        .filter(tenant=tenant, role=TenantMembership.Role.OWNER)
        .exclude(pk=excluding.pk)
    )
    if not others.exists():
        raise DomainError("A tenant keeps at least one owner: make someone else owner first.")


@transaction.atomic
def remove_member(*, actor, membership: TenantMembership) -> None:
    membership = TenantMembership.objects.select_for_update().get(pk=membership.pk)
    tenant = membership.tenant
    if not can_manage_members(actor, tenant):
        raise PermissionDenied("Only owners and platform admins manage members.")
    if membership.role == TenantMembership.Role.OWNER:
        _keep_an_owner(tenant, excluding=membership)
    membership.delete()
    bump_desired_generation(tenant.pk)


PROFILE_FIELDS = (
    "display_name",
    "gpu_model",
    "gpu_product",
    "partition",
    "mig_profile",
    "resource_name",
    "gpu_fraction",
    "replicas",
    "memory_gb",
    "is_active",
)


@transaction.atomic
def create_gpu_profile(*, actor, name: str, **fields) -> GpuProfile:
    _require_admin(actor)
    if GpuProfile.objects.filter(name=name).exists():
        raise DomainError(f"A profile named {name!r} exists; pick another name.", field="name")
    profile = GpuProfile(name=name, **{k: v for k, v in fields.items() if k in PROFILE_FIELDS})
    _check_profile(profile)
    profile.save()
    return profile


@transaction.atomic
def update_gpu_profile(*, actor, profile: GpuProfile, **fields) -> GpuProfile:
    """Catalog edits; the capacity key (gpu_product, resource_name) of a profile in use is
    frozen, since live grants were checked against it."""
    _require_admin(actor)
    profile = GpuProfile.objects.select_for_update().get(pk=profile.pk)
    key_before = profile.capacity_key
    for key, value in fields.items():
        if key in PROFILE_FIELDS:
            setattr(profile, key, value)
    if (
        profile.capacity_key != key_before
        and QuotaGrant.objects.filter(profile=profile, revoked_at__isnull=True).exists()
    ):
        raise DomainError(
            "This profile has live grants: create a new profile instead of changing its GPU "
            "product or resource name.",
            field="resource_name",
        )
    _check_profile(profile)
    profile.save()
    return profile


def _check_profile(profile: GpuProfile) -> None:
    if profile.partition == GpuProfile.Partition.MIG and not profile.mig_profile:
        raise DomainError(
            "A MIG profile needs its MIG profile name, e.g. 1g.10gb.", field="mig_profile"
        )
    _full_clean(profile)
