"""What the portal's credentials must be allowed to do on a cluster: one list, from which both
the permission preflight (SelfSubjectAccessReview per verb) and the minimal ClusterRole in
docs/cluster-role.yaml are made, so the two cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

WRITE = ("get", "list", "create", "patch", "update", "delete")


@dataclass(frozen=True)
class Need:
    group: str
    resource: str
    verbs: tuple[str, ...]
    why: str
    resource_names: tuple[str, ...] = ()


NEEDS: list[Need] = [
    Need("", "namespaces", WRITE, "one namespace per tenant environment"),
    Need("", "resourcequotas", WRITE, "the GPU quota of each environment"),
    Need("", "limitranges", WRITE, "default requests in each environment"),
    Need("", "services", WRITE, "inference workloads"),
    Need("", "persistentvolumeclaims", WRITE, "training checkpoints"),
    Need("", "configmaps", WRITE, "admission guardrail parameters per namespace"),
    Need("", "nodes", ("get", "list"), "GPU capacity from node allocatable"),
    Need("rbac.authorization.k8s.io", "rolebindings", WRITE, "tenant groups to admin/edit/view"),
    # a RoleBinding to a ClusterRole needs `bind` on it (or holding all of its rights)
    Need(
        "rbac.authorization.k8s.io",
        "clusterroles",
        ("bind", "escalate"),
        "bind tenant groups to the built-in roles",
        ("admin", "edit", "view"),
    ),
    Need("networking.k8s.io", "networkpolicies", WRITE, "default-deny per environment"),
    Need("apps", "deployments", WRITE, "inference workloads"),
    Need("batch", "jobs", WRITE, "training jobs"),
    Need("batch", "cronjobs", WRITE, "batch pipelines"),
    Need("autoscaling", "horizontalpodautoscalers", WRITE, "inference autoscaling"),
    Need("keda.sh", "scaledobjects", WRITE, "queue-depth autoscaling"),
    Need("kueue.x-k8s.io", "clusterqueues", WRITE, "guaranteed and burst GPU quota"),
    Need("kueue.x-k8s.io", "localqueues", WRITE, "the queue of each environment"),
    Need("kueue.x-k8s.io", "resourceflavors", WRITE, "one flavor per GPU product"),
    Need("monitoring.coreos.com", "prometheusrules", WRITE, "alert rules from SLOs"),
    Need(
        "admissionregistration.k8s.io",
        "validatingadmissionpolicies",
        WRITE,
        "admission guardrails (Kubernetes 1.30+)",
    ),
    Need(
        "admissionregistration.k8s.io",
        "validatingadmissionpolicybindings",
        WRITE,
        "admission guardrails per tenant namespace",
    ),
    Need("authorization.k8s.io", "selfsubjectaccessreviews", ("create",), "this preflight"),
    Need("authorization.k8s.io", "selfsubjectrulesreviews", ("create",), "this preflight"),
]

CLUSTER_ROLE_NAME = "gpu-portal"


def checks() -> list[tuple[Need, str, str]]:
    """Every (need, verb, resource name) the preflight asks about."""
    return [
        (need, verb, name)
        for need in NEEDS
        for verb in need.verbs
        for name in (need.resource_names or ("",))
    ]


def cluster_role() -> dict:
    """The minimal ClusterRole of the portal's service account, from NEEDS."""
    rules = []
    for need in NEEDS:
        rule = {"apiGroups": [need.group], "resources": [need.resource], "verbs": list(need.verbs)}
        if need.resource_names:
            rule["resourceNames"] = list(need.resource_names)
        rules.append(rule)
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": CLUSTER_ROLE_NAME,
            "labels": {"app.kubernetes.io/name": "gpu-portal"},
        },
        "rules": rules,
    }


def cluster_role_yaml() -> str:
    header = (
        "# The minimal ClusterRole the portal's credentials need on a cluster it manages.\n"
        "# Generated from clusters/permissions.py (NEEDS); a test checks this file is current:\n"
        "#   python manage.py shell -c 'from clusters.permissions import cluster_role_yaml; "
        'print(cluster_role_yaml(), end="")\' > docs/cluster-role.yaml\n'
    )
    return header + yaml.safe_dump(cluster_role(), sort_keys=False)


def covers(rules: list[dict], need: Need, verb: str, name: str = "") -> bool:
    """Whether RBAC PolicyRules grant one (group, resource, verb[, name])."""
    for rule in rules:
        groups, resources = rule.get("apiGroups") or [], rule.get("resources") or []
        verbs, names = rule.get("verbs") or [], rule.get("resourceNames") or []
        if (
            (need.group in groups or "*" in groups)
            and (need.resource in resources or "*" in resources)
            and (verb in verbs or "*" in verbs)
            and (not names or (name and name in names))
        ):
            return True
    return False
