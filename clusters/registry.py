"""How domain apps hand their desired Kubernetes objects to the sync engine.

`clusters` imports no domain app. Instead each domain app's `manifests.py` registers pure
render functions here, and the sync engine calls `autodiscover()` (the way the admin discovers
`admin.py`) and then asks every registered provider for one tenant's objects:

    # workloads/manifests.py
    from clusters.registry import DesiredObject, tenant_manifests

    @tenant_manifests
    def workload_objects(tenant_id: int) -> list[DesiredObject]:
        ...

A provider returns `DesiredObject(cluster_id, manifest)` items: `manifest` is a plain dict
(apiVersion, kind, metadata, spec...) carrying the `gpu-portal.io/tenant` and
`app.kubernetes.io/managed-by: gpu-portal` labels; `cluster_id` is the Cluster it goes to.
Providers read rows and render; they never write and never talk to a cluster.

The app that owns tenants also implements two small typed contracts, in a module named
`sync_hooks.py` (discovered like `manifests.py`) that calls `register_tenants()`:

- `TenantDirectory` (reads only): a tenant's sync target (generations, clusters, archived), the
  outbox's backlog, guaranteed/burst grants per cluster for the capacity pages, slug <-> id.
- `SyncRecorder` (the one write): record the generation that landed on every cluster.

The engine calls nothing else of the domain apps (docs/decisions/0007-seams-sync-hooks.md).
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, runtime_checkable

from django.utils.module_loading import autodiscover_modules

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "gpu-portal"
FIELD_MANAGER = "gpu-portal"
LABEL_PREFIX = "gpu-portal.io/"
TENANT_LABEL = LABEL_PREFIX + "tenant"
ENVIRONMENT_LABEL = LABEL_PREFIX + "environment"
COST_CENTER_LABEL = LABEL_PREFIX + "cost-center"
WORKLOAD_LABEL = LABEL_PREFIX + "workload"
# The Kueue LocalQueue every tenant namespace gets (label workloads with kueue.x-k8s.io/queue-name).
LOCAL_QUEUE_NAME = "default"
# Set to "false" on objects the cluster removes once they are done (finished training Jobs with
# ttlSecondsAfterFinished): applied once, never recreated by a resync or a drift repair.
RECREATE_ANNOTATION = LABEL_PREFIX + "recreate-when-missing"


@dataclass(frozen=True)
class DesiredObject:
    cluster_id: int
    manifest: dict = field(hash=False)

    @property
    def key(self) -> tuple[int, str, str, str, str]:
        meta = self.manifest.get("metadata", {})
        return (
            self.cluster_id,
            self.manifest.get("apiVersion", ""),
            self.manifest.get("kind", ""),
            meta.get("namespace", ""),
            meta.get("name", ""),
        )


@dataclass(frozen=True)
class SyncTarget:
    """What the engine needs to know of a tenant without importing the tenants app."""

    tenant_id: int
    slug: str
    desired_generation: int
    applied_generation: int
    cluster_ids: tuple[int, ...]
    archived: bool = False


class Allocation(NamedTuple):
    """Sums of live grants of one GPU (product, resource name) on a cluster."""

    guaranteed: int
    burst: int


@runtime_checkable
class TenantDirectory(Protocol):
    """What the sync engine and the cluster pages read of tenants. Reads only: no method
    writes, and each answers from the database as it is now."""

    def sync_target(self, tenant_id: int) -> SyncTarget | None:
        """The tenant's generations, clusters and archived flag; None if it does not exist."""
        ...

    def pending_tenant_ids(self, *, cluster_id: int | None = None) -> list[int]:
        """Tenants whose applied generation lags the desired one (the outbox's backlog), in id
        order: all of them, or those with a namespace (or their home) on one cluster."""
        ...

    def capacity_allocations(self, cluster_id: int) -> dict[tuple[str, str], Allocation]:
        """Live grants on a cluster per (gpu_product, resource_name), of the tenants that hold
        capacity (the same rule that approval checks against)."""
        ...

    def tenant_slugs(self, tenant_ids: Iterable[int]) -> dict[int, str]:
        """Slug of each existing tenant among `tenant_ids`."""
        ...

    def tenant_id(self, slug: str) -> int | None:
        """The id of the tenant with this slug, or None."""
        ...


@runtime_checkable
class SyncRecorder(Protocol):
    """The engine's one write into a domain app: what landed."""

    def mark_applied(self, tenant_id: int, generation: int) -> bool:
        """Record that `generation` is applied on every cluster of the tenant. Never moves the
        applied generation backwards; returns whether it moved."""
        ...


Provider = Callable[[int], Iterable[DesiredObject]]

_providers: list[Provider] = []
_directory: TenantDirectory | None = None
_recorder: SyncRecorder | None = None


def tenant_manifests(func: Provider) -> Provider:
    """Register a render function: tenant id in, desired objects out."""
    if func not in _providers:
        _providers.append(func)
    return func


def register_tenants(*, directory: TenantDirectory, recorder: SyncRecorder) -> None:
    """Called once by the app that owns tenants (its sync_hooks.py)."""
    global _directory, _recorder
    if not isinstance(directory, TenantDirectory):
        raise TypeError(f"{directory!r} does not implement TenantDirectory")
    if not isinstance(recorder, SyncRecorder):
        raise TypeError(f"{recorder!r} does not implement SyncRecorder")
    _directory, _recorder = directory, recorder


def tenant_directory() -> TenantDirectory:
    autodiscover()
    if _directory is None:
        raise LookupError("no app registered a TenantDirectory (register_tenants in sync_hooks.py)")
    return _directory


def sync_recorder() -> SyncRecorder:
    autodiscover()
    if _recorder is None:
        raise LookupError("no app registered a SyncRecorder (register_tenants in sync_hooks.py)")
    return _recorder


def providers() -> list[Provider]:
    autodiscover()
    return list(_providers)


@contextmanager
def replaced(
    *, directory: TenantDirectory, recorder: SyncRecorder, providers: list[Provider]
) -> Iterator[None]:
    """Run the engine against other implementations (tests of the engine without the domain
    apps); the registered ones are back afterwards."""
    global _directory, _recorder, _providers
    autodiscover()
    saved = _directory, _recorder, _providers
    _directory, _recorder, _providers = directory, recorder, list(providers)
    try:
        yield
    finally:
        _directory, _recorder, _providers = saved


_discovered = False


def autodiscover() -> None:
    global _discovered
    if not _discovered:
        autodiscover_modules("manifests", "sync_hooks")
        _discovered = True


def desired_objects(tenant_id: int) -> list[DesiredObject]:
    """Every registered provider's objects for one tenant, in registration order."""
    objects: list[DesiredObject] = []
    for provider in providers():
        objects.extend(provider(tenant_id))
    return objects
