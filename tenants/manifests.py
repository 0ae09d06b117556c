"""Kubernetes objects of a tenant (namespaces, quota, access, network policy, Kueue queues) as
pure render functions. What else the sync engine asks of tenants is in sync_hooks.py.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from clusters.registry import (
    COST_CENTER_LABEL,
    ENVIRONMENT_LABEL,
    LABEL_PREFIX,
    LOCAL_QUEUE_NAME,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    TENANT_LABEL,
    DesiredObject,
    tenant_manifests,
)

from .models import Environment, QuotaGrant, Tenant, Tier

MONITORING_NAMESPACE = "monitoring"
GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
DEFAULT_FLAVOR = "gpu-portal-default"
SHARED_LABEL = LABEL_PREFIX + "shared"
# Objects other tenants also need (the GPU catalog's flavors) carry this label instead of a
# tenant label, so no tenant's prune ever deletes them.
SHARED_LABELS = {MANAGED_BY_LABEL: MANAGED_BY, SHARED_LABEL: "true"}

# CPU, memory and pod limits per tenant tier, for each namespace.
TIER_LIMITS = {
    Tier.SMALL: {"cpu": "16", "memory": "64Gi", "pods": "50"},
    Tier.MEDIUM: {"cpu": "64", "memory": "256Gi", "pods": "200"},
    Tier.LARGE: {"cpu": "256", "memory": "1Ti", "pods": "1000"},
}
CONTAINER_DEFAULTS = {
    "default": {"cpu": "1", "memory": "2Gi"},
    "defaultRequest": {"cpu": "250m", "memory": "512Mi"},
}
ROLE_BINDINGS = (("owners", "admin"), ("members", "edit"), ("viewers", "view"))


@dataclass(frozen=True)
class GrantRow:
    profile: str
    gpu_product: str
    resource_name: str
    guaranteed: int
    burst: int


@dataclass(frozen=True)
class EnvironmentRow:
    name: str
    namespace: str
    cluster_id: int
    gpu_pool: str
    grants: tuple[GrantRow, ...] = field(default=())


@dataclass(frozen=True)
class TenantRow:
    slug: str
    cost_center: str
    tier: str


# --- pure render functions -------------------------------------------------------------------


def tenant_labels(tenant: TenantRow, env: EnvironmentRow) -> dict[str, str]:
    return {
        MANAGED_BY_LABEL: MANAGED_BY,
        TENANT_LABEL: tenant.slug,
        ENVIRONMENT_LABEL: env.name,
        COST_CENTER_LABEL: tenant.cost_center,
    }


def _meta(name: str, labels: dict, namespace: str | None = None) -> dict:
    meta = {"name": name, "labels": dict(labels)}
    if namespace:
        meta["namespace"] = namespace
    return meta


def cluster_queue_name(env: EnvironmentRow) -> str:
    return env.namespace


def render_namespace(tenant: TenantRow, env: EnvironmentRow) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": _meta(env.namespace, tenant_labels(tenant, env)),
    }


def gpu_limits(env: EnvironmentRow) -> dict[str, int]:
    """Guaranteed + burst per Kubernetes resource name (profiles may share one, e.g. gpu)."""
    totals: dict[str, int] = defaultdict(int)
    for grant in env.grants:
        totals[grant.resource_name] += grant.guaranteed + grant.burst
    return dict(sorted(totals.items()))


def render_resource_quota(tenant: TenantRow, env: EnvironmentRow) -> dict:
    tier = TIER_LIMITS[Tier(tenant.tier)]
    hard = {
        "requests.cpu": tier["cpu"],
        "limits.cpu": tier["cpu"],
        "requests.memory": tier["memory"],
        "limits.memory": tier["memory"],
        "pods": tier["pods"],
    }
    for resource, limit in gpu_limits(env).items():
        hard[f"requests.{resource}"] = str(limit)
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": _meta("gpu-portal-quota", tenant_labels(tenant, env), env.namespace),
        "spec": {"hard": hard},
    }


def render_limit_range(tenant: TenantRow, env: EnvironmentRow) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": _meta("gpu-portal-defaults", tenant_labels(tenant, env), env.namespace),
        "spec": {"limits": [{"type": "Container", **CONTAINER_DEFAULTS}]},
    }


def render_role_bindings(tenant: TenantRow, env: EnvironmentRow) -> list[dict]:
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": _meta(f"gpu-portal-{group}", tenant_labels(tenant, env), env.namespace),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": cluster_role,
            },
            "subjects": [
                {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Group",
                    "name": f"{tenant.slug}-{group}",
                }
            ],
        }
        for group, cluster_role in ROLE_BINDINGS
    ]


def render_network_policy(tenant: TenantRow, env: EnvironmentRow) -> dict:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta("gpu-portal-default-deny", tenant_labels(tenant, env), env.namespace),
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [{"podSelector": {}}]},
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}
                            }
                        }
                    ]
                },
            ],
        },
    }


def render_resource_flavor(grant: GrantRow) -> dict:
    return {
        "apiVersion": "kueue.x-k8s.io/v1beta2",
        "kind": "ResourceFlavor",
        "metadata": _meta(grant.profile, SHARED_LABELS),
        "spec": {
            "nodeLabels": {GPU_PRODUCT_LABEL: grant.gpu_product},
            "tolerations": [{"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}],
        },
    }


def render_default_flavor() -> dict:
    return {
        "apiVersion": "kueue.x-k8s.io/v1beta2",
        "kind": "ResourceFlavor",
        "metadata": _meta(DEFAULT_FLAVOR, SHARED_LABELS),
        "spec": {},
    }


def render_cluster_queue(tenant: TenantRow, env: EnvironmentRow) -> dict:
    tier = TIER_LIMITS[Tier(tenant.tier)]
    groups = [
        {
            "coveredResources": ["cpu", "memory", "pods"],
            "flavors": [
                {
                    "name": DEFAULT_FLAVOR,
                    "resources": [
                        {"name": name, "nominalQuota": tier[name]}
                        for name in ("cpu", "memory", "pods")
                    ],
                }
            ],
        }
    ]
    # Kueue wants each resource in exactly one group: one group per GPU resource name, with a
    # flavor per profile (e.g. two GPU models both exposing nvidia.com/gpu).
    by_resource: dict[str, list[GrantRow]] = defaultdict(list)
    for grant in sorted(env.grants, key=lambda g: (g.resource_name, g.profile)):
        by_resource[grant.resource_name].append(grant)
    for resource, grants in by_resource.items():
        groups.append(
            {
                "coveredResources": [resource],
                "flavors": [
                    {
                        "name": g.profile,
                        "resources": [
                            {
                                "name": resource,
                                "nominalQuota": g.guaranteed,
                                "borrowingLimit": g.burst,
                            }
                        ],
                    }
                    for g in grants
                ],
            }
        )
    return {
        "apiVersion": "kueue.x-k8s.io/v1beta2",
        "kind": "ClusterQueue",
        "metadata": _meta(cluster_queue_name(env), tenant_labels(tenant, env)),
        "spec": {
            "cohortName": env.gpu_pool,
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": env.namespace}},
            "resourceGroups": groups,
        },
    }


def render_local_queue(tenant: TenantRow, env: EnvironmentRow) -> dict:
    return {
        "apiVersion": "kueue.x-k8s.io/v1beta2",
        "kind": "LocalQueue",
        "metadata": _meta(LOCAL_QUEUE_NAME, tenant_labels(tenant, env), env.namespace),
        "spec": {"clusterQueue": cluster_queue_name(env)},
    }


def render_environment(tenant: TenantRow, env: EnvironmentRow) -> list[dict]:
    """Every object of one tenant environment, namespace first."""
    return [
        render_namespace(tenant, env),
        render_resource_quota(tenant, env),
        render_limit_range(tenant, env),
        *render_role_bindings(tenant, env),
        render_network_policy(tenant, env),
        render_default_flavor(),
        *[render_resource_flavor(g) for g in sorted(env.grants, key=lambda g: g.profile)],
        render_cluster_queue(tenant, env),
        render_local_queue(tenant, env),
    ]


def render_tenant(tenant: TenantRow, envs: list[EnvironmentRow]) -> list[DesiredObject]:
    objects: list[DesiredObject] = []
    seen: set = set()
    for env in envs:
        for manifest in render_environment(tenant, env):
            obj = DesiredObject(env.cluster_id, manifest)
            if obj.key not in seen:  # shared flavors appear once per cluster
                seen.add(obj.key)
                objects.append(obj)
    return objects


# --- rows in ---------------------------------------------------------------------------------


def _rows(tenant: Tenant) -> list[EnvironmentRow]:
    grants: dict[int, list[GrantRow]] = defaultdict(list)
    for g in QuotaGrant.objects.filter(tenant=tenant, revoked_at__isnull=True).select_related(
        "profile"
    ):
        grants[g.environment_id].append(
            GrantRow(
                profile=g.profile.name,
                gpu_product=g.profile.gpu_product,
                resource_name=g.profile.resource_name,
                guaranteed=g.guaranteed,
                burst=g.burst,
            )
        )
    return [
        EnvironmentRow(
            name=env.name,
            namespace=env.namespace,
            cluster_id=env.cluster_id,
            gpu_pool=env.cluster.gpu_pool,
            grants=tuple(grants[env.pk]),
        )
        for env in Environment.objects.filter(tenant=tenant).select_related("cluster")
    ]


@tenant_manifests
def tenant_objects(tenant_id: int) -> list[DesiredObject]:
    """Only active tenants have objects; archived ones are removed after confirmation."""
    tenant = Tenant.objects.filter(pk=tenant_id, status=Tenant.Status.ACTIVE).first()
    if tenant is None:
        return []
    row = TenantRow(slug=tenant.slug, cost_center=tenant.cost_center, tier=tenant.tier)
    return render_tenant(row, _rows(tenant))
