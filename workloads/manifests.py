"""Pure render functions: a workload revision deployed in an environment -> Kubernetes objects
(inference Deployment + Service + KEDA ScaledObject or HPA, training Job + checkpoint claim,
batch CronJob), registered with the sync engine."""

import copy
import math

from clusters.registry import (
    ENVIRONMENT_LABEL,
    LABEL_PREFIX,
    LOCAL_QUEUE_NAME,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    RECREATE_ANNOTATION,
    TENANT_LABEL,
    WORKLOAD_LABEL,
    DesiredObject,
    tenant_manifests,
)

from .models import Template, WorkloadEnvironment, WorkloadRevision

TRACK_LABEL = LABEL_PREFIX + "track"
REVISION_LABEL = LABEL_PREFIX + "revision"
TEMPLATE_LABEL = LABEL_PREFIX + "template"
KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
GPU_TAINT_KEY = "nvidia.com/gpu"
PROBE_PERIOD_S = 10
DEFAULT_PROMETHEUS = "http://prometheus-operated.monitoring.svc:9090"

# Pod Security `restricted` (the guardrails' default level): non-root, no privilege escalation,
# no capabilities, the runtime's seccomp profile. fsGroup keeps the checkpoint volume writable.
RUN_AS = 1000
POD_SECURITY_CONTEXT = {
    "runAsNonRoot": True,
    "runAsUser": RUN_AS,
    "runAsGroup": RUN_AS,
    "fsGroup": RUN_AS,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY_CONTEXT = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
}

# Metric names the paved-road inference server exports (scraped with namespace and pod labels).
QUEUE_DEPTH_METRIC = "inference_queue_depth"
LATENCY_HISTOGRAM = "inference_request_duration_seconds"
REQUESTS_METRIC = "inference_requests_total"


def local_queue_name(namespace: str) -> str:
    """The Kueue LocalQueue every tenant namespace gets (rendered by tenants/manifests.py under
    the name clusters.registry.LOCAL_QUEUE_NAME)."""
    return LOCAL_QUEUE_NAME


def pod_regex(workload_name: str) -> str:
    """Matches the pods of the objects rendered for a workload and no other workload's, even
    one whose name starts the same: Deployment `<name>-<hash>-<5>`, canary
    `<name>-canary-<hash>-<5>`, Job `<name>-r<n>-<5>`, CronJob `<name>-<time>-<5>`."""
    return workload_name + "-(canary-)?[a-z0-9]+-[a-z0-9]{5}"


def labels_for(workload, environment) -> dict:
    return {
        MANAGED_BY_LABEL: MANAGED_BY,
        TENANT_LABEL: workload.tenant.slug,
        ENVIRONMENT_LABEL: environment.name,
        WORKLOAD_LABEL: workload.name,
        TEMPLATE_LABEL: workload.template,
    }


def template_labels(labels: dict) -> dict:
    """Labels for templates other controllers stamp out (Deployment/Job `template`, CronJob
    `jobTemplate`): never the managed-by label the sync engine prunes by, so the Jobs and pods
    they create are never taken for the portal's own objects."""
    return {k: v for k, v in labels.items() if k != MANAGED_BY_LABEL}


def _metadata(name: str, namespace: str, labels: dict, **extra) -> dict:
    return {"name": name, "namespace": namespace, "labels": dict(labels), **extra}


def _gpu_container(revision: WorkloadRevision, *, name: str, with_port: bool) -> dict:
    units = str(revision.gpus_per_replica)
    resource = revision.profile.resource_name
    container = {
        "name": name,
        "image": revision.image_ref,
        "imagePullPolicy": "IfNotPresent",
        "env": [
            {"name": "MODEL_URI", "value": revision.model_uri},
            {"name": "MODEL_DIGEST", "value": revision.model_digest},
        ],
        "resources": {"requests": {resource: units}, "limits": {resource: units}},
        "securityContext": copy.deepcopy(CONTAINER_SECURITY_CONTEXT),
    }
    if with_port:
        container["ports"] = [
            {"name": "http", "containerPort": revision.container_port, "protocol": "TCP"}
        ]
    return container


