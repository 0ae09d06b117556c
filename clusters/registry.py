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

`tenants/manifests.py` also registers the tenant-level hooks (`sync_target` and
`mark_applied`) that tell the engine the tenant's desired generation and record what landed.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

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
    active: bool = True  # only active tenants are repaired by the drift check


Provider = Callable[[int], Iterable[DesiredObject]]

_providers: list[Provider] = []
_hooks: dict[str, Callable] = {}


def tenant_manifests(func: Provider) -> Provider:
    """Register a render function: tenant id in, desired objects out."""
    if func not in _providers:
        _providers.append(func)
    return func


def register_hook(name: str):
    """Register a tenant-level hook, e.g. 'sync_target' or 'mark_applied' (tenants/manifests.py)."""

    def decorator(func: Callable) -> Callable:
        _hooks[name] = func
        return func

    return decorator


def hook(name: str) -> Callable:
    autodiscover()
    try:
        return _hooks[name]
    except KeyError:
        raise LookupError(f"no manifests.py registered the '{name}' hook") from None


def providers() -> list[Provider]:
    autodiscover()
    return list(_providers)


_discovered = False


def autodiscover() -> None:
    global _discovered
    if not _discovered:
        autodiscover_modules("manifests")
        _discovered = True


def desired_objects(tenant_id: int) -> list[DesiredObject]:
    """Every registered provider's objects for one tenant, in registration order."""
    objects: list[DesiredObject] = []
    for provider in providers():
        objects.extend(provider(tenant_id))
    return objects
