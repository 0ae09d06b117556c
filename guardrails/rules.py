"""The guardrail rules: their ids, what each requires and the CEL each policy evaluates.

Two ValidatingAdmissionPolicies, the same on every cluster: `gpu-portal-workloads` (every tenant
namespace) and `gpu-portal-prod-images` (prod namespaces). Both read their parameters from a
per-namespace ConfigMap the portal renders in its own namespace (tenants cannot edit it):

    tenant, environment, localQueue          the namespace's tenant, environment and LocalQueue
    grants, registries                       human-readable lists, for messages
    grant.<i>: <resource name>               GPU resources granted in this environment
    registry.<i>: <prefix ending in />       registries prod images may come from
    exempt.<rule>.<workload>: <end, ISO>     an exemption a platform admin granted

Only standard CEL is used (has, all, exists, filter, map, startsWith, matches, size, in), so the
expressions mean the same in the API server's cel-go and in the cel-python the tests run.
"""

from __future__ import annotations

from dataclasses import dataclass

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
WORKLOAD_LABEL = "gpu-portal.io/workload"
# Extended resources that are GPUs (the NVIDIA device plugin's gpu, gpu.shared and mig-*, and
# the other vendors' plugins): a pod requesting any of them is a GPU pod.
GPU_RESOURCE_PREFIXES = ("nvidia.com/", "amd.com/", "gpu.intel.com/")
# The only capability Pod Security `restricted` lets a container add.
ALLOWED_ADDED_CAPABILITIES = ("NET_BIND_SERVICE",)

WORKLOADS_POLICY = "gpu-portal-workloads"
PROD_IMAGES_POLICY = "gpu-portal-prod-images"


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    policy: str
    expression: str  # true = allowed (before the exemption check)
    message: str  # static fallback, used when the messageExpression fails
    message_expression: str
    # an exemption names a workload by its label: a rule requiring that label cannot be waived
    exemptable: bool = True


def _is_gpu(var: str) -> str:
    return "(" + " || ".join(f"{var}.startsWith('{p}')" for p in GPU_RESOURCE_PREFIXES) + ")"


# --- variables (evaluated in order; each may use the ones before) -----------------------------

# The kind comes from `request.kind`, which the API server always sets (a typed object's own
# apiVersion/kind may be empty by the time admission sees it).
VARIABLES: list[tuple[str, str]] = [
    (
        "podSpec",
        "request.kind.kind == 'Pod' ? object.spec"
        " : request.kind.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec"
        " : object.spec.template.spec",
    ),
    (
        "podMeta",
        "request.kind.kind == 'Pod' ? object.metadata"
        " : request.kind.kind == 'CronJob'"
        " ? (has(object.spec.jobTemplate.spec.template.metadata)"
        " ? object.spec.jobTemplate.spec.template.metadata : {})"
        " : (has(object.spec.template.metadata) ? object.spec.template.metadata : {})",
    ),
    ("podLabels", "has(variables.podMeta.labels) ? variables.podMeta.labels : {}"),
    (
        "containers",
        "variables.podSpec.containers"
        " + (has(variables.podSpec.initContainers) ? variables.podSpec.initContainers : [])"
        " + (has(variables.podSpec.ephemeralContainers)"
        " ? variables.podSpec.ephemeralContainers : [])",
    ),
    (
        "gpuContainers",
        "variables.containers.filter(c, has(c.resources)"
        f" && ((has(c.resources.limits) && c.resources.limits.exists(r, {_is_gpu('r')}))"
        f" || (has(c.resources.requests) && c.resources.requests.exists(r, {_is_gpu('r')}))))",
    ),
    ("requestsGpu", "size(variables.gpuContainers) > 0"),
    (
        "workload",
        f"'{WORKLOAD_LABEL}' in variables.podLabels ? variables.podLabels['{WORKLOAD_LABEL}'] : ''",
    ),
    # An exemption names a workload: it covers objects carrying that workload label AND named
    # after it (<workload> or <workload>-...), the names every template renders and every
    # controller derives (ReplicaSets, Jobs of a CronJob, pods).
    (
        "exemptable",
        "variables.workload != '' && (object.metadata.name == variables.workload"
        " || object.metadata.name.startsWith(variables.workload + '-')"
        " || (has(object.metadata.generateName)"
        " && object.metadata.generateName.startsWith(variables.workload + '-')))",
    ),
]

# Where the messages say who and where.
_WHERE = "' (tenant ' + params.data.tenant + ', ' + params.data.environment + ')'"


def _first(list_expr: str) -> str:
    return f"{list_expr}[0].name"


