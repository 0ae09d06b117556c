"""Rendered templates: every GPU profile x template x environment is a valid Kubernetes object
(kubernetes-validate strict, CRDs from clusters/crds/), with the paved-road details."""

import pytest

from clusters.registry import desired_objects
from workloads.manifests import local_queue_name, render_deployment, startup_failure_threshold
from workloads.models import Template, WorkloadRevision

from .factories import DeploymentFactory, RevisionFactory, WorkloadFactory
from .schemas import validate_object

pytestmark = pytest.mark.django_db

VARIANTS = [
    (Template.INFERENCE, WorkloadRevision.ScalingMetric.QUEUE_DEPTH, "keda"),
    (Template.INFERENCE, WorkloadRevision.ScalingMetric.LATENCY, "hpa"),
    (Template.INFERENCE, WorkloadRevision.ScalingMetric.NONE, "keda"),
    (Template.TRAINING, WorkloadRevision.ScalingMetric.NONE, "keda"),
    (Template.BATCH, WorkloadRevision.ScalingMetric.NONE, "keda"),
]


def deploy(tenant, env, profile, template, metric=WorkloadRevision.ScalingMetric.NONE, **kw):
    workload = WorkloadFactory(tenant=tenant, template=template)
    revision = RevisionFactory(
        workload=workload, number=1, profile=profile, scaling_metric=metric, **kw
    )
    return DeploymentFactory(current_revision=revision, environment=env)


def by_kind(objects):
    return {o["kind"]: o for o in objects}


def test_every_profile_template_and_environment_renders_valid_objects(tenant, envs, profiles):
    rendered = []
    for env in envs.values():
        for profile in profiles.values():
            for template, metric, autoscaler in VARIANTS:
                dep = deploy(tenant, env, profile, template, metric, autoscaler=autoscaler)
                rendered.append((dep, render_deployment(dep)))
    # and a canary on another profile
    inference = [d for d, _ in rendered if d.workload.template == Template.INFERENCE][0]
    inference.canary_revision = RevisionFactory(
        workload=inference.workload, number=2, profile=profiles["mig"]
    )
    inference.canary_percent = 10
    rendered.append((inference, render_deployment(inference)))
    kinds = set()
    for _dep, objects in rendered:
        for manifest in objects:
            validate_object(manifest)
            kinds.add(manifest["kind"])
    assert kinds == {
        "Deployment",
        "Service",
        "ScaledObject",
        "HorizontalPodAutoscaler",
        "Job",
        "PersistentVolumeClaim",
        "CronJob",
    }
    assert len(rendered) == 3 * 4 * len(VARIANTS) + 1


