"""Writes of tenants as code: carry out a tenant document's plan (tenants.spec) in one
transaction, through the same services as the pages, so every rule (roles, state, audit,
outbox) holds. Also the two writes only a document needed: editing a tenant's details and
releasing quota."""

import pghistory
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from clusters.models import Cluster
from portal import roles
from portal.domain_errors import DomainError

from . import services
from .models import Environment, QuotaGrant, Tenant, TenantMembership, TenantSpecApply
from .outbox import bump_desired_generation
from .selectors import can_manage_members, can_write_tenant
from .spec import Plan, SpecInvalid, plan_for, pointer

# Details whose change reaches the cluster (labels, limits): they bump the generation.
SYNCED_FIELDS = {"cost_center", "tier"}


def _require_spec_writer(actor, tenant: Tenant | None) -> None:
    if tenant is None:
        return  # onboarding checks its own rule
    if not (roles.is_platform_admin(actor) or can_manage_members(actor, tenant)):
        raise PermissionDenied("Only the tenant's owners and platform admins apply its document.")


@transaction.atomic
def update_tenant_details(*, actor, tenant: Tenant, field: str, value) -> Tenant:
    """Owners edit the tenant's descriptive fields; tier and cluster are a platform admin's."""
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if field in ("tier", "cluster") and not roles.is_platform_admin(actor):
        raise PermissionDenied(
            f"Changing the {field} is decided by a platform admin: ask one, or request it."
        )
    if field == "cluster" and tenant.environments.exists():
        raise DomainError(
            "A tenant with environments cannot move to another cluster.", field="cluster"
        )
    if not can_write_tenant(actor, tenant):
        raise PermissionDenied("Viewers cannot change the tenant.")
    setattr(tenant, field, value)
    services.full_clean(tenant, exclude=[f.name for f in Tenant._meta.fields if f.name != field])
    tenant.save(update_fields=[field, "updated_at"])
    if field in SYNCED_FIELDS and tenant.status == Tenant.Status.ACTIVE:
        bump_desired_generation(tenant.pk)
    return tenant


@transaction.atomic
def add_environment(*, actor, tenant: Tenant, name: str) -> Environment:
    if not can_manage_members(actor, tenant) and not roles.is_platform_admin(actor):
        raise PermissionDenied("Only owners and platform admins add environments.")
    namespace = Environment.namespace_for(tenant.slug, name)
    if Environment.objects.filter(namespace=namespace).exists():
        raise DomainError(f"Namespace {namespace} already exists.", field="environments")
    env = Environment.objects.create(
        tenant=tenant, name=name, cluster=tenant.cluster, namespace=namespace
    )
    if tenant.status == Tenant.Status.ACTIVE:
        bump_desired_generation(tenant.pk)
    return env


@transaction.atomic
def release_quota(*, actor, grant: QuotaGrant, guaranteed: int, burst: int) -> QuotaGrant:
    """Give back part (or all) of a grant. Needs no approval: it only frees capacity."""
    grant = QuotaGrant.objects.select_for_update().select_related("tenant").get(pk=grant.pk)
    if not can_write_tenant(actor, grant.tenant):
        raise PermissionDenied("Viewers cannot release quota.")
    if grant.revoked_at is not None:
        raise DomainError("This grant is already revoked.")
    if guaranteed > grant.guaranteed or burst > grant.burst:
        raise DomainError("Releasing cannot raise quota: request more instead.")
    if guaranteed == burst == 0:
        grant.revoked_at = timezone.now()
        grant.revoked_by = actor
        grant.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
    else:
        grant.guaranteed, grant.burst = guaranteed, burst
        grant.save(update_fields=["guaranteed", "burst", "updated_at"])
    bump_desired_generation(grant.tenant_id)
    return grant


def _carry_out(plan: Plan, *, actor, tenant: Tenant | None, document: dict) -> Tenant:
    doc = {"oncall_contact": "", "description": "", "environments": ["dev"], **document}
    if tenant is None:
        try:
            tenant = _onboard(plan, actor=actor, doc=doc)
        except DomainError as exc:
            raise SpecInvalid({pointer(exc.field or ""): [str(exc)]}) from exc
    envs = {e.name: e for e in tenant.environments.all()}
    for step in plan.changes:
        try:
            _carry_out_step(step, actor=actor, tenant=tenant, envs=envs)
        except DomainError as exc:
            raise SpecInvalid({_field_of(step, exc): [f"{step.target}: {exc}"]}) from exc
    return tenant


def _onboard(plan: Plan, *, actor, doc: dict) -> Tenant:
    return services.onboard_tenant(
        actor=actor,
        slug=plan.slug,
        name=doc["name"],
        team=doc["team"],
        cost_center=doc["cost_center"],
        contact_email=doc["contact_email"],
        oncall_contact=doc["oncall_contact"],
        description=doc["description"],
        environments=doc["environments"],
        tier=doc["tier"],
        cluster=Cluster.objects.get(name=doc["cluster"]),
    )


def _carry_out_step(step, *, actor, tenant: Tenant, envs: dict) -> None:
    kind, data = step.action, step.data
    if kind == "update":
        update_tenant_details(actor=actor, tenant=tenant, field=data["field"], value=data["value"])
    elif kind == "add" and step.target.startswith("environment "):
        name = step.target.removeprefix("environment ")
        envs[name] = add_environment(actor=actor, tenant=tenant, name=name)
    elif kind in ("add", "change"):
        services.add_member(actor=actor, tenant=tenant, user=data["user"], role=data["role"])
    elif kind == "remove":
        membership = TenantMembership.objects.get(tenant=tenant, user__username=data["username"])
        services.remove_member(actor=actor, membership=membership)
    elif kind == "request":
        services.request_quota(
            actor=actor,
            tenant=tenant,
            environment=envs[data["environment"]],
            profile=data["profile"],
            guaranteed=data["guaranteed"],
            burst=data["burst"],
            justification=data["justification"],
        )
    elif kind == "release":
        grant = QuotaGrant.objects.get(
            environment=envs[data["environment"]],
            profile__name=data["profile_name"],
            revoked_at__isnull=True,
        )
        release_quota(actor=actor, grant=grant, guaranteed=data["guaranteed"], burst=data["burst"])


def _field_of(step, exc: DomainError) -> str:
    """A service's field error, placed at the document line the step came from."""
    index = step.data.get("index")
    if step.action == "request" and index is not None:
        return pointer("quota", index, exc.field or "")
    return pointer(exc.field or "")


def apply_tenant_spec(*, actor, slug: str, document, dry_run: bool, prune: bool) -> Plan:
    """Plan, and unless `dry_run` carry the plan out: all of it or nothing, one audited change
    carrying the document's digest. Raises SpecInvalid (field errors by JSON pointer),
    PermissionDenied, DomainError or ConflictError."""
    tenant = Tenant.objects.filter(slug=slug).select_related("cluster").first()
    _require_spec_writer(actor, tenant)
    plan = plan_for(slug=slug, document=document, tenant=tenant, prune=prune)
    if dry_run or not plan.changes:
        return plan
    with transaction.atomic(), pghistory.context(spec_digest=plan.digest, spec_tenant=slug):
        tenant = _carry_out(plan, actor=actor, tenant=tenant, document=document)
        TenantSpecApply.objects.create(
            tenant=tenant,
            digest=plan.digest,
            document=document,
            plan=plan.as_dict(),
            pruned=prune,
            applied_by=actor,
        )
    return plan
