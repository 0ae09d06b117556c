"""Pure render functions of the guardrails: the shared ValidatingAdmissionPolicies, each tenant
namespace's bindings and parameters, and the Pod Security Admission labels of its namespace.

Rows in (plain dataclasses), manifest dicts out; no database, no cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from clusters.registry import (
    COST_CENTER_LABEL,
    ENVIRONMENT_LABEL,
    LABEL_PREFIX,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    TENANT_LABEL,
)

from .rules import (
    MATCH_CONDITIONS,
    PROD_IMAGES_POLICY,
    RULES,
    VARIABLES,
    WORKLOADS_POLICY,
    exemption_key,
    guarded_expression,
)

# The portal's own namespace on each cluster: it holds every tenant namespace's parameters, out
# of reach of the tenants (who administer their own namespaces, ConfigMaps included).
SYSTEM_NAMESPACE = "gpu-portal-system"
SHARED_LABELS = {MANAGED_BY_LABEL: MANAGED_BY, LABEL_PREFIX + "shared": "true"}
PROD = "prod"
# ValidatingAdmissionPolicy is GA (admissionregistration.k8s.io/v1) from Kubernetes 1.30.
MIN_VERSION = (1, 30)
PSA = "pod-security.kubernetes.io/"
RESTRICTED = "restricted"
AUDIT, ENFORCE = "audit", "enforce"
VALIDATION_ACTIONS = {AUDIT: ["Audit", "Warn"], ENFORCE: ["Deny"]}


@dataclass(frozen=True)
class ExemptionRow:
    rule: str
    workload: str
    expires_at: datetime


@dataclass(frozen=True)
class NamespaceRow:
    """One tenant environment as the guardrails see it."""

    tenant: str
    cost_center: str
    environment: str
    namespace: str
    cluster_id: int
    kubernetes_version: str
    mode: str  # audit / enforce
    pod_security_level: str  # restricted / baseline
    local_queue: str
    granted_resources: tuple[str, ...] = ()
    allowed_registries: tuple[str, ...] = ()
    exemptions: tuple[ExemptionRow, ...] = field(default=())


def parse_version(version: str) -> tuple[int, int]:
    try:
        major, minor = version.strip().lstrip("v").split(".")[:2]
        return int(major), int(minor)
    except (ValueError, AttributeError):
        return (0, 0)


def supports_policies(kubernetes_version: str) -> bool:
    return parse_version(kubernetes_version) >= MIN_VERSION


def registry_prefix(entry: str) -> str:
    """`registry.example.com/ml` -> `registry.example.com/ml/`: a prefix that cannot match
    `registry.example.com.evil.io/...` or `registry.example.com/ml-other/...`."""
    return entry.strip().rstrip("/") + "/"


# --- Pod Security Admission -------------------------------------------------------------------


def pod_security_labels(level: str, mode: str) -> dict[str, str]:
    """`audit` and `warn` are always `restricted`, so a team at `baseline` still sees what
    restricted would refuse; `enforce` is set only once the cluster enforces."""
    labels = {PSA + "audit": RESTRICTED, PSA + "warn": RESTRICTED}
    if mode == ENFORCE:
        labels[PSA + "enforce"] = level
    return labels


# --- policies (shared by every tenant on a cluster) ------------------------------------------

_OPERATIONS = ["CREATE", "UPDATE"]
_RESOURCE_RULES = [
    {
        "apiGroups": [""],
        "apiVersions": ["v1"],
        "operations": _OPERATIONS,
        "resources": ["pods", "pods/ephemeralcontainers"],
    },
    {
        "apiGroups": ["apps"],
        "apiVersions": ["v1"],
        "operations": _OPERATIONS,
        "resources": ["deployments", "replicasets", "statefulsets", "daemonsets"],
    },
    {
        "apiGroups": ["batch"],
        "apiVersions": ["v1"],
        "operations": _OPERATIONS,
        "resources": ["jobs", "cronjobs"],
    },
]


def render_policy(name: str) -> dict:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name, "labels": dict(SHARED_LABELS)},
        "spec": {
            "failurePolicy": "Fail",
            "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
            "matchConstraints": {"resourceRules": _RESOURCE_RULES},
            "matchConditions": [{"name": n, "expression": e} for n, e in MATCH_CONDITIONS],
            "variables": [{"name": n, "expression": e} for n, e in VARIABLES],
            "validations": [
                {
                    "expression": guarded_expression(rule),
                    "message": f"[{rule.id}] {rule.message}",
                    "messageExpression": f"'[{rule.id}] ' + {rule.message_expression}",
                    "reason": "Forbidden",
                }
                for rule in RULES
                if rule.policy == name
            ],
        },
    }


def render_system_namespace() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        # holds parameters only: no pod has any business running there
        "metadata": {
            "name": SYSTEM_NAMESPACE,
            "labels": SHARED_LABELS | {PSA + "enforce": RESTRICTED},
        },
    }


# --- per tenant namespace ---------------------------------------------------------------------


def _labels(row: NamespaceRow) -> dict[str, str]:
    return {
        MANAGED_BY_LABEL: MANAGED_BY,
        TENANT_LABEL: row.tenant,
        ENVIRONMENT_LABEL: row.environment,
        COST_CENTER_LABEL: row.cost_center,
    }


def binding_name(policy: str, namespace: str) -> str:
    return f"{policy}.{namespace}"


def render_binding(row: NamespaceRow, policy: str) -> dict:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": binding_name(policy, row.namespace), "labels": _labels(row)},
        "spec": {
            "policyName": policy,
            "paramRef": {
                "name": row.namespace,
                "namespace": SYSTEM_NAMESPACE,
                # a namespace whose parameters are missing admits nothing (fail closed)
                "parameterNotFoundAction": "Deny",
            },
            "validationActions": list(VALIDATION_ACTIONS[row.mode]),
            "matchResources": {
                "namespaceSelector": {
                    "matchLabels": {
                        MANAGED_BY_LABEL: MANAGED_BY,
                        TENANT_LABEL: row.tenant,
                        ENVIRONMENT_LABEL: row.environment,
                    }
                }
            },
        },
    }


def render_params(row: NamespaceRow) -> dict:
    grants = sorted(set(row.granted_resources))
    registries = sorted({registry_prefix(r) for r in row.allowed_registries if r.strip()})
    data = {
        "tenant": row.tenant,
        "environment": row.environment,
        "localQueue": row.local_queue,
        "grants": ", ".join(grants) or "none",
        "registries": ", ".join(registries) or "none configured",
    }
    data |= {f"grant.{i}": r for i, r in enumerate(grants)}
    data |= {f"registry.{i}": r for i, r in enumerate(registries)}
    for ex in sorted(row.exemptions, key=lambda e: (e.rule, e.workload)):
        data[exemption_key(ex.rule, ex.workload)] = ex.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": row.namespace, "namespace": SYSTEM_NAMESPACE, "labels": _labels(row)},
        "data": data,
    }


def render_namespace_guardrails(row: NamespaceRow) -> list[dict]:
    """The bindings and parameters of one tenant namespace (none before Kubernetes 1.30)."""
    if not supports_policies(row.kubernetes_version):
        return []
    objects = [render_binding(row, WORKLOADS_POLICY)]
    if row.environment == PROD:
        objects.append(render_binding(row, PROD_IMAGES_POLICY))
    objects.append(render_params(row))
    return objects


def render_cluster_guardrails() -> list[dict]:
    """What every tenant on a (1.30+) cluster shares: the portal namespace and the policies."""
    return [
        render_system_namespace(),
        render_policy(WORKLOADS_POLICY),
        render_policy(PROD_IMAGES_POLICY),
    ]
