"""A generated cluster's worth of DCGM and kube-state-metrics samples, with the answers
(GPU-hours, used GPU-hours, cost) computed independently, minute by minute, from the same plan.

One sample per minute at :30 seconds, so no sample sits on an hour boundary (Prometheus 2.x
range selectors are closed at both ends).
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from portal.testing.prometheus import OpenMetrics

BASE = datetime(2026, 1, 5, tzinfo=UTC)
H100 = "NVIDIA H100 80GB HBM3"
COUNTER = "gpu_portal_inference_requests_total"


@dataclass
class PodPlan:
    namespace: str
    pod: str
    resource: str  # kube-state-metrics spelling
    units: int
    fraction: float
    workload: str = ""
    mig_profile: str = ""  # reports DCGM_FI_PROF_GR_ENGINE_ACTIVE instead of GPU_UTIL
    present: object = None  # (hour, minute) -> bool; None = always
    requests_per_minute: float = 0.0
    model: str = "NVIDIA H100 80GB HBM3"  # DCGM's modelName of the pod's devices

    def is_present(self, hour: int, minute: int) -> bool:
        return self.present is None or self.present(hour, minute)


def utilization(pod: str, gpu: int, hour: int, minute: int) -> float:
    """Deterministic, varied utilization in 0-1."""
    seed = sum(ord(c) for c in pod) + 13 * gpu
    return ((seed * 7 + hour * 11 + minute * 3) % 97) / 100.0


def standard_pods() -> list[PodPlan]:
    return [
        PodPlan("alpha-prod", "ranker-0", "nvidia_com_gpu", 2, 1.0, workload="ranker",
                requests_per_minute=120),
        PodPlan("alpha-dev", "finetune-0", "nvidia_com_mig_1g_10gb", 1, 1 / 7,
                workload="finetune", mig_profile="1g.10gb"),
        PodPlan("beta-dev", "notebook-0", "nvidia_com_gpu_shared", 2, 0.25, model="NVIDIA A10"),
        # present for the first half of every even hour: counts for half an hour
        PodPlan("beta-dev", "batch-1", "nvidia_com_gpu", 1, 1.0, workload="nightly",
                present=lambda h, m: h % 2 == 0 and m < 30),
    ]  # fmt: skip


@dataclass
class Expected:
    gpu_hours: dict[str, float] = field(default_factory=dict)  # by namespace
    used_gpu_hours: dict[str, float] = field(default_factory=dict)
    unit_hours: dict[tuple[str, str], float] = field(default_factory=dict)  # (ns, resource)
    requests: dict[str, float] = field(default_factory=dict)
    runs: dict[str, int] = field(default_factory=dict)  # by workload
    idle_gpu_hours: float = 0.0


def generate(
    hours: int,
    *,
    pods: list[PodPlan] | None = None,
    base: datetime = BASE,
    idle_gpus: int = 1,
    idle_mig: int = 2,
    metrics: OpenMetrics | None = None,
    job_every_hours: int = 24,
) -> tuple[OpenMetrics, Expected]:
    """`job_every_hours`: the finetune workload starts a new Job (training run) this often,
    half past the hour."""
    pods = standard_pods() if pods is None else pods
    metrics = metrics or OpenMetrics()
    expected = Expected()
    counters: dict[str, float] = {}
    start = int(base.timestamp())
    for h in range(hours):
        for m in range(60):
            ts = start + h * 3600 + m * 60 + 30
            for p in pods:
                if not p.is_present(h, m):
                    continue
                pod_labels = {"namespace": p.namespace, "pod": p.pod}
                metrics.add(
                    "kube_pod_labels",
                    {**pod_labels, "label_gpu_portal_io_workload": p.workload}
                    if p.workload
                    else pod_labels,
                    ts,
                    1,
                )
                metrics.add(
                    "kube_pod_container_resource_requests",
                    {**pod_labels, "container": "main", "resource": p.resource, "unit": "integer"},
                    ts,
                    p.units,
                )
                key_r = (p.namespace, p.resource)
                expected.unit_hours[key_r] = expected.unit_hours.get(key_r, 0) + p.units / 60
                expected.gpu_hours[p.namespace] = (
                    expected.gpu_hours.get(p.namespace, 0) + p.units * p.fraction / 60
                )
                for gpu in range(p.units):
                    u = utilization(p.pod, gpu, h, m)
                    dcgm = {
                        **pod_labels,
                        "container": "main",
                        "gpu": str(gpu),
                        "modelName": p.model,
                    }
                    if p.mig_profile:
                        dcgm |= {"GPU_I_PROFILE": p.mig_profile, "GPU_I_ID": str(gpu + 1)}
                        metrics.add("DCGM_FI_PROF_GR_ENGINE_ACTIVE", dcgm, ts, u)
                    else:
                        metrics.add("DCGM_FI_DEV_GPU_UTIL", dcgm, ts, round(u * 100))
                        u = round(u * 100) / 100
                    metrics.add("DCGM_FI_DEV_FB_USED", dcgm, ts, 1000 + 10 * h + gpu)
                    expected.used_gpu_hours[p.namespace] = (
                        expected.used_gpu_hours.get(p.namespace, 0) + u * p.fraction / 60
                    )
                if p.requests_per_minute:
                    counters[p.pod] = counters.get(p.pod, 0) + p.requests_per_minute
                    metrics.add(COUNTER, pod_labels, ts, counters[p.pod])
                    expected.requests[p.namespace] = (
                        expected.requests.get(p.namespace, 0) + p.requests_per_minute
                    )
            for gpu in range(idle_gpus):
                labels = {"gpu": str(10 + gpu), "modelName": H100}
                metrics.add("DCGM_FI_DEV_GPU_UTIL", labels, ts, 0)
            for inst in range(idle_mig):
                labels = {
                    "gpu": "20", "GPU_I_PROFILE": "1g.10gb", "GPU_I_ID": str(inst + 3),
                    "modelName": H100,
                }  # fmt: skip
                metrics.add("DCGM_FI_PROF_GR_ENGINE_ACTIVE", labels, ts, 0)
            expected.idle_gpu_hours += (idle_gpus + idle_mig / 7) / 60
            if job_every_hours:
                for first_hour in range(0, h + 1, job_every_hours):
                    if first_hour == h and m < 30:
                        continue  # created at half past
                    job = {"namespace": "alpha-dev", "job_name": f"finetune-{first_hour}"}
                    created = start + first_hour * 3600 + 30 * 60
                    metrics.add("kube_job_created", job, ts, created)
                    metrics.add(
                        "kube_job_labels",
                        {**job, "label_gpu_portal_io_workload": "finetune"},
                        ts,
                        1,
                    )
                    if first_hour == h and m == 30:
                        expected.runs["finetune"] = expected.runs.get("finetune", 0) + 1
    return metrics, expected


def hours_after(hours: int, base: datetime = BASE) -> datetime:
    return base + timedelta(hours=hours)