def test_every_object_carries_the_ownership_labels(tenant, envs, profiles):
    dep = deploy(tenant, envs["prod"], profiles["dedicated"], Template.INFERENCE)
    for manifest in render_deployment(dep):
        labels = manifest["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "gpu-portal"
        assert labels["gpu-portal.io/tenant"] == "search"
        assert labels["gpu-portal.io/environment"] == "prod"
        assert labels["gpu-portal.io/workload"] == dep.workload.name
        assert manifest["metadata"]["namespace"] == "search-prod"


def test_inference_gpu_requests_equal_limits_from_the_profile_resource(tenant, envs, profiles):
    dep = deploy(tenant, envs["dev"], profiles["mig"], Template.INFERENCE, gpus_per_replica=2)
    pod = by_kind(render_deployment(dep))["Deployment"]["spec"]["template"]["spec"]
    resources = pod["containers"][0]["resources"]
    assert resources["requests"] == {"nvidia.com/mig-1g.10gb": "2"}
    assert resources["limits"] == resources["requests"]
    assert pod["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
        "tolerations"
    ]


def test_startup_probe_covers_the_cold_start_budget(tenant, envs, profiles):
    dep = deploy(
        tenant, envs["dev"], profiles["dedicated"], Template.INFERENCE, cold_start_budget_s=455
    )
    container = by_kind(render_deployment(dep))["Deployment"]["spec"]["template"]["spec"][
        "containers"
    ][0]
    probe = container["startupProbe"]
    assert probe["failureThreshold"] * probe["periodSeconds"] >= 455
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz/ready"
    assert startup_failure_threshold(10) == 1


def test_keda_scaled_object_scales_on_queue_depth_between_min_and_max(tenant, envs, profiles):
    dep = deploy(
        tenant,
        envs["dev"],
        profiles["dedicated"],
        Template.INFERENCE,
        WorkloadRevision.ScalingMetric.QUEUE_DEPTH,
        min_replicas=2,
        max_replicas=7,
        scaling_target=25,
    )
    objects = by_kind(render_deployment(dep))
    spec = objects["ScaledObject"]["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (2, 7)
    trigger = spec["triggers"][0]
    assert trigger["type"] == "prometheus"
    assert trigger["metadata"]["threshold"] == "25"
    assert 'namespace="search-dev"' in trigger["metadata"]["query"]
    assert "inference_queue_depth" in trigger["metadata"]["query"]
    # the autoscaler owns replicas, so the Deployment must not fight it
    assert "replicas" not in objects["Deployment"]["spec"]


def test_fixed_replicas_without_autoscaler(tenant, envs, profiles):
    dep = deploy(tenant, envs["dev"], profiles["dedicated"], Template.INFERENCE, replicas=3)
    objects = by_kind(render_deployment(dep))
    assert objects["Deployment"]["spec"]["replicas"] == 3
    assert "ScaledObject" not in objects and "HorizontalPodAutoscaler" not in objects


def test_canary_is_a_second_deployment_at_its_share_of_replicas(tenant, envs, profiles):
    dep = deploy(tenant, envs["prod"], profiles["dedicated"], Template.INFERENCE, replicas=10)
    dep.canary_revision = RevisionFactory(workload=dep.workload, number=2, image="x/y:2")
    dep.canary_percent = 20
    objects = render_deployment(dep)
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    canary = deployments[f"{dep.workload.name}-canary"]
    assert canary["spec"]["replicas"] == 2
    assert canary["spec"]["template"]["spec"]["containers"][0]["image"].startswith("x/y:2@")
    service = by_kind(objects)["Service"]
    # the Service selects both tracks, so traffic splits by replica count
    assert service["spec"]["selector"] == {"gpu-portal.io/workload": dep.workload.name}


def test_training_job_is_queued_in_kueue_with_ttl_backoff_and_checkpoints(tenant, envs, profiles):
    dep = deploy(
        tenant,
        envs["staging"],
        profiles["dedicated"],
        Template.TRAINING,
        ttl_seconds_after_finished=3600,
        backoff_limit=5,
        checkpoint_volume_gi=500,
    )
    objects = by_kind(render_deployment(dep))
    job = objects["Job"]
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == local_queue_name(
        "search-staging"
    )
    assert job["spec"]["ttlSecondsAfterFinished"] == 3600
    assert job["spec"]["backoffLimit"] == 5
    assert "suspend" not in job["spec"]  # Kueue's webhook owns it
    assert job["metadata"]["annotations"]["gpu-portal.io/recreate-when-missing"] == "false"
    claim = objects["PersistentVolumeClaim"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "500Gi"
    volumes = job["spec"]["template"]["spec"]["volumes"]
    assert volumes[0]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]


def test_batch_pipeline_scaled_to_zero_is_a_suspended_cronjob(tenant, envs, profiles):
    dep = deploy(tenant, envs["dev"], profiles["dedicated"], Template.BATCH, replicas=0)
    cron = by_kind(render_deployment(dep))["CronJob"]
    assert cron["spec"]["suspend"] is True
    assert cron["spec"]["schedule"] == "0 2 * * *"
    active = deploy(tenant, envs["dev"], profiles["dedicated"], Template.BATCH, replicas=1)
    assert by_kind(render_deployment(active))["CronJob"]["spec"]["suspend"] is False


def test_the_sync_engine_discovers_the_workload_provider(tenant, envs, profiles):
    dep = deploy(
        tenant,
        envs["dev"],
        profiles["dedicated"],
        Template.INFERENCE,
        WorkloadRevision.ScalingMetric.QUEUE_DEPTH,
    )
    objects = [
        o
        for o in desired_objects(tenant.pk)
        if o.manifest["metadata"]["labels"].get("gpu-portal.io/workload") == dep.workload.name
    ]
    assert {o.manifest["kind"] for o in objects} >= {"Deployment", "Service", "ScaledObject"}
    assert {o.cluster_id for o in objects} == {envs["dev"].cluster_id}


def test_the_validation_harness_rejects_unknown_fields(tenant, envs, profiles):
    """Strict for built-in kinds and CRDs alike, so the tests above can fail."""
    import jsonschema
    from kubernetes_validate import ValidationError

    dep = deploy(
        tenant,
        envs["dev"],
        profiles["dedicated"],
        Template.INFERENCE,
        WorkloadRevision.ScalingMetric.QUEUE_DEPTH,
    )
    objects = by_kind(render_deployment(dep))
    objects["Deployment"]["spec"]["replica"] = 2
    with pytest.raises(ValidationError):
        validate_object(objects["Deployment"])
    objects["ScaledObject"]["spec"]["minReplicas"] = 1
    with pytest.raises(jsonschema.ValidationError):
        validate_object(objects["ScaledObject"])
