"""A mixed fleet, as real clusters are: H100 and A100 nodes both advertising `nvidia.com/gpu`,
MIG slices of both (the same `nvidia.com/mig-1g.10gb` name on each), a time-sliced L4
advertised as plain `nvidia.com/gpu` with 4 replicas, and an A10 that no GPU profile
describes. Some pods' DCGM series name their GPU (`modelName`); the others are known only
through their node's `nvidia.com/gpu.product` label (kube_pod_info's node joined with
kube_node_labels), spelled as GPU feature discovery does (-SHARED, -MIG-... suffixes).

The expected numbers are computed here, minute by minute, from the plan: exact fractions
(`fractions.Fraction`), prices per GPU model, nothing from the code under test.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from portal.testing.prometheus import OpenMetrics

BASE = datetime(2026, 1, 5, tzinfo=UTC)
HOURS = 48
H100 = "NVIDIA H100 80GB HBM3"
A100 = "NVIDIA A100-SXM4-80GB"
L4 = "NVIDIA L4"
A10 = "NVIDIA A10"
PRICES = {H100: Decimal("4.00"), A100: Decimal("2.50"), L4: Decimal("0.80"), A10: Decimal("1.20")}
NODE_LABEL = {  # node -> nvidia.com/gpu.product as GFD writes it
    "h100-a": "NVIDIA-H100-80GB-HBM3",
    "h100-b": "NVIDIA-H100-80GB-HBM3",
    "a100-a": "NVIDIA-A100-SXM4-80GB",
    "a100-b": "NVIDIA-A100-SXM4-80GB-MIG-3g.40gb",
    "l4-a": "NVIDIA-L4-SHARED",
    "a10-a": "NVIDIA-A10",
}
TENANT_NAMESPACES = {
    "hopper": ["hopper-prod", "hopper-dev"],
    "ampere": ["ampere-prod", "ampere-dev"],
    "lovelace": ["lovelace-dev"],
    "mystery": ["mystery-dev"],
}


@dataclass
class Pod:
    namespace: str
    pod: str
    resource: str  # kube-state-metrics spelling
    units: int
    model: str  # what the device really is (prices, expected numbers)
    node: str
    fraction: Fraction | None  # exact share of a GPU per unit; None = no profile (unpriced)
    dcgm_model: bool = True  # DCGM series carry modelName (else only the node label tells)
    mig_profile: str = ""
    half_time: bool = False  # present the first half of every even hour

    def present(self, hour: int, minute: int) -> bool:
        return not self.half_time or (hour % 2 == 0 and minute < 30)


PODS = [
    Pod("hopper-prod", "train-0", "nvidia_com_gpu", 2, H100, "h100-a", Fraction(1)),
    Pod("ampere-prod", "serve-0", "nvidia_com_gpu", 3, A100, "a100-a", Fraction(1),
        dcgm_model=False),
    Pod("hopper-dev", "nb-0", "nvidia_com_mig_1g_10gb", 1, H100, "h100-b", Fraction(1, 7),
        mig_profile="1g.10gb"),
    Pod("ampere-dev", "nb-0", "nvidia_com_mig_1g_10gb", 2, A100, "a100-b", Fraction(1, 7),
        mig_profile="1g.10gb"),
    Pod("ampere-dev", "ft-0", "nvidia_com_mig_3g_40gb", 1, A100, "a100-b", Fraction(3, 7),
        mig_profile="3g.40gb", dcgm_model=False),
    Pod("lovelace-dev", "nb-0", "nvidia_com_gpu", 2, L4, "l4-a", Fraction(1, 4),
        dcgm_model=False, half_time=True),
    Pod("mystery-dev", "exp-0", "nvidia_com_gpu", 1, A10, "a10-a", None),
]  # fmt: skip


@dataclass
class Expected:
    unit_hours: dict[str, float] = field(default_factory=dict)  # by namespace
    gpu_hours: dict[str, float] = field(default_factory=dict)
    used_gpu_hours: dict[str, float] = field(default_factory=dict)
    cost: dict[str, Decimal] = field(default_factory=dict)
    unpriced_unit_hours: dict[str, float] = field(default_factory=dict)  # by product label

    def tenant(self, slug: str, what: str):
        values = getattr(self, what)
        zero = Decimal(0) if what == "cost" else 0.0
        return sum((values.get(ns, zero) for ns in TENANT_NAMESPACES[slug]), zero)


def utilization(pod: str, gpu: int, hour: int, minute: int) -> float:
    seed = sum(ord(c) for c in pod) + 13 * gpu
    return ((seed * 7 + hour * 11 + minute * 3) % 97) / 100.0


def generate(hours: int = HOURS, *, first_hour: int = 0, base: datetime = BASE):
    """Samples for hours [first_hour, hours) (a later first hour: what a Prometheus whose
    retention dropped the start still holds) and the expected numbers of those hours."""
    metrics = OpenMetrics()
    expected = Expected()
    start = int(base.timestamp())
    for h in range(first_hour, hours):
        for m in range(60):
            ts = start + h * 3600 + m * 60 + 30
            for node, label in NODE_LABEL.items():
                metrics.add(
                    "kube_node_labels", {"node": node, "label_nvidia_com_gpu_product": label}, ts, 1
                )
            for p in PODS:
                if not p.present(h, m):
                    continue
                ids = {"namespace": p.namespace, "pod": p.pod}
                metrics.add("kube_pod_labels", ids, ts, 1)
                metrics.add("kube_pod_info", {**ids, "node": p.node}, ts, 1)
                metrics.add(
                    "kube_pod_container_resource_requests",
                    {**ids, "container": "main", "resource": p.resource, "unit": "integer"},
                    ts,
                    p.units,
                )
                share = float(p.fraction) if p.fraction is not None else 1.0
                ns = p.namespace
                expected.unit_hours[ns] = expected.unit_hours.get(ns, 0) + p.units / 60
                expected.gpu_hours[ns] = expected.gpu_hours.get(ns, 0) + p.units * share / 60
                if p.fraction is None:
                    key = NODE_LABEL[p.node]
                    expected.unpriced_unit_hours[key] = (
                        expected.unpriced_unit_hours.get(key, 0) + p.units / 60
                    )
                else:
                    minute_cost = (
                        PRICES[p.model]
                        * Decimal(p.fraction.numerator)
                        / Decimal(p.fraction.denominator)
                        * p.units
                        / 60
                    )
                    expected.cost[ns] = expected.cost.get(ns, Decimal(0)) + minute_cost
                for gpu in range(p.units):
                    u = utilization(p.pod, gpu, h, m)
                    dcgm = {**ids, "container": "main", "gpu": str(gpu)}
                    if p.dcgm_model:
                        dcgm["modelName"] = p.model
                    if p.mig_profile:
                        dcgm |= {"GPU_I_PROFILE": p.mig_profile, "GPU_I_ID": str(gpu + 1)}
                        metrics.add("DCGM_FI_PROF_GR_ENGINE_ACTIVE", dcgm, ts, u)
                    else:
                        metrics.add("DCGM_FI_DEV_GPU_UTIL", dcgm, ts, round(u * 100))
                        u = round(u * 100) / 100
                    metrics.add("DCGM_FI_DEV_FB_USED", dcgm, ts, 1000 + gpu)
                    expected.used_gpu_hours[ns] = (
                        expected.used_gpu_hours.get(ns, 0) + u * share / 60
                    )
            # capacity no pod holds: an H100 and an A100 1g.10gb instance
            metrics.add("DCGM_FI_DEV_GPU_UTIL", {"gpu": "7", "modelName": H100}, ts, 0)
            metrics.add(
                "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
                {"gpu": "3", "GPU_I_PROFILE": "1g.10gb", "GPU_I_ID": "9", "modelName": A100},
                ts,
                0,
            )
    return metrics, expected


def hours_after(hours: int) -> datetime:
    return BASE + timedelta(hours=hours)
