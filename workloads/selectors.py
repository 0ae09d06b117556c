"""Reads of workloads, with tenant isolation: someone else's tenant is a 404, never a 403."""

from django.db.models import Case, Count, F, Prefetch, Q, Sum, When
from django.db.models.functions import Greatest
from django.http import Http404

from portal import roles
from tenants.models import Environment, QuotaGrant, Tenant, TenantMembership

from .models import Template, Workload, WorkloadEnvironment, WorkloadRevision


def membership_role(user, tenant: Tenant) -> str | None:
    if not getattr(user, "is_authenticated", False):
        return None
    cache = getattr(user, "_portal_tenant_roles", None)
    if cache is None:
        cache = dict(TenantMembership.objects.filter(user=user).values_list("tenant_id", "role"))
        user._portal_tenant_roles = cache
    return cache.get(tenant.pk)


def can_view_tenant(user, tenant: Tenant) -> bool:
    return roles.sees_all_tenants(user) or membership_role(user, tenant) is not None


def can_write_tenant(user, tenant: Tenant) -> bool:
    """Tenant owners and members change their workloads; viewers, SREs and finance do not."""
    return membership_role(user, tenant) in (
        TenantMembership.Role.OWNER,
        TenantMembership.Role.MEMBER,
    )


def can_rollback(user, tenant: Tenant) -> bool:
    """Rolling back is an incident action: the team, and the SREs on call for it."""
    return can_write_tenant(user, tenant) or roles.is_sre(user)


def tenant_for_user(user, slug: str) -> Tenant:
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None or not can_view_tenant(user, tenant):
        raise Http404("No such tenant")
    return tenant


def visible_workloads(user):
    qs = Workload.objects.select_related("tenant")
    if roles.sees_all_tenants(user):
        return qs
    return qs.filter(tenant__memberships__user=user)


def workload_for_user(user, *, pk: int | None = None, slug: str = "", name: str = "") -> Workload:
    qs = visible_workloads(user)
    try:
        if pk is not None:
            return qs.get(pk=pk)
        return qs.get(tenant__slug=slug, name=name)
    except Workload.DoesNotExist:
        raise Http404("No such workload") from None


def workloads_of_tenant(tenant: Tenant):
    """The tenant's workloads with their latest revision number and environments, in 3 queries."""
    deployments = WorkloadEnvironment.objects.select_related(
        "environment", "current_revision"
    ).order_by("environment__name")
    return (
        Workload.objects.filter(tenant=tenant)
        .annotate(revision_count=Count("revisions", distinct=True))
        .prefetch_related(Prefetch("deployments", queryset=deployments))
        .order_by("name")
    )


def latest_revision(workload: Workload) -> WorkloadRevision | None:
    return workload.revisions.select_related("profile").order_by("-number").first()


def revisions_of(workload: Workload):
    return workload.revisions.select_related("profile", "created_by").order_by("-number")


def deployments_of(workload: Workload):
    return (
        WorkloadEnvironment.objects.filter(workload=workload)
        .select_related(
            "environment",
            "current_revision__profile",
            "previous_revision",
            "canary_revision__profile",
        )
        .order_by("environment__name")
    )


def environments_by_name(tenant: Tenant) -> dict[str, Environment]:
    return {e.name: e for e in tenant.environments.select_related("cluster")}


def live_grant(environment: Environment, profile_id: int, *, lock: bool = False):
    qs = QuotaGrant.objects.filter(
        environment=environment, profile_id=profile_id, revoked_at__isnull=True
    )
    if lock:
        qs = qs.select_for_update()
    return qs.first()


def peak_units(prefix: str):
    """SQL for WorkloadRevision.gpu_units (autoscaled inference counts its max replicas)."""
    autoscaled = Q(workload__template=Template.INFERENCE) & ~Q(
        **{f"{prefix}scaling_metric": WorkloadRevision.ScalingMetric.NONE}
    )
    replicas = Case(
        When(autoscaled, then=Greatest(F(f"{prefix}replicas"), F(f"{prefix}max_replicas"))),
        default=F(f"{prefix}replicas"),
    )
    return replicas * F(f"{prefix}gpus_per_replica")


def units_used_by_others(environment: Environment, profile_id: int, workload_id: int) -> dict:
    """GPU units of one profile held in an environment by every other workload, by name.
    One aggregate for the stable revisions; canaries (rare) are added row by row."""
    others = WorkloadEnvironment.objects.filter(environment=environment).exclude(
        workload_id=workload_id
    )
    used: dict[str, int] = dict(
        others.filter(current_revision__profile_id=profile_id)
        .values("workload__name")
        .annotate(units=Sum(peak_units("current_revision__")))
        .values_list("workload__name", "units")
    )
    canaries = others.filter(canary_percent__gt=0, canary_revision__profile_id=profile_id)
    for dep in canaries.select_related("workload", "current_revision", "canary_revision"):
        used[dep.workload.name] = used.get(dep.workload.name, 0) + dep.canary_units(profile_id)
    return {name: units for name, units in used.items() if units}