def _gpu_pod_placement(revision: WorkloadRevision) -> dict:
    """Where a GPU pod runs and as whom."""
    return {
        "nodeSelector": {GPU_PRODUCT_LABEL: revision.profile.gpu_product},
        "tolerations": [{"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}],
        "securityContext": copy.deepcopy(POD_SECURITY_CONTEXT),
    }


def startup_failure_threshold(cold_start_budget_s: int) -> int:
    """failureThreshold x period covers the whole cold start budget (model download + load)."""
    return max(1, math.ceil(cold_start_budget_s / PROBE_PERIOD_S))


def render_inference_deployment(
    workload, revision: WorkloadRevision, environment, *, track: str, replicas: int | None
) -> dict:
    name = workload.name if track == "stable" else f"{workload.name}-canary"
    labels = labels_for(workload, environment) | {
        REVISION_LABEL: str(revision.number),
        TRACK_LABEL: track,
        # GPU pods are admitted through the namespace's Kueue LocalQueue (a guardrail)
        KUEUE_QUEUE_LABEL: local_queue_name(environment.namespace),
    }
    selector = {WORKLOAD_LABEL: workload.name, TRACK_LABEL: track}
    container = _gpu_container(revision, name="server", with_port=True)
    probe = {"httpGet": {"path": "/healthz/ready", "port": "http"}}
    container["readinessProbe"] = probe | {"periodSeconds": PROBE_PERIOD_S, "failureThreshold": 3}
    container["startupProbe"] = probe | {
        "periodSeconds": PROBE_PERIOD_S,
        "failureThreshold": startup_failure_threshold(revision.cold_start_budget_s),
    }
    container["livenessProbe"] = {
        "httpGet": {"path": "/healthz/live", "port": "http"},
        "periodSeconds": PROBE_PERIOD_S,
        "failureThreshold": 3,
    }
    spec = {
        "selector": {"matchLabels": selector},
        "strategy": {
            "type": "RollingUpdate",
            # GPUs are scarce: never surge above the quota, replace one pod at a time.
            "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
        },
        "template": {
            "metadata": {"labels": template_labels(labels)},
            "spec": {"containers": [container], **_gpu_pod_placement(revision)},
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(name, environment.namespace, labels),
        "spec": spec,
    }


def render_inference_service(workload, revision: WorkloadRevision, environment) -> dict:
    # Selects stable and canary pods alike: the canary gets its share of replicas of traffic.
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(
            workload.name, environment.namespace, labels_for(workload, environment)
        ),
        "spec": {
            "selector": {WORKLOAD_LABEL: workload.name},
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def scaling_query(workload, revision: WorkloadRevision, environment) -> str:
    sel = f'namespace="{environment.namespace}",pod=~"{pod_regex(workload.name)}"'
    if revision.scaling_metric == WorkloadRevision.ScalingMetric.QUEUE_DEPTH:
        return f"sum({QUEUE_DEPTH_METRIC}{{{sel}}})"
    return (
        f"1000 * histogram_quantile(0.99, sum by (le) "
        f"(rate({LATENCY_HISTOGRAM}_bucket{{{sel}}}[2m])))"
    )


def render_scaled_object(workload, revision: WorkloadRevision, environment) -> dict:
    server = environment.cluster.prometheus_url or DEFAULT_PROMETHEUS
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": _metadata(
            workload.name, environment.namespace, labels_for(workload, environment)
        ),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": workload.name,
            },
            "minReplicaCount": revision.min_replicas,
            "maxReplicaCount": revision.max_replicas,
            # a GPU pod takes minutes to become ready: do not flap
            "cooldownPeriod": max(300, revision.cold_start_budget_s),
            "triggers": [
                {
                    "type": "prometheus",
                    "metadata": {
                        "serverAddress": server,
                        "query": scaling_query(workload, revision, environment),
                        "threshold": str(max(1, revision.scaling_target)),
                    },
                }
            ],
        },
    }


def render_hpa(workload, revision: WorkloadRevision, environment) -> dict:
    metric = (
        QUEUE_DEPTH_METRIC
        if revision.scaling_metric == WorkloadRevision.ScalingMetric.QUEUE_DEPTH
        else "inference_p99_latency_ms"
    )
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _metadata(
            workload.name, environment.namespace, labels_for(workload, environment)
        ),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": workload.name,
            },
            "minReplicas": max(1, revision.min_replicas),
            "maxReplicas": max(1, revision.max_replicas),
            "metrics": [
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": metric},
                        "target": {
                            "type": "AverageValue",
                            "averageValue": str(max(1, revision.scaling_target)),
                        },
                    },
                }
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
        },
    }


def checkpoint_claim_name(workload) -> str:
    return f"{workload.name}-checkpoints"


def render_checkpoint_claim(workload, revision: WorkloadRevision, environment) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _metadata(
            checkpoint_claim_name(workload),
            environment.namespace,
            labels_for(workload, environment),
        ),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{revision.checkpoint_volume_gi}Gi"}},
        },
    }


