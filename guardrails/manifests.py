"""The guardrails' objects for the sync engine (clusters/registry.py) and the Pod Security
labels of tenant namespaces (tenants/manifests.py). Registration lives only here, at the bottom.
"""

from __future__ import annotations

from clusters.registry import DesiredObject, tenant_manifests
from tenants import manifests as tenant_render
from tenants.models import Environment, Tenant

from . import selectors
from .policies import (
    NamespaceRow,
    pod_security_labels,
    render_cluster_guardrails,
    render_namespace_guardrails,
    supports_policies,
)


def render_tenant_guardrails(rows: list[NamespaceRow]) -> list[DesiredObject]:
    """Per cluster the shared policies (once), per namespace its bindings and parameters."""
    objects: list[DesiredObject] = []
    clusters_done: set[int] = set()
    for row in rows:
        if not supports_policies(row.kubernetes_version):
            continue
        if row.cluster_id not in clusters_done:
            clusters_done.add(row.cluster_id)
            objects.extend(DesiredObject(row.cluster_id, m) for m in render_cluster_guardrails())
        objects.extend(DesiredObject(row.cluster_id, m) for m in render_namespace_guardrails(row))
    return objects


def guardrail_objects(tenant_id: int) -> list[DesiredObject]:
    return render_tenant_guardrails(selectors.namespace_rows(tenant_id))


def namespace_pod_security(tenant: Tenant, envs: list[Environment]) -> dict[int, dict[str, str]]:
    levels = selectors.pod_security_levels(tenant, envs)
    modes = {env.cluster_id: selectors.cluster_mode(env.cluster) for env in envs}
    return {env.pk: pod_security_labels(levels[env.pk], modes[env.cluster_id]) for env in envs}


# --- registration (the one place to adapt when the registry's provider API changes) -----------

tenant_manifests(guardrail_objects)
if namespace_pod_security not in tenant_render.namespace_labelers:
    tenant_render.namespace_labelers.append(namespace_pod_security)
