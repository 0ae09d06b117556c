"""Writes of the cluster registry: clusters and their write-only credentials, capacity
overrides, forced syncs and the confirmation that deletes an archived tenant's namespaces.

The tenants app's archive lifecycle drives the cluster through this module only: it takes the
tenant's lock (`tenant_lock`, `SyncBusy` when a sync holds it), stops workloads
(`stop_tenant_workloads`) and reads what is left (`namespace_states`); cluster errors are
`BackendError`."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

from portal import roles
from portal.domain_errors import DomainError

from . import registry
from .backends import BackendError as BackendError
from .backends import backend_for
from .models import Cluster, ClusterCapacity, NamespaceDeletion, SyncRun
from .sync import SyncBusy as SyncBusy
from .sync import tenant_lock as tenant_lock

CREDENTIAL_FIELDS = (
    "api_token", "ca_cert", "kubeconfig", "gitops_credentials", "prometheus_token",
    "alertmanager_token",
)  # fmt: skip
CLUSTER_FIELDS = (
    "name", "display_name", "region", "kubernetes_version", "gpu_pool", "backend", "is_active",
    "api_server_url", "verify_tls", "gitops_repo_url", "gitops_branch", "prometheus_url",
    "alertmanager_url", "grafana_url",
)  # fmt: skip

ADMINS_MANAGE = "Only platform admins manage clusters."


def _check_backend(cluster: Cluster) -> None:
    if cluster.backend == Cluster.Backend.KUBERNETES and not (
        cluster.api_server_url or cluster.kubeconfig
    ):
        raise DomainError(
            "A kubernetes cluster needs an API server URL (with a token) or a kubeconfig.",
            field="api_server_url",
        )


def _save(cluster: Cluster) -> Cluster:
    try:
        cluster.full_clean()
    except DjangoValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(messages[0], field=field) from None
    _check_backend(cluster)
    cluster.save()
    return cluster


@transaction.atomic
def create_cluster(*, actor, **fields) -> Cluster:
    roles.require(actor, roles.PLATFORM_ADMIN, message=ADMINS_MANAGE)
    if Cluster.objects.filter(name=fields.get("name")).exists():
        raise DomainError(f"A cluster named {fields.get('name')} already exists.", field="name")
    data = {k: v for k, v in fields.items() if k in CLUSTER_FIELDS + CREDENTIAL_FIELDS}
    return _save(Cluster(**data))


@transaction.atomic
def update_cluster(*, actor, cluster: Cluster, **fields) -> Cluster:
    """Credentials are write-only: an empty or missing value keeps the stored one;
    `clear_<field>=True` removes it."""
    roles.require(actor, roles.PLATFORM_ADMIN, message=ADMINS_MANAGE)
    cluster = Cluster.objects.select_for_update().get(pk=cluster.pk)
    for name in CLUSTER_FIELDS:
        if name in fields and name != "name":
            setattr(cluster, name, fields[name])
    for name in CREDENTIAL_FIELDS:
        if fields.get(f"clear_{name}"):
            setattr(cluster, name, "")
        elif fields.get(name):
            setattr(cluster, name, fields[name])
    return _save(cluster)


@transaction.atomic
def delete_cluster(*, actor, cluster: Cluster) -> None:
    roles.require(actor, roles.PLATFORM_ADMIN, message=ADMINS_MANAGE)
    from django.db.models import ProtectedError

    try:
        cluster.delete()
    except ProtectedError:
        raise DomainError(
            f"Cluster {cluster.name} still hosts tenants or environments; move them first."
        ) from None


@transaction.atomic
def set_capacity_override(
    *, actor, cluster: Cluster, gpu_product: str, resource_name: str, override: int | None
) -> ClusterCapacity:
    """State capacity by hand (e.g. a GitOps cluster the portal cannot read); None clears it."""
    roles.require(actor, roles.PLATFORM_ADMIN, message=ADMINS_MANAGE)
    if override is not None and override < 0:
        raise DomainError("Capacity cannot be negative.", field="override")
    cap, _ = ClusterCapacity.objects.select_for_update().get_or_create(
        cluster=cluster, gpu_product=gpu_product, resource_name=resource_name
    )
    cap.override = override
    cap.save(update_fields=["override"])
    return cap


def force_sync(*, actor, tenant_id: int) -> None:
    """Re-apply a tenant's objects now, even if nothing changed (enqueued after commit)."""
    roles.require(actor, roles.PLATFORM_ADMIN, message=ADMINS_MANAGE)
    from .tasks import sync_tenant

    transaction.on_commit(
        lambda: sync_tenant.delay(tenant_id, trigger=SyncRun.Trigger.FORCE, actor=actor.username)
    )


def resolve_conflicts(*, actor, tenant_id: int) -> None:
    """Take back the fields other managers changed on this tenant's own objects (a forced
    apply; objects the portal did not create are never forced: they need an adoption)."""
    roles.require(actor, roles.PLATFORM_ADMIN, message=ADMINS_MANAGE)
    from .tasks import sync_tenant

    transaction.on_commit(
        lambda: sync_tenant.delay(
            tenant_id, trigger=SyncRun.Trigger.FORCE, actor=actor.username, force_conflicts=True
        )
    )


@transaction.atomic
def confirm_namespace_deletion(*, actor, tenant_id: int) -> NamespaceDeletion:
    """An admin's explicit go-ahead to delete an archived tenant's namespaces."""
    roles.require(actor, roles.PLATFORM_ADMIN, message=ADMINS_MANAGE)
    target = registry.tenant_directory().sync_target(tenant_id)
    if target is None:
        raise DomainError("No such tenant.")
    if not target.archived:
        raise DomainError(
            f"Tenant {target.slug} is not archived; archive it before deleting its namespaces."
        )
    deletion, _ = NamespaceDeletion.objects.get_or_create(
        tenant_id=tenant_id, defaults={"tenant_slug": target.slug, "confirmed_by": actor}
    )
    from .tasks import sync_tenant

    transaction.on_commit(
        lambda: sync_tenant.delay(tenant_id, trigger=SyncRun.Trigger.DELETE, actor=actor.username)
    )
    return deletion


def stop_tenant_workloads(*, tenant_id: int, tenant_slug: str, cluster_ids) -> None:
    """Stop an archived tenant's workloads on its clusters without deleting anything (scaled to
    zero, Jobs and CronJobs suspended). GitOps clusters have no live objects to stop."""
    for cluster in Cluster.objects.filter(pk__in=list(cluster_ids)).order_by("pk"):
        backend = backend_for(cluster)
        if hasattr(backend, "quiesce"):
            backend.quiesce(tenant_id=tenant_id, tenant_slug=tenant_slug)


def namespace_states(*, cluster_id: int, names: list[str]) -> dict[str, str]:
    """Per namespace on one cluster: "gone", "Active" or "Terminating: <what holds it>".
    GitOps clusters: the files left the repository with the deletion commit, so "gone"."""
    backend = backend_for(Cluster.objects.get(pk=cluster_id))
    if hasattr(backend, "namespace_states"):
        return backend.namespace_states(names)
    return dict.fromkeys(names, "gone")
