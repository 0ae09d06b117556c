"""The portal's own workloads pass its guardrails: every template the workloads app renders, for
every GPU profile and environment, is admitted (no denial, no warning) by the policies rendered
for its tenant and environment from the database, evaluated with a real CEL implementation, and
passes Pod Security `restricted` (the level its namespace is labelled with)."""

import pytest

from clusters.registry import desired_objects
from workloads.manifests import render_deployment
from workloads.models import Template, WorkloadRevision
from workloads.tests.factories import DeploymentFactory, RevisionFactory, WorkloadFactory

from .admission import admit
from .pod_security import restricted_violations

pytestmark = pytest.mark.django_db

VARIANTS = [
    (Template.INFERENCE, WorkloadRevision.ScalingMetric.QUEUE_DEPTH, "keda"),
    (Template.INFERENCE, WorkloadRevision.ScalingMetric.LATENCY, "hpa"),
    (Template.INFERENCE, WorkloadRevision.ScalingMetric.NONE, "keda"),
    (Template.TRAINING, WorkloadRevision.ScalingMetric.NONE, "keda"),
    (Template.BATCH, WorkloadRevision.ScalingMetric.NONE, "keda"),
]
POD_TEMPLATE_KINDS = {"Deployment", "Job", "CronJob"}


def pod_from(manifest: dict) -> dict:
    """The pod a controller creates from a rendered object (name as the controller derives it)."""
    if manifest["kind"] == "CronJob":
        template = manifest["spec"]["jobTemplate"]["spec"]["template"]
        name = f"{manifest['metadata']['name']}-29000000-q7x2m"
    elif manifest["kind"] == "Job":
        template = manifest["spec"]["template"]
        name = f"{manifest['metadata']['name']}-q7x2m"
    else:
        template = manifest["spec"]["template"]
        name = f"{manifest['metadata']['name']}-6d5f7c9b8-q7x2m"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": manifest["metadata"]["namespace"],
            "labels": dict(template["metadata"]["labels"]),
        },
        "spec": template["spec"],
    }


def test_every_template_in_every_environment_is_admitted(
    tenant, envs, profiles, registries, enforcing
):
    rendered = []
    for env in envs.values():
        for profile in profiles.values():
            for template, metric, autoscaler in VARIANTS:
                workload = WorkloadFactory(tenant=tenant, template=template)
                revision = RevisionFactory(
                    workload=workload,
                    number=1,
                    profile=profile,
                    scaling_metric=metric,
                    autoscaler=autoscaler,
                )
                dep = DeploymentFactory(current_revision=revision, environment=env)
                if template == Template.INFERENCE and metric == "none":
                    dep.canary_revision = RevisionFactory(
                        workload=workload, number=2, profile=profiles["mig"]
                    )
                    dep.canary_percent = 10
                    dep.save()
                rendered.extend(render_deployment(dep))

    everything = [o.manifest for o in desired_objects(tenant.pk)]
    namespaces = {m["metadata"]["name"]: m for m in everything if m["kind"] == "Namespace"}
    guardrails = {
        "policies": [m for m in everything if m["kind"] == "ValidatingAdmissionPolicy"],
        "bindings": [m for m in everything if m["kind"] == "ValidatingAdmissionPolicyBinding"],
        "params": [
            m
            for m in everything
            if m["kind"] == "ConfigMap" and m["metadata"]["namespace"] == "gpu-portal-system"
        ],
    }
    assert len(guardrails["policies"]) == 2
    assert len(guardrails["bindings"]) == 4  # workloads x 3 environments + prod images

    checked = {"Deployment": 0, "Job": 0, "CronJob": 0, "Pod": 0}
    for manifest in rendered:
        if manifest["kind"] not in POD_TEMPLATE_KINDS:
            continue
        namespace = namespaces[manifest["metadata"]["namespace"]]
        labels = namespace["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        for obj in (manifest, pod_from(manifest)):
            decision = admit(obj, namespace=namespace, **guardrails)
            assert decision.evaluated, f"no guardrail applied to {obj['metadata']['name']}"
            assert decision.allowed, decision.denials
            assert decision.warnings == [] and decision.audit == []
            assert restricted_violations(pod_from(manifest)["spec"]) == []
            checked[obj["kind"]] += 1
    # 3 environments x 4 profiles: 3 inference (+1 canary), 1 training, 1 batch
    assert checked == {"Deployment": 48, "Job": 12, "CronJob": 12, "Pod": 72}


def test_the_restricted_checker_refuses_what_the_templates_leave_out():
    spec = {"containers": [{"name": "server", "image": "x"}]}
    assert restricted_violations(spec) == [
        "allowPrivilegeEscalation != false: server",
        "capabilities.drop lacks ALL: server",
        "runAsNonRoot != true: server",
        "seccompProfile not RuntimeDefault/Localhost: server",
    ]
