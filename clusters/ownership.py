"""Which live objects are the portal's: the ownership annotation it stamps on everything it
creates, and the rules that decide whether an object may be written, pruned or deleted.

An object is ours when its `gpu-portal.io/owner` annotation names this portal instance and the
tenant (by id, not slug). Pruning asks for more: our field manager in managedFields and no
controlling ownerReference (a Job its CronJob made is the CronJob's, whatever its labels say).
Objects written before the annotation existed are recognised once, by our labels, our field
manager and the previous sync's object list, and get the annotation on their next apply.
See docs/decisions/0014-safety-ownership-and-pruning.md.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from django.conf import settings

from .registry import FIELD_MANAGER, LABEL_PREFIX, MANAGED_BY, MANAGED_BY_LABEL, TENANT_LABEL

OWNER_ANNOTATION = LABEL_PREFIX + "owner"
SHARED_OWNER = "shared"


def portal_instance() -> str:
    return getattr(settings, "PORTAL_INSTANCE", "gpu-portal")


def owner_value(tenant_id: int | None) -> str:
    """`<instance>/tenant-<id>`, or `<instance>/shared` for objects several tenants render."""
    owner = SHARED_OWNER if tenant_id is None else f"tenant-{tenant_id}"
    return f"{portal_instance()}/{owner}"


def stamp(manifests: list[dict], tenant_id: int) -> list[dict]:
    """Copies of `manifests` carrying the ownership annotation (top-level metadata only:
    templates that controllers stamp out never carry it)."""
    from .backends import is_shared

    stamped = []
    for manifest in manifests:
        manifest = copy.deepcopy(manifest)
        annotations = manifest["metadata"].setdefault("annotations", {})
        annotations[OWNER_ANNOTATION] = owner_value(None if is_shared(manifest) else tenant_id)
        stamped.append(manifest)
    return stamped


def owner_of(live: dict) -> str:
    return ((live.get("metadata") or {}).get("annotations") or {}).get(OWNER_ANNOTATION, "")


def managers(live: dict) -> set[str]:
    return {m.get("manager", "") for m in (live.get("metadata") or {}).get("managedFields") or []}


def controller_of(live: dict) -> dict | None:
    for ref in (live.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def _legacy_ours(live: dict, tenant_slug: str, applied_before: bool) -> bool:
    """Written by this portal before the annotation existed: our labels for this tenant, our
    field manager, and listed by the previous successful sync of this tenant."""
    labels = (live.get("metadata") or {}).get("labels") or {}
    return (
        applied_before
        and not owner_of(live)
        and labels.get(MANAGED_BY_LABEL) == MANAGED_BY
        and labels.get(TENANT_LABEL) == tenant_slug
        and FIELD_MANAGER in managers(live)
    )


def is_ours(live: dict, *, tenant_id: int, tenant_slug: str, applied_before: bool) -> bool:
    owner = owner_of(live)
    if owner:
        return owner in (owner_value(tenant_id), owner_value(None))
    return _legacy_ours(live, tenant_slug, applied_before)


def may_prune(live: dict, *, tenant_id: int, tenant_slug: str, applied_before: bool) -> bool:
    """Ours for this tenant, not controlled by another object, and applied by our manager."""
    owner = owner_of(live)
    ours = owner == owner_value(tenant_id) or (
        not owner and _legacy_ours(live, tenant_slug, applied_before)
    )
    return ours and controller_of(live) is None and FIELD_MANAGER in managers(live)


@dataclass(frozen=True)
class ForeignObject:
    """A live object the portal wanted to write but did not create."""

    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str
    owner: str
    labels: dict
    environment: str

    def describe(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        labels = ", ".join(f"{k}={v}" for k, v in sorted(self.labels.items())) or "no labels"
        owner = f"is owned by {self.owner}" if self.owner else "was not created by this portal"
        return (
            f"{self.kind} {where} already exists on the cluster and {owner} ({labels}); "
            "nothing was written to it. A platform admin can adopt it from the tenant's sync "
            "page after reviewing what would change, or rename the environment."
        )

    def as_dict(self) -> dict:
        return {
            "api_version": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "uid": self.uid,
            "owner": self.owner,
            "labels": self.labels,
            "environment": self.environment,
            "message": self.describe(),
        }


def foreign(live: dict, environment: str) -> ForeignObject:
    meta = live.get("metadata") or {}
    return ForeignObject(
        api_version=live["apiVersion"],
        kind=live["kind"],
        namespace=meta.get("namespace") or "",
        name=meta["name"],
        uid=meta.get("uid") or "",
        owner=owner_of(live),
        labels=dict(meta.get("labels") or {}),
        environment=environment,
    )


def field_diff(desired: dict, live: dict | None) -> dict[str, list]:
    """`{".metadata.labels.x": [live value, desired value]}` for every field we set that the
    live object lacks or holds differently (what an apply would change)."""
    changes: dict[str, list] = {}

    def walk(want, have, path):
        if isinstance(want, dict) and want:
            for key, value in want.items():
                if path == () and key in ("apiVersion", "kind"):
                    continue
                if path == ("metadata",) and key in ("name", "namespace"):
                    continue
                walk(value, have.get(key) if isinstance(have, dict) else None, (*path, key))
        elif want != have and str(want) != str(have):
            changes["." + ".".join(path)] = [have, want]

    walk(desired, live or {}, ())
    return changes