_BAD_GRANT = (
    "variables.gpuContainers.filter(c, (has(c.resources.limits)"
    f" ? c.resources.limits : {{}}).exists(r, {_is_gpu('r')}"
    " && !params.data.exists(k, k.startsWith('grant.') && params.data[k] == r))"
    " || (has(c.resources.requests) ? c.resources.requests : {})"
    f".exists(r, {_is_gpu('r')}"
    " && !params.data.exists(k, k.startsWith('grant.') && params.data[k] == r)))"
)
_BAD_EQUAL = (
    "variables.gpuContainers.filter(c, !(has(c.resources.limits) && has(c.resources.requests)"
    f" && c.resources.limits.all(r, !{_is_gpu('r')}"
    " || (r in c.resources.requests && c.resources.requests[r] == c.resources.limits[r]))"
    f" && c.resources.requests.all(r, !{_is_gpu('r')} || r in c.resources.limits)))"
)
_HOST_PORTS = "variables.containers.exists(c, has(c.ports) && c.ports.exists(p, has(p.hostPort)))"
_HOST_PATHS = (
    "(has(variables.podSpec.volumes) ? variables.podSpec.volumes : []).filter(v, has(v.hostPath))"
)
_PRIVILEGED = (
    "variables.containers.filter(c, has(c.securityContext)"
    " && has(c.securityContext.privileged) && c.securityContext.privileged)"
)
_ALLOWED_CAPS = "[" + ", ".join(f"'{c}'" for c in ALLOWED_ADDED_CAPABILITIES) + "]"
_ADDED_CAPS = (
    "variables.containers.filter(c, has(c.securityContext)"
    " && has(c.securityContext.capabilities) && has(c.securityContext.capabilities.add)"
    f" && c.securityContext.capabilities.add.exists(cap, !(cap in {_ALLOWED_CAPS})))"
)
_UNPINNED = (
    "variables.containers.filter(c, !has(c.image) || !c.image.matches('@sha256:[a-f0-9]{64}$'))"
)
_FOREIGN = (
    "variables.containers.filter(c, !has(c.image) || !params.data.exists(k,"
    " k.startsWith('registry.') && c.image.startsWith(params.data[k])))"
)

