"""Reads of the tenancy domain: who sees which tenant, the approvals queue and free capacity.

Every list here runs a constant number of queries, whatever the number of tenants.
"""

from collections import defaultdict
from dataclasses import dataclass

import pghistory.models
from django.db.models import Func, IntegerField, OuterRef, Prefetch, Subquery, Sum
from django.http import Http404

from clusters.models import Cluster, ClusterCapacity
from clusters.registry import Allocation
from portal import roles
from portal.audit import events_with_actors

from .models import (
    Environment,
    GpuProfile,
    QuotaGrant,
    QuotaRequest,
    Tenant,
    TenantMembership,
)

CapacityKey = tuple[int, str, str]  # (cluster_id, gpu_product, resource_name)
NOTHING = Allocation(0, 0)


def membership_role(user, tenant: Tenant) -> str | None:
    """The user's tenant role (owner/member/viewer), cached per tenant on the user object."""
    if not getattr(user, "is_authenticated", False):
        return None
    cache = user.__dict__.setdefault("_tenant_roles", {})
    if tenant.pk not in cache:
        cache[tenant.pk] = (
            TenantMembership.objects.filter(tenant=tenant, user=user)
            .values_list("role", flat=True)
            .first()
        )
    return cache[tenant.pk]


def can_see_tenant(user, tenant: Tenant) -> bool:
    return roles.sees_all_tenants(user) or membership_role(user, tenant) is not None


def can_write_tenant(user, tenant: Tenant) -> bool:
    """Owners and members write (request quota); admins too; viewers, SRE, finance read."""
    if roles.is_platform_admin(user):
        return True
    return membership_role(user, tenant) in (
        TenantMembership.Role.OWNER,
        TenantMembership.Role.MEMBER,
    )


def can_onboard(user) -> bool:
    """ML teams (and admins on their behalf) onboard tenants; SRE and finance only read."""
    if roles.is_platform_admin(user) or roles.ML_TEAM in roles.group_names(user):
        return True
    return getattr(user, "is_authenticated", False) and not (
        roles.is_sre(user) or roles.is_finance(user)
    )


def can_manage_members(user, tenant: Tenant) -> bool:
    if roles.is_platform_admin(user):
        return True
    return membership_role(user, tenant) == TenantMembership.Role.OWNER


def visible_tenants(user):
    """Tenants the user may see: all for admins, SRE and finance; members their own."""
    qs = Tenant.objects.select_related("cluster")
    if roles.sees_all_tenants(user):
        return qs
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    return qs.filter(memberships__user=user)


def _count_per_tenant(qs):
    """COUNT(*) of `qs`'s rows of the outer tenant, as a correlated subquery."""
    rows = qs.filter(tenant=OuterRef("pk")).order_by().annotate(n=Func("pk", function="COUNT"))
    return Subquery(rows.values("n"), output_field=IntegerField())


def tenant_list(user, *, status: str = ""):
    """Visible tenants with environment, grant and pending-request counts in one query.

    Correlated subqueries rather than joins + GROUP BY: PostgreSQL then counts only for the
    page of tenants it returns (4 ms at 1,000 tenants) instead of for every tenant (25 ms)."""
    qs = visible_tenants(user).annotate(
        environment_count=_count_per_tenant(Environment.objects.all()),
        live_grant_count=_count_per_tenant(QuotaGrant.objects.filter(revoked_at__isnull=True)),
        pending_request_count=_count_per_tenant(
            QuotaRequest.objects.filter(status=QuotaRequest.Status.PENDING)
        ),
    )
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("slug")


def get_tenant_for_user(user, slug: str) -> Tenant:
    """The tenant, or 404 for a tenant the user may not see (so tenants can't be enumerated)."""
    tenant = Tenant.objects.select_related("cluster", "decided_by", "created_by").filter(slug=slug)
    tenant = tenant.first()
    if tenant is None or not can_see_tenant(user, tenant):
        raise Http404("No such tenant.")
    return tenant


def get_quota_request_for_user(user, pk) -> QuotaRequest:
    qr = (
        QuotaRequest.objects.select_related(
            "tenant", "environment__cluster", "profile", "requested_by", "decided_by"
        )
        .filter(pk=pk)
        .first()
    )
    if qr is None or not can_see_tenant(user, qr.tenant):
        raise Http404("No such quota request.")
    return qr


def visible_quota_requests(user):
    qs = QuotaRequest.objects.select_related(
        "tenant", "environment__cluster", "profile", "requested_by", "decided_by"
    )
    if roles.sees_all_tenants(user):
        return qs
    return qs.filter(tenant__memberships__user=user)


def active_profiles():
    return GpuProfile.objects.filter(is_active=True)


# --- capacity -------------------------------------------------------------------------------


def _capacities(cluster_ids) -> dict[CapacityKey, int]:
    rows = ClusterCapacity.objects.filter(cluster_id__in=set(cluster_ids))
    return {(r.cluster_id, r.gpu_product, r.resource_name): r.capacity for r in rows}


