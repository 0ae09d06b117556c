"""Writes of the tenancy domain: onboarding, quota requests, archiving and members. Decisions
on tenants and quota are in approvals.py, the GPU catalog in catalog.py.

Every function is one transaction; state transitions lock their row and re-check its state.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clusters.models import Cluster
from portal import roles
from portal.domain_errors import ConflictError, DomainError

from .models import (
    MAX_UNITS,
    Environment,
    EnvironmentName,
    GpuProfile,
    QuotaRequest,
    Tenant,
    TenantMembership,
)
from .outbox import bump_desired_generation
from .selectors import can_manage_members, can_onboard, can_write_tenant

# Paths under /tenants/ that a tenant slug would shadow.
RESERVED_SLUGS = frozenset({"new", "approvals", "quota-requests", "capacity"})

ADMINS_DECIDE = "Only platform admins can decide on tenants and quota."


def full_clean(instance, exclude=None) -> None:
    """Model validation as a DomainError on the first offending field (approvals.py and
    catalog.py use it too)."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(messages[0], field=None if field == "__all__" else field) from exc


def _check_units(guaranteed, burst) -> None:
    for field, value in (("guaranteed", guaranteed), ("burst", burst)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise DomainError("Enter a whole number.", field=field)
        if value < 0 or value > MAX_UNITS:
            raise DomainError(f"Enter a whole number between 0 and {MAX_UNITS}.", field=field)
    if guaranteed + burst == 0:
        raise DomainError("Ask for at least one guaranteed or burst unit.", field="guaranteed")


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
    full_clean(tenant)
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
    full_clean(quota_request)
    quota_request.save()
    return quota_request


@transaction.atomic
def archive_tenant(*, actor, tenant: Tenant) -> Tenant:
    """Active -> archived: live grants are revoked and pending requests cancelled."""
    roles.require(actor, roles.PLATFORM_ADMIN, message=ADMINS_DECIDE)
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