def _job_pod_template(workload, revision, environment, labels: dict) -> dict:
    container = _gpu_container(revision, name="trainer", with_port=False)
    pod_spec = {"restartPolicy": "Never", "containers": [container], **_gpu_pod_placement(revision)}
    if revision.checkpoint_volume_gi:
        container["volumeMounts"] = [{"name": "checkpoints", "mountPath": "/checkpoints"}]
        container["env"].append({"name": "CHECKPOINT_DIR", "value": "/checkpoints"})
        pod_spec["volumes"] = [
            {
                "name": "checkpoints",
                "persistentVolumeClaim": {"claimName": checkpoint_claim_name(workload)},
            }
        ]
    return {"metadata": {"labels": template_labels(labels)}, "spec": pod_spec}


def render_training_job(workload, revision: WorkloadRevision, environment) -> dict:
    # A Job's pod template is immutable, so each revision is its own Job.
    labels = labels_for(workload, environment) | {
        REVISION_LABEL: str(revision.number),
        KUEUE_QUEUE_LABEL: local_queue_name(environment.namespace),
    }
    replicas = max(1, revision.replicas)
    metadata = _metadata(f"{workload.name}-r{revision.number}", environment.namespace, labels)
    # ttlSecondsAfterFinished deletes the finished Job; a sync or drift repair must not create
    # it again (that would rerun the training).
    metadata["annotations"] = {RECREATE_ANNOTATION: "false"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {
            # no `suspend`: Kueue's webhook suspends a queue-labelled Job on creation and
            # unsuspends it on admission; owning the field would fight Kueue on every sync.
            "parallelism": replicas,
            "completions": replicas,
            "backoffLimit": revision.backoff_limit,
            "ttlSecondsAfterFinished": revision.ttl_seconds_after_finished,
            "template": _job_pod_template(workload, revision, environment, labels),
        },
    }


def render_batch_cronjob(workload, revision: WorkloadRevision, environment) -> dict:
    labels = labels_for(workload, environment) | {REVISION_LABEL: str(revision.number)}
    job_labels = labels | {KUEUE_QUEUE_LABEL: local_queue_name(environment.namespace)}
    replicas = revision.replicas
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _metadata(workload.name, environment.namespace, labels),
        "spec": {
            "schedule": revision.schedule or "@daily",
            # scaled to zero: keep the definition, run nothing
            "suspend": replicas == 0,
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": template_labels(job_labels)},
                "spec": {
                    "parallelism": max(1, replicas),
                    "completions": max(1, replicas),
                    "backoffLimit": revision.backoff_limit,
                    "ttlSecondsAfterFinished": revision.ttl_seconds_after_finished,
                    "template": _job_pod_template(workload, revision, environment, job_labels),
                },
            },
        },
    }


def render_deployment(deployment: WorkloadEnvironment) -> list[dict]:
    """All objects of one workload in one environment, from the revision it runs."""
    workload = deployment.workload
    revision = deployment.current_revision
    env = deployment.environment
    if workload.template == Template.INFERENCE:
        autoscaled = revision.scaling_metric != WorkloadRevision.ScalingMetric.NONE
        objects = [
            render_inference_deployment(
                workload,
                revision,
                env,
                track="stable",
                replicas=None if autoscaled else revision.replicas,
            ),
            render_inference_service(workload, revision, env),
        ]
        if autoscaled:
            if revision.autoscaler == WorkloadRevision.Autoscaler.HPA:
                objects.append(render_hpa(workload, revision, env))
            else:
                objects.append(render_scaled_object(workload, revision, env))
        if deployment.canary_revision_id and deployment.canary_percent:
            canary = deployment.canary_revision
            objects.append(
                render_inference_deployment(
                    workload,
                    canary,
                    env,
                    track="canary",
                    replicas=deployment.canary_replicas,
                )
            )
        return objects
    if workload.template == Template.TRAINING:
        objects = [render_training_job(workload, revision, env)]
        if revision.checkpoint_volume_gi:
            objects.append(render_checkpoint_claim(workload, revision, env))
        return objects
    return [render_batch_cronjob(workload, revision, env)]


def deployments_of_tenant(tenant_id: int):
    return (
        # only active tenants run workloads (and get their alert rules)
        WorkloadEnvironment.objects.filter(
            workload__tenant_id=tenant_id, workload__tenant__status="active"
        )
        .select_related(
            "workload__tenant",
            "environment__cluster",
            "current_revision__profile",
            "canary_revision__profile",
        )
        .order_by("workload__name", "environment__name")
    )


@tenant_manifests
def workload_objects(tenant_id: int) -> list[DesiredObject]:
    objects = []
    for deployment in deployments_of_tenant(tenant_id):
        for manifest in render_deployment(deployment):
            objects.append(DesiredObject(deployment.environment.cluster_id, manifest))
    return objects
