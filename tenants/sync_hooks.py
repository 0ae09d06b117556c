"""The tenants app's side of the sync engine's contract (clusters/registry.py): lookups the
engine and the cluster pages read (`TenantDirectory`), and the one write, recording the
generation that landed (`SyncRecorder`). Discovered by `clusters.registry.autodiscover()`.
"""

from collections.abc import Iterable

from django.db.models import F, Q

from clusters import registry
from clusters.registry import Allocation, SyncTarget

from . import selectors
from .models import Environment, Tenant


class TenantDirectory:
    """Reads only (implements `clusters.registry.TenantDirectory`)."""

    def sync_target(self, tenant_id: int) -> SyncTarget | None:
        tenant = Tenant.objects.filter(pk=tenant_id).first()
        if tenant is None:
            return None
        cluster_ids = {tenant.cluster_id}
        cluster_ids.update(
            Environment.objects.filter(tenant=tenant).values_list("cluster_id", flat=True)
        )
        return SyncTarget(
            tenant_id=tenant.pk,
            slug=tenant.slug,
            desired_generation=tenant.desired_generation,
            applied_generation=tenant.applied_generation,
            cluster_ids=tuple(sorted(cluster_ids)),
            archived=tenant.status == Tenant.Status.ARCHIVED,
        )

    def pending_tenant_ids(self, *, cluster_id: int | None = None) -> list[int]:
        tenants = Tenant.objects.filter(applied_generation__lt=F("desired_generation"))
        if cluster_id is not None:
            tenants = tenants.filter(
                Q(cluster_id=cluster_id) | Q(environments__cluster_id=cluster_id)
            ).distinct()
        return list(tenants.order_by("pk").values_list("pk", flat=True))

    def capacity_allocations(self, cluster_id: int) -> dict[tuple[str, str], Allocation]:
        return {
            (gpu_product, resource_name): allocation
            for (_, gpu_product, resource_name), allocation in selectors.allocated(
                [cluster_id]
            ).items()
        }

    def tenant_slugs(self, tenant_ids: Iterable[int]) -> dict[int, str]:
        return dict(Tenant.objects.filter(pk__in=list(tenant_ids)).values_list("pk", "slug"))

    def tenant_id(self, slug: str) -> int | None:
        return Tenant.objects.filter(slug=slug).values_list("pk", flat=True).first()


class SyncRecorder:
    """The one write (implements `clusters.registry.SyncRecorder`)."""

    def mark_applied(self, tenant_id: int, generation: int) -> bool:
        # a filtered UPDATE, so a slower run of an older generation never moves it backwards
        updated = Tenant.objects.filter(pk=tenant_id, applied_generation__lt=generation).update(
            applied_generation=generation
        )
        return bool(updated)


registry.register_tenants(directory=TenantDirectory(), recorder=SyncRecorder())