def allocated(cluster_ids) -> dict[CapacityKey, Allocation]:
    """Guaranteed and burst units of live grants per (cluster, gpu_product, resource_name).

    The one rule for what holds capacity (approval, the capacity pages and the cluster pages
    read it): every grant that is not revoked, whatever its tenant's status. Archiving revokes
    a tenant's grants in the same transaction, so only live grants hold units on a cluster."""
    rows = (
        QuotaGrant.objects.filter(
            revoked_at__isnull=True, environment__cluster_id__in=set(cluster_ids)
        )
        .values("environment__cluster_id", "profile__gpu_product", "profile__resource_name")
        .annotate(guaranteed=Sum("guaranteed"), burst=Sum("burst"))
    )
    return {
        (
            r["environment__cluster_id"],
            r["profile__gpu_product"],
            r["profile__resource_name"],
        ): Allocation(r["guaranteed"] or 0, r["burst"] or 0)
        for r in rows
    }


def guaranteed_allocated(*, cluster_id: int, gpu_product: str, resource_name: str) -> int:
    """Guaranteed units of live grants of one capacity key on one cluster."""
    key = (cluster_id, gpu_product, resource_name)
    return allocated([cluster_id]).get(key, NOTHING).guaranteed


@dataclass(frozen=True)
class FreeCapacity:
    cluster: Cluster
    profile: GpuProfile
    capacity: int
    allocated: int

    @property
    def free(self) -> int:
        return max(self.capacity - self.allocated, 0)


def free_capacity(*, cluster: Cluster, profile: GpuProfile) -> FreeCapacity:
    """Guaranteed capacity of one profile's (gpu_product, resource_name) on one cluster."""
    key = (cluster.pk, profile.gpu_product, profile.resource_name)
    return FreeCapacity(
        cluster=cluster,
        profile=profile,
        capacity=_capacities([cluster.pk]).get(key, 0),
        allocated=allocated([cluster.pk]).get(key, NOTHING).guaranteed,
    )


def capacity_overview() -> list[FreeCapacity]:
    """Capacity, guaranteed allocated and free per (cluster, profile) with recorded capacity."""
    clusters = {c.pk: c for c in Cluster.objects.all()}
    capacities = _capacities(clusters)
    held = allocated(clusters)
    rows = []
    for profile in active_profiles():
        for cluster_id, cluster in clusters.items():
            key = (cluster_id, profile.gpu_product, profile.resource_name)
            if key in capacities:
                rows.append(
                    FreeCapacity(
                        cluster=cluster,
                        profile=profile,
                        capacity=capacities[key],
                        allocated=held.get(key, NOTHING).guaranteed,
                    )
                )
    rows.sort(key=lambda r: (r.cluster.name, r.profile.gpu_model, r.profile.name))
    return rows


@dataclass(frozen=True)
class PendingQuota:
    request: QuotaRequest
    capacity: int
    free_before: int
    replaces: int  # guaranteed units of the live grant this request would replace

    @property
    def free_after(self) -> int:
        return self.free_before + self.replaces - self.request.guaranteed

    @property
    def fits(self) -> bool:
        return self.free_after >= 0


def pending_quota_requests(*, ids=None) -> list[PendingQuota]:
    """The approvals queue with each request's capacity impact, in four queries."""
    qs = QuotaRequest.objects.select_related(
        "tenant", "environment__cluster", "profile", "requested_by"
    ).filter(status=QuotaRequest.Status.PENDING)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    requests = list(qs.order_by("created_at", "pk"))
    cluster_ids = {r.environment.cluster_id for r in requests}
    capacities = _capacities(cluster_ids)
    held = allocated(cluster_ids)
    live = {
        (g.environment_id, g.profile_id): g.guaranteed
        for g in QuotaGrant.objects.filter(
            revoked_at__isnull=True, environment_id__in={r.environment_id for r in requests}
        ).only("environment_id", "profile_id", "guaranteed")
    }
    rows = []
    for r in requests:
        key = (r.environment.cluster_id, r.profile.gpu_product, r.profile.resource_name)
        capacity = capacities.get(key, 0)
        rows.append(
            PendingQuota(
                request=r,
                capacity=capacity,
                free_before=capacity - held.get(key, NOTHING).guaranteed,
                replaces=live.get((r.environment_id, r.profile_id), 0),
            )
        )
    return rows


def pending_tenants():
    return (
        Tenant.objects.filter(status=Tenant.Status.PENDING)
        .select_related("cluster", "created_by")
        .prefetch_related(Prefetch("environments", queryset=Environment.objects.order_by("name")))
        .order_by("created_at", "pk")
    )


# --- one tenant -------------------------------------------------------------------------------


def tenant_overview(tenant: Tenant) -> dict:
    """Environments, live grants, requests and members of one tenant, in four queries."""
    environments = list(tenant.environments.select_related("cluster").order_by("name"))
    grants = list(
        tenant.quota_grants.filter(revoked_at__isnull=True).select_related(
            "environment", "profile", "granted_by"
        )
    )
    requests = list(
        tenant.quota_requests.select_related(
            "environment", "profile", "requested_by", "decided_by"
        ).order_by("-created_at", "-pk")
    )
    members = list(tenant.memberships.select_related("user").order_by("role", "user__username"))
    grants_by_env = defaultdict(list)
    for g in grants:
        grants_by_env[g.environment_id].append(g)
    for env in environments:
        env.live_grants = grants_by_env.get(env.pk, [])
    return {
        "environments": environments,
        "grants": grants,
        "requests": requests,
        "members": members,
    }


def tenant_history(tenant: Tenant, *, limit: int = 100) -> list:
    """Audit events of the tenant and every row that references it, newest first."""
    events = pghistory.models.Events.objects.references(tenant).order_by("-pgh_created_at")
    return events_with_actors(events[:limit])
