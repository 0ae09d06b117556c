"""Adoption of a live object the portal did not create: a preview of what the portal would
change (the object's own fields and the objects it would add beside it), then a platform
admin's explicit, audited confirmation bound to the object's uid."""

from __future__ import annotations

from dataclasses import dataclass, field

import pghistory
from django.db import transaction

from portal import roles
from portal.domain_errors import DomainError

from . import ownership, registry
from .backends import BackendError, object_key
from .models import Cluster, ObjectAdoption, SyncRun
from .services import ADMINS_MANAGE


@dataclass
class AdoptionPreview:
    tenant_id: int
    tenant_slug: str
    cluster: Cluster
    key: tuple[str, str, str, str]
    uid: str
    live_labels: dict
    changes: dict[str, list]  # field -> [live, desired]
    # what the sync would create beside it once adopted: (kind, namespace, name)
    would_create: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.key[1]

    @property
    def namespace(self) -> str:
        return self.key[2]

    @property
    def name(self) -> str:
        return self.key[3]


def _desired(tenant_id: int, cluster: Cluster) -> list[dict]:
    manifests = [
        o.manifest for o in registry.desired_objects(tenant_id) if o.cluster_id == cluster.pk
    ]
    return ownership.stamp(manifests, tenant_id)


def adoption_preview(
    *, actor, tenant_id: int, cluster: Cluster, api_version: str, kind: str, namespace: str,
    name: str,
) -> AdoptionPreview:  # fmt: skip
    """Read the live object and diff it with what the portal would apply."""
    roles.require(actor, roles.PLATFORM_ADMIN, message=ADMINS_MANAGE)
    if cluster.backend != Cluster.Backend.KUBERNETES:
        raise DomainError("Only objects on a kubernetes cluster can be adopted.")
    target = registry.tenant_directory().sync_target(tenant_id)
    if target is None:
        raise DomainError("No such tenant.")
    key = (api_version, kind, namespace, name)
    desired = _desired(tenant_id, cluster)
    manifest = next((m for m in desired if tuple(object_key(m)) == key), None)
    if manifest is None:
        raise DomainError(
            f"Tenant {target.slug} does not render {kind} {name} on {cluster.name}: "
            "there is nothing to adopt."
        )
    from .kube import KubeBackend

    try:
        live = KubeBackend(cluster).read_object(api_version, kind, name, namespace)
    except BackendError as exc:
        raise DomainError(f"Could not read {kind} {name}: {exc.message}") from None
    if live is None:
        raise DomainError(f"{kind} {name} no longer exists; the next sync creates it.")
    if ownership.is_ours(live, tenant_id=tenant_id, tenant_slug=target.slug, applied_before=False):
        raise DomainError(f"{kind} {name} is already this tenant's; nothing to adopt.")
    env = (manifest["metadata"].get("labels") or {}).get(registry.ENVIRONMENT_LABEL, "")
    beside = [
        (m["kind"], m["metadata"].get("namespace", ""), m["metadata"]["name"])
        for m in desired
        if tuple(object_key(m)) != key
        and env
        and (m["metadata"].get("labels") or {}).get(registry.ENVIRONMENT_LABEL) == env
    ]
    meta = live.get("metadata") or {}
    return AdoptionPreview(
        tenant_id=tenant_id,
        tenant_slug=target.slug,
        cluster=cluster,
        key=key,
        uid=meta.get("uid", ""),
        live_labels=dict(meta.get("labels") or {}),
        changes=ownership.field_diff(manifest, live),
        would_create=beside,
    )


def adopt_object(
    *, actor, tenant_id: int, cluster: Cluster, api_version: str, kind: str, namespace: str,
    name: str, uid: str, confirmed: bool,
) -> ObjectAdoption:  # fmt: skip
    """Record the admin's confirmed adoption of the object previewed (same uid), then sync:
    the next apply takes the object over (forced) and stamps our ownership annotation."""
    if not confirmed:
        raise DomainError("Tick the confirmation after reviewing the changes.", field="confirm")
    preview = adoption_preview(
        actor=actor, tenant_id=tenant_id, cluster=cluster, api_version=api_version, kind=kind,
        namespace=namespace, name=name,
    )  # fmt: skip
    if preview.uid != uid:
        raise DomainError(
            f"{kind} {name} was replaced since the preview (uid changed); review it again."
        )
    with transaction.atomic(), pghistory.context(user=actor.pk, action="adopt_object"):
        adoption, _ = ObjectAdoption.objects.get_or_create(
            tenant_id=tenant_id,
            cluster=cluster,
            api_version=api_version,
            kind=kind,
            namespace=namespace,
            name=name,
            uid=uid,
            defaults={
                "tenant_slug": preview.tenant_slug,
                "diff": {k: [_plain(v[0]), _plain(v[1])] for k, v in preview.changes.items()},
                "confirmed_by": actor,
            },
        )
        from .tasks import sync_tenant

        transaction.on_commit(
            lambda: sync_tenant.delay(
                tenant_id, trigger=SyncRun.Trigger.FORCE, actor=actor.username
            )
        )
    return adoption


def _plain(value):
    return (
        value
        if isinstance(value, str | int | float | bool | list | dict) or value is None
        else str(value)
    )
