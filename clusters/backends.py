"""What every cluster backend returns and raises, and how the engine picks one for a cluster.

Callers never see a library's exception: a backend raises `TransientError` (retry later:
unreachable, timeouts, 409/429/5xx after in-place retries) or `PermanentError` (the API or the
repository refused: 401/403/422...), each carrying the server's message.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Protocol

from .registry import LABEL_PREFIX, MANAGED_BY, MANAGED_BY_LABEL, RECREATE_ANNOTATION, TENANT_LABEL


class BackendError(Exception):
    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status


class TransientError(BackendError):
    """Worth retrying later: the tenant stays pending and the task backs off."""


class PermanentError(BackendError):
    """Retrying the same request will not help; shown to the admin with the server's message."""


@dataclass(frozen=True)
class ObjectOutcome:
    api_version: str
    kind: str
    namespace: str
    name: str
    action: str  # created / configured / unchanged / pruned / failed / drifted / blocked /
    # conflict / adopted
    message: str = ""
    # blocked by a foreign object: ownership.ForeignObject.as_dict(); conflict: {"conflicts":
    # [{field, manager}]}
    detail: dict | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True)
class CapacityObservation:
    gpu_product: str
    resource_name: str
    allocatable: int


class Backend(Protocol):
    def apply(
        self,
        *,
        tenant_slug: str,
        manifests: list[dict],
        previous_keys: list[list[str]],
        allow_namespace_deletion: bool,
        actor: str,
        generation: int,
        previous_hashes: dict[str, str] | None = None,
        tenant_id: int | None = None,
        force_conflicts: bool = False,
        adoptions: dict[tuple, str] | None = None,
    ) -> list[ObjectOutcome]: ...

    def drifted(self, *, tenant_slug: str, manifests: list[dict]) -> list[ObjectOutcome]: ...


def object_key(manifest: dict) -> list[str]:
    meta = manifest.get("metadata") or {}
    return [manifest["apiVersion"], manifest["kind"], meta.get("namespace", ""), meta["name"]]


def is_shared(manifest: dict) -> bool:
    """True for objects several tenants render (a ResourceFlavor): never pruned by one tenant."""
    return (manifest["metadata"].get("labels") or {}).get(f"{LABEL_PREFIX}shared") == "true"


def runs_once(manifest: dict) -> bool:
    """True for objects the cluster deletes itself once done (a finished Job past its TTL):
    re-creating one after it is gone would run a training again."""
    annotations = (manifest.get("metadata") or {}).get("annotations") or {}
    return annotations.get(RECREATE_ANNOTATION) == "false"


def object_hash(manifest: dict) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True, default=str).encode()).hexdigest()


def object_hashes(manifests: list[dict]) -> dict[str, str]:
    """Key ("apiVersion|kind|namespace|name") -> content hash, as SyncState.applied_hashes keeps."""
    return {"|".join(object_key(m)): object_hash(m) for m in manifests}


def tenant_selector(tenant_slug: str) -> str:
    return f"{MANAGED_BY_LABEL}={MANAGED_BY},{TENANT_LABEL}={tenant_slug}"


def desired_hash(manifests: list[dict]) -> str:
    canonical = json.dumps(sorted(manifests, key=object_key), sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def apply_order(manifest: dict) -> tuple[int, str]:
    """Namespaces first, then cluster-scoped objects, then namespaced ones."""
    if manifest["kind"] == "Namespace":
        return (0, "")
    if not (manifest.get("metadata") or {}).get("namespace"):
        return (1, manifest["kind"])
    return (2, manifest["kind"])


def is_subset(desired, live) -> bool:
    """True when every field we set has the same value live (our managed fields only)."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(
            k in live and is_subset(v, live[k]) for k, v in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(desired) == len(live)
            and all(is_subset(d, v) for d, v in zip(desired, live, strict=True))
        )
    return desired == live or str(desired) == str(live)


def in_sync(manifest: dict, live: dict) -> bool:
    """The live object has every field we set (spec and the rest, labels, annotations)."""
    meta, live_meta = manifest.get("metadata") or {}, live.get("metadata") or {}
    return (
        is_subset({k: v for k, v in manifest.items() if k != "metadata"}, live)
        and is_subset(meta.get("labels") or {}, live_meta.get("labels") or {})
        and is_subset(meta.get("annotations") or {}, live_meta.get("annotations") or {})
    )


def backend_for(cluster) -> Backend:
    if cluster.backend == "gitops":
        from .gitops import GitOpsBackend

        return GitOpsBackend(cluster)
    from .kube import KubeBackend

    return KubeBackend(cluster)