RULES: tuple[Rule, ...] = (
    Rule(
        id="gpu-queue",
        title="GPU pods go through the tenant's Kueue LocalQueue",
        policy=WORKLOADS_POLICY,
        expression=(
            f"!variables.requestsGpu || ('{QUEUE_LABEL}' in variables.podLabels"
            f" && variables.podLabels['{QUEUE_LABEL}'] == params.data.localQueue)"
        ),
        message=(
            f"GPU pods must carry the label {QUEUE_LABEL} naming the namespace's LocalQueue: "
            "add it to the pod template's labels."
        ),
        message_expression=(
            "'GPU pods must be admitted through Kueue: add the label "
            f"{QUEUE_LABEL}: ' + params.data.localQueue + ' to the pod template labels"
            f" of ' + object.metadata.name + {_WHERE} + '.'"
        ),
    ),
    Rule(
        id="gpu-grant",
        title="GPU pods request only GPU resources granted in the environment",
        policy=WORKLOADS_POLICY,
        expression=f"size({_BAD_GRANT}) == 0",
        message=(
            "A container requests a GPU resource the tenant has no quota grant for in this "
            "environment: use a granted GPU profile or request quota for it in the portal."
        ),
        message_expression=(
            f"'container ' + {_first(_BAD_GRANT)} + ' requests a GPU resource with no quota"
            " grant in ' + namespaceObject.metadata.name + ' (granted: ' + params.data.grants"
            " + '): use a granted GPU profile or request quota for it in the portal.'"
        ),
    ),
    Rule(
        id="gpu-requests-limits",
        title="GPU requests equal GPU limits",
        policy=WORKLOADS_POLICY,
        expression=f"size({_BAD_EQUAL}) == 0",
        message=(
            "Set resources.requests equal to resources.limits for every GPU resource of "
            "every container."
        ),
        message_expression=(
            f"'container ' + {_first(_BAD_EQUAL)} + ': set resources.requests equal to"
            " resources.limits for its GPU resource (both, same quantity).'"
        ),
    ),
    Rule(
        id="workload-label",
        title="GPU pods carry the workload label (cost attribution)",
        policy=WORKLOADS_POLICY,
        expression=(
            f"!variables.requestsGpu || ('{WORKLOAD_LABEL}' in variables.podLabels"
            f" && variables.podLabels['{WORKLOAD_LABEL}'] != '')"
        ),
        message=(
            f"GPU pods must carry the label {WORKLOAD_LABEL} (the workload's name) so their "
            "GPU hours are attributed: add it to the pod template's labels."
        ),
        message_expression=(
            f"'GPU pods must carry the label {WORKLOAD_LABEL}: <workload name> so their GPU"
            " hours are attributed: add it to the pod template labels of '"
            " + object.metadata.name + '.'"
        ),
        exemptable=False,
    ),
    Rule(
        id="host-namespaces",
        title="No hostNetwork, hostPID, hostIPC or hostPort",
        policy=WORKLOADS_POLICY,
        expression=(
            "!(has(variables.podSpec.hostNetwork) && variables.podSpec.hostNetwork)"
            " && !(has(variables.podSpec.hostPID) && variables.podSpec.hostPID)"
            " && !(has(variables.podSpec.hostIPC) && variables.podSpec.hostIPC)"
            f" && !{_HOST_PORTS}"
        ),
        message=(
            "Remove hostNetwork, hostPID, hostIPC and hostPort from the pod: tenant pods may "
            "not share the node's namespaces. Expose ports through a Service."
        ),
        message_expression=(
            "'Remove hostNetwork, hostPID, hostIPC and hostPort from ' + object.metadata.name"
            " + ': tenant pods may not share the namespaces of the node; expose ports through a"
            " Service.'"
        ),
    ),
    Rule(
        id="host-path",
        title="No hostPath volumes",
        policy=WORKLOADS_POLICY,
        expression=f"size({_HOST_PATHS}) == 0",
        message=(
            "Replace hostPath volumes with a PersistentVolumeClaim or an emptyDir: tenant pods "
            "may not mount the node's filesystem."
        ),
        message_expression=(
            f"'volume ' + {_first(_HOST_PATHS)} + ' is a hostPath: use a PersistentVolumeClaim"
            " or an emptyDir; tenant pods may not mount the filesystem of the node.'"
        ),
    ),
    Rule(
        id="privileged",
        title="No privileged containers",
        policy=WORKLOADS_POLICY,
        expression=f"size({_PRIVILEGED}) == 0",
        message="Remove securityContext.privileged: true; tenant containers are never privileged.",
        message_expression=(
            f"'container ' + {_first(_PRIVILEGED)} + ': remove securityContext.privileged;"
            " tenant containers are never privileged.'"
        ),
    ),
    Rule(
        id="capabilities",
        title="No added capabilities beyond NET_BIND_SERVICE",
        policy=WORKLOADS_POLICY,
        expression=f"size({_ADDED_CAPS}) == 0",
        message=(
            "Remove securityContext.capabilities.add (only NET_BIND_SERVICE may be added) and "
            "drop ALL."
        ),
        message_expression=(
            f"'container ' + {_first(_ADDED_CAPS)} + ': remove the added capabilities from"
            " securityContext.capabilities.add (only NET_BIND_SERVICE may be added) and drop"
            " ALL.'"
        ),
    ),
    Rule(
        id="image-digest",
        title="Prod images are pinned by digest",
        policy=PROD_IMAGES_POLICY,
        expression=f"size({_UNPINNED}) == 0",
        message=(
            "In prod every image is pinned by digest: use image@sha256:<digest> (promote a "
            "revision with an image digest)."
        ),
        message_expression=(
            f"'container ' + {_first(_UNPINNED)} + ': in prod every image is pinned by digest;"
            " use <image>@sha256:<digest> (promote a revision with an image digest).'"
        ),
    ),
    Rule(
        id="image-registry",
        title="Prod images come from an allowed registry",
        policy=PROD_IMAGES_POLICY,
        expression=f"size({_FOREIGN}) == 0",
        message=(
            "In prod images must come from an allowed registry: push the image to one of the "
            "platform's registries."
        ),
        message_expression=(
            f"'container ' + {_first(_FOREIGN)} + ': in prod images must come from an allowed"
            " registry (' + params.data.registries + '); push the image there or ask a platform"
            " admin to allow its registry.'"
        ),
    ),
)

RULES_BY_ID = {r.id: r for r in RULES}
RULE_CHOICES = [(r.id, f"{r.id}: {r.title}") for r in RULES if r.exemptable]


def exemption_key(rule_id: str, workload: str) -> str:
    return f"exempt.{rule_id}.{workload}"


def guarded_expression(rule: Rule) -> str:
    """The rule as the policy evaluates it: exempt workloads pass."""
    if not rule.exemptable:
        return rule.expression
    return (
        f"(variables.exemptable && ('exempt.{rule.id}.' + variables.workload) in params.data)"
        f" || ({rule.expression})"
    )


# Policies are only evaluated for creations and for updates that change the spec: an update of
# labels, annotations or finalizers on an object created before the guardrails (a controller
# removing its finalizer) must never be blocked.
MATCH_CONDITIONS: list[tuple[str, str]] = [
    (
        "creation-or-spec-change",
        "request.operation == 'CREATE' || object.spec != oldObject.spec",
    ),
]
