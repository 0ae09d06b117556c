"""The rendered ValidatingAdmissionPolicies, evaluated with a real CEL implementation
(cel-python) the way the API server does (tests/admission.py), against a table of pods,
Deployments, Jobs and CronJobs: for each rule an allowed and a denied object, with and without
an exemption, with the exact decision and message the team would see."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from guardrails.policies import (
    ExemptionRow,
    NamespaceRow,
    render_cluster_guardrails,
    render_namespace_guardrails,
)

from .admission import admit

DIGEST = "sha256:" + "ab" * 32
PINNED = f"registry.example.com/ml/ranker:1.4@{DIGEST}"
UNTIL = datetime(2027, 1, 31, tzinfo=UTC)
WORKLOAD = "ranker"
RESTRICTED_SC = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
POD_LABELS = {
    "gpu-portal.io/workload": WORKLOAD,
    "kueue.x-k8s.io/queue-name": "default",
}


def row(env: str, *, mode="enforce", exemptions=()) -> NamespaceRow:
    return NamespaceRow(
        tenant="search",
        cost_center="cc-42",
        environment=env,
        namespace=f"search-{env}",
        cluster_id=1,
        kubernetes_version="1.31",
        mode=mode,
        pod_security_level="restricted",
        local_queue="default",
        granted_resources=("nvidia.com/gpu", "nvidia.com/mig-1g.10gb"),
        allowed_registries=("registry.example.com/ml", "nvcr.io/nvidia/"),
        exemptions=tuple(ExemptionRow(rule, WORKLOAD, UNTIL) for rule in exemptions),
    )


def namespace(env: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": f"search-{env}",
            "labels": {
                "app.kubernetes.io/managed-by": "gpu-portal",
                "gpu-portal.io/tenant": "search",
                "gpu-portal.io/environment": env,
                "kubernetes.io/metadata.name": f"search-{env}",
            },
        },
    }


def container(
    name="server", image=PINNED, gpu="nvidia.com/gpu", requests="1", limits="1", sc=None
) -> dict:
    resources = {"requests": {"cpu": "1"}, "limits": {"cpu": "1"}}
    if gpu and requests is not None:
        resources["requests"][gpu] = requests
    if gpu and limits is not None:
        resources["limits"][gpu] = limits
    return {
        "name": name,
        "image": image,
        "resources": resources,
        "securityContext": copy.deepcopy(sc if sc is not None else RESTRICTED_SC),
    }


def pod_spec(*containers, **fields) -> dict:
    return {"containers": list(containers) or [container()], **fields}


def pod(spec=None, labels=None, name=f"{WORKLOAD}-7d9f8-x2k4q", env="dev") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": f"search-{env}",
            "labels": dict(POD_LABELS if labels is None else labels),
        },
        "spec": spec or pod_spec(),
    }


def workload(kind: str, spec=None, labels=None, name=WORKLOAD, env="dev") -> dict:
    template = {
        "metadata": {"labels": dict(POD_LABELS if labels is None else labels)},
        "spec": spec or pod_spec(),
    }
    meta = {"name": name, "namespace": f"search-{env}", "labels": {"gpu-portal.io/workload": name}}
    if kind == "Deployment":
        selector = {"matchLabels": {"gpu-portal.io/workload": name}}
        body = {"apiVersion": "apps/v1", "spec": {"selector": selector, "template": template}}
    elif kind == "Job":
        template["spec"].setdefault("restartPolicy", "Never")
        body = {"apiVersion": "batch/v1", "spec": {"template": template}}
    else:
        template["spec"].setdefault("restartPolicy", "Never")
        body = {
            "apiVersion": "batch/v1",
            "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": template}}},
        }
    return {"kind": kind, "metadata": meta, **body}


def obj(kind: str, env="dev", **kw) -> dict:
    return pod(env=env, **kw) if kind == "Pod" else workload(kind, env=env, **kw)


def queue_msg(name, env="dev"):
    return (
        "[gpu-queue] GPU pods must be admitted through Kueue: add the label "
        f"kueue.x-k8s.io/queue-name: default to the pod template labels of {name} "
        f"(tenant search, {env})."
    )


GRANT_MSG = (
    "[gpu-grant] container server requests a GPU resource with no quota grant in search-dev "
    "(granted: nvidia.com/gpu, nvidia.com/mig-1g.10gb): use a granted GPU profile or request "
    "quota for it in the portal."
)
EQUAL_MSG = (
    "[gpu-requests-limits] container server: set resources.requests equal to resources.limits "
    "for its GPU resource (both, same quantity)."
)


def label_msg(name):
    return (
        "[workload-label] GPU pods must carry the label gpu-portal.io/workload: <workload name> "
        f"so their GPU hours are attributed: add it to the pod template labels of {name}."
    )


def host_msg(name):
    return (
        f"[host-namespaces] Remove hostNetwork, hostPID, hostIPC and hostPort from {name}: "
        "tenant pods may not share the namespaces of the node; expose ports through a Service."
    )


HOSTPATH_MSG = (
    "[host-path] volume dev is a hostPath: use a PersistentVolumeClaim or an emptyDir; tenant "
    "pods may not mount the filesystem of the node."
)
PRIV_MSG = (
    "[privileged] container debug: remove securityContext.privileged; tenant containers are "
    "never privileged."
)
CAPS_MSG = (
    "[capabilities] container server: remove the added capabilities from "
    "securityContext.capabilities.add (only NET_BIND_SERVICE may be added) and drop ALL."
)
DIGEST_MSG = (
    "[image-digest] container server: in prod every image is pinned by digest; use "
    "<image>@sha256:<digest> (promote a revision with an image digest)."
)
REGISTRY_MSG = (
    "[image-registry] container server: in prod images must come from an allowed registry "
    "(nvcr.io/nvidia/, registry.example.com/ml/); push the image there or ask a platform admin "
    "to allow its registry."
)

NO_QUEUE = {"gpu-portal.io/workload": WORKLOAD}
NO_WORKLOAD = {"kueue.x-k8s.io/queue-name": "default"}
MIG = "nvidia.com/mig-1g.10gb"
SC_PRIV = RESTRICTED_SC | {"privileged": True}
SC_CAPS = RESTRICTED_SC | {"capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN"]}}
SC_NET_BIND = RESTRICTED_SC | {"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}
HOSTPATH_VOL = [{"name": "dev", "hostPath": {"path": "/dev"}}]
TAGGED = "registry.example.com/ml/ranker:1.4"
FOREIGN = f"docker.io/library/ranker@{DIGEST}"
LOOKALIKE = f"registry.example.com.evil.io/ml/ranker@{DIGEST}"
POD = f"{WORKLOAD}-7d9f8-x2k4q"

# (case id, kind, env, object fields, exempt rules, expected denial messages; [] = allowed)
CASES = [
    # gpu-queue
    ("pod with queue label", "Pod", "dev", {}, (), []),
    ("pod without queue label", "Pod", "dev", {"labels": NO_QUEUE}, (), [queue_msg(POD)]),
    ("deployment without queue label", "Deployment", "dev", {"labels": NO_QUEUE}, (),
     [queue_msg(WORKLOAD)]),
    ("job without queue label", "Job", "staging", {"labels": NO_QUEUE}, (),
     [queue_msg(WORKLOAD, "staging")]),
    ("cronjob without queue label", "CronJob", "dev", {"labels": NO_QUEUE}, (),
     [queue_msg(WORKLOAD)]),
    ("cronjob without queue label, exempt", "CronJob", "dev", {"labels": NO_QUEUE},
     ("gpu-queue",), []),
    ("pod with another queue", "Pod", "dev",
     {"labels": POD_LABELS | {"kueue.x-k8s.io/queue-name": "other-team"}}, (), [queue_msg(POD)]),
    ("cpu-only pod needs no queue", "Pod", "dev",
     {"labels": {}, "spec": pod_spec(container(gpu=None))}, (), []),
    # gpu-grant
    ("deployment on a granted mig profile", "Deployment", "dev",
     {"spec": pod_spec(container(gpu=MIG))}, (), []),
    ("pod on an ungranted gpu", "Pod", "dev",
     {"spec": pod_spec(container(gpu="nvidia.com/gpu.shared"))}, (), [GRANT_MSG]),
    ("job on an ungranted amd gpu", "Job", "dev", {"spec": pod_spec(container(gpu="amd.com/gpu"))},
     (), [GRANT_MSG]),
    ("job on an ungranted gpu, exempt", "Job", "dev",
     {"spec": pod_spec(container(gpu="nvidia.com/gpu.shared"))}, ("gpu-grant",), []),
    # gpu-requests-limits
    ("pod with gpu requests below limits", "Pod", "dev",
     {"spec": pod_spec(container(requests="1", limits="2"))}, (), [EQUAL_MSG]),
    ("deployment with gpu limits only", "Deployment", "dev",
     {"spec": pod_spec(container(requests=None, limits="1"))}, (), [EQUAL_MSG]),
    ("deployment with gpu limits only, exempt", "Deployment", "dev",
     {"spec": pod_spec(container(requests=None, limits="1"))}, ("gpu-requests-limits",), []),
    # workload-label
    ("job without workload label", "Job", "dev", {"labels": NO_WORKLOAD}, (),
     [label_msg(WORKLOAD)]),
    ("pod without workload label", "Pod", "dev", {"labels": NO_WORKLOAD}, (), [label_msg(POD)]),
    ("cpu-only pod needs no workload label", "Pod", "dev",
     {"labels": {}, "spec": pod_spec(container(gpu=None, image=TAGGED))}, (), []),
    # host-namespaces
    ("pod on the host network", "Pod", "dev", {"spec": pod_spec(hostNetwork=True)}, (),
     [host_msg(POD)]),
    ("deployment sharing host pid", "Deployment", "dev", {"spec": pod_spec(hostPID=True)}, (),
     [host_msg(WORKLOAD)]),
    ("cronjob with a host port", "CronJob", "dev",
     {"spec": pod_spec(container() | {"ports": [{"containerPort": 80, "hostPort": 80}]})}, (),
     [host_msg(WORKLOAD)]),
    ("deployment with hostNetwork false", "Deployment", "dev",
     {"spec": pod_spec(hostNetwork=False, hostPID=False)}, (), []),
    ("deployment on the host network, exempt", "Deployment", "dev",
     {"spec": pod_spec(hostNetwork=True)}, ("host-namespaces",), []),
    # host-path
    ("job mounting a hostPath", "Job", "dev", {"spec": pod_spec(volumes=HOSTPATH_VOL)}, (),
     [HOSTPATH_MSG]),
    ("pod with an emptyDir", "Pod", "dev",
     {"spec": pod_spec(volumes=[{"name": "scratch", "emptyDir": {}}])}, (), []),
    ("pod mounting a hostPath, exempt", "Pod", "dev", {"spec": pod_spec(volumes=HOSTPATH_VOL)},
     ("host-path",), []),
    # privileged
    ("pod with a privileged init container", "Pod", "dev",
     {"spec": pod_spec(container(), initContainers=[container("debug", gpu=None, sc=SC_PRIV)])},
     (), [PRIV_MSG]),
    ("cronjob with a privileged container", "CronJob", "dev",
     {"spec": pod_spec(container(), container("debug", gpu=None, sc=SC_PRIV))}, (), [PRIV_MSG]),
    ("cronjob with a privileged container, exempt", "CronJob", "dev",
     {"spec": pod_spec(container(), container("debug", gpu=None, sc=SC_PRIV))}, ("privileged",),
     []),
    # capabilities
    ("deployment adding NET_ADMIN", "Deployment", "dev", {"spec": pod_spec(container(sc=SC_CAPS))},
     (), [CAPS_MSG]),
    ("deployment adding NET_BIND_SERVICE", "Deployment", "dev",
     {"spec": pod_spec(container(sc=SC_NET_BIND))}, (), []),
    ("pod adding NET_ADMIN, exempt", "Pod", "dev", {"spec": pod_spec(container(sc=SC_CAPS))},
     ("capabilities",), []),
    ("pod adding NET_ADMIN, exempt from another rule", "Pod", "dev",
     {"spec": pod_spec(container(sc=SC_CAPS))}, ("privileged",), [CAPS_MSG]),
    # image-digest (prod)
    ("prod deployment with a tag", "Deployment", "prod",
     {"spec": pod_spec(container(image=TAGGED))}, (), [DIGEST_MSG]),
    ("dev deployment with a tag", "Deployment", "dev",
     {"spec": pod_spec(container(image=TAGGED))}, (), []),
    ("prod job pinned by digest", "Job", "prod", {}, (), []),
    ("prod pod with a tag, exempt", "Pod", "prod", {"spec": pod_spec(container(image=TAGGED))},
     ("image-digest",), []),
    # image-registry (prod)
    ("prod cronjob from docker hub", "CronJob", "prod",
     {"spec": pod_spec(container(image=FOREIGN))}, (), [REGISTRY_MSG]),
    ("prod pod from a lookalike registry", "Pod", "prod",
     {"spec": pod_spec(container(image=LOOKALIKE))}, (), [REGISTRY_MSG]),
    ("prod pod from nvcr", "Pod", "prod",
     {"spec": pod_spec(container(image=f"nvcr.io/nvidia/tritonserver@{DIGEST}"))}, (), []),
    ("prod cronjob from docker hub, exempt", "CronJob", "prod",
     {"spec": pod_spec(container(image=FOREIGN))}, ("image-registry",), []),
    # several rules at once, each message once
    ("prod pod breaking three rules", "Pod", "prod",
     {"labels": NO_QUEUE, "spec": pod_spec(container(image=TAGGED), hostNetwork=True)}, (),
     [queue_msg(POD, "prod"), host_msg(POD), DIGEST_MSG]),
]  # fmt: skip


def cluster_objects(env: str, *, mode="enforce", exemptions=()):
    objects = render_cluster_guardrails() + render_namespace_guardrails(
        row(env, mode=mode, exemptions=exemptions)
    )
    return {
        "policies": [o for o in objects if o["kind"] == "ValidatingAdmissionPolicy"],
        "bindings": [o for o in objects if o["kind"] == "ValidatingAdmissionPolicyBinding"],
        "params": [o for o in objects if o["kind"] == "ConfigMap"],
    }


def messages(decision) -> list[str]:
    return [d.split(" denied request: ", 1)[1] for d in decision.denials]


def test_the_table_covers_every_rule_and_kind_with_and_without_exemption():
    assert len(CASES) >= 30
    assert {c[1] for c in CASES} == {"Pod", "Deployment", "Job", "CronJob"}
    denied_rules = {m.split("]")[0][1:] for c in CASES for m in c[5]}
    exempted_rules = {rule for c in CASES if not c[5] for rule in c[4]}
    from guardrails.rules import RULES

    assert denied_rules == {r.id for r in RULES}
    assert exempted_rules == {r.id for r in RULES if r.exemptable}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_admission_decision_and_message(case):
    _name, kind, env, fields, exempt, expected = case
    objects = cluster_objects(env, exemptions=exempt)
    decision = admit(obj(kind, env=env, **fields), namespace=namespace(env), **objects)
    assert decision.evaluated, "the policies must apply to a tenant namespace"
    assert messages(decision) == expected
    assert decision.allowed is (not expected)


def test_audit_mode_warns_and_audits_instead_of_denying():
    bad = pod(labels=NO_QUEUE)
    decision = admit(bad, namespace=namespace("dev"), **cluster_objects("dev", mode="audit"))
    assert decision.allowed
    assert decision.denials == []
    assert decision.audit == [queue_msg(POD)]
    assert decision.warnings == [
        "Validation failed for ValidatingAdmissionPolicy 'gpu-portal-workloads' with binding "
        f"'gpu-portal-workloads.search-dev': {queue_msg(POD)}"
    ]


def test_an_exemption_covers_only_objects_named_after_its_workload():
    impostor = pod(labels=NO_QUEUE | {"gpu-portal.io/workload": WORKLOAD}, name="miner-x2k4q")
    decision = admit(
        impostor, namespace=namespace("dev"), **cluster_objects("dev", exemptions=["gpu-queue"])
    )
    assert messages(decision) == [queue_msg("miner-x2k4q")]


def test_a_namespace_without_its_parameters_admits_nothing():
    objects = cluster_objects("dev")
    objects["params"] = []
    decision = admit(pod(), namespace=namespace("dev"), **objects)
    assert not decision.allowed
    assert "no params found" in decision.denials[0]


def test_another_tenants_namespace_is_not_selected_by_these_bindings():
    other = namespace("dev")
    other["metadata"]["labels"]["gpu-portal.io/tenant"] = "vision"
    decision = admit(pod(labels=NO_QUEUE), namespace=other, **cluster_objects("dev"))
    assert decision.allowed and decision.evaluated == []


def test_a_label_only_update_of_an_old_object_is_never_blocked():
    old = pod(labels=NO_QUEUE, spec=pod_spec(hostNetwork=True))
    new = copy.deepcopy(old)
    new["metadata"]["labels"]["team"] = "search"
    objects = cluster_objects("dev")
    decision = admit(new, namespace=namespace("dev"), operation="UPDATE", old_object=old, **objects)
    assert decision.allowed and decision.evaluated == []


def test_a_spec_update_is_checked_against_the_old_object():
    old = pod()
    new = copy.deepcopy(old)
    new["spec"]["ephemeralContainers"] = [container("debugger", gpu=None, sc=SC_PRIV)]
    decision = admit(
        new,
        namespace=namespace("dev"),
        operation="UPDATE",
        old_object=old,
        subresource="ephemeralcontainers",
        **cluster_objects("dev"),
    )
    assert messages(decision) == [PRIV_MSG.replace("container debug:", "container debugger:")]


def test_prod_images_policy_is_not_bound_outside_prod():
    names = [b["metadata"]["name"] for b in cluster_objects("staging")["bindings"]]
    assert names == ["gpu-portal-workloads.search-staging"]
