"""PromQL for the usage pull and the pure conversion of its answers into hourly usage rows.

Every query aggregates by namespace (+ workload, + resource / MIG profile) inside Prometheus, so
a pull sends the same handful of queries whatever the number of tenants. Each query is evaluated
at the END of each hour with a `[1h]` range: the value at T describes the hour (T-1h, T].
Per-hour averages are `sum_over_time / samples per hour`, so a pod present for half an hour
counts for half an hour.
"""

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

WORKLOAD_POD_LABEL = "label_gpu_portal_io_workload"  # kube-state-metrics' name for our label
MIG_RESOURCE_PREFIX = "nvidia.com/mig-"
WHOLE_GPU_RESOURCE = "nvidia.com/gpu"


NODE_PRODUCT_LABEL = "label_nvidia_com_gpu_product"  # kube_node_labels' name for the GFD label

# The GPU product each pod ran on during the hour: DCGM's modelName for the pod's devices, else
# its node's nvidia.com/gpu.product label (kube_pod_info's node joined with kube_node_labels).
# `topk by (...) (1, ...)` keeps one product per pod (a pod that moved nodes within the hour)
# and one label per node, so the joins below never fail on duplicates. Value 1.
_POD_PRODUCT = (
    "topk by (namespace, pod) (1, "
    "group by (namespace, pod, gpu_product) (label_replace("
    'max_over_time(DCGM_FI_DEV_FB_USED{namespace!="", pod!="", modelName!=""}[1h]), '
    '"gpu_product", "$1", "modelName", "(.+)")) '
    "or on (namespace, pod) "
    "group by (namespace, pod, gpu_product) (label_replace("
    'max by (namespace, pod, node) (max_over_time(kube_pod_info{node!=""}[1h])) '
    f"* on (node) group_left ({NODE_PRODUCT_LABEL}) "
    f"topk by (node) (1, max by (node, {NODE_PRODUCT_LABEL}) "
    f'(max_over_time(kube_node_labels{{{NODE_PRODUCT_LABEL}!=""}}[1h]))), '
    f'"gpu_product", "$1", "{NODE_PRODUCT_LABEL}", "(.+)")))'
)
_POD_LABELS = f"max by (namespace, pod, {WORKLOAD_POD_LABEL}) (max_over_time(kube_pod_labels[1h]))"
# One series per pod: its workload label and GPU product, whichever of them is known.
_POD_META = (
    f"(({_POD_LABELS}) * on (namespace, pod) group_left (gpu_product) ({_POD_PRODUCT})) "
    f"or on (namespace, pod) ({_POD_LABELS}) or on (namespace, pod) ({_POD_PRODUCT})"
)


def _by_workload(inner: str) -> str:
    """Add `workload` (the pod's `gpu-portal.io/workload` label) and `gpu_product` (the device
    the pod ran on) to each series; series whose pod nothing describes are kept as they are."""
    joined = (
        f"label_replace(({inner}) * on (namespace, pod) group_left ({WORKLOAD_POD_LABEL}, "
        f'gpu_product) ({_POD_META}), "workload", "$1", "{WORKLOAD_POD_LABEL}", "(.+)")'
    )
    return f"({joined}) or on (namespace, pod) ({inner})"


def normalize_product(name: str) -> str:
    """DCGM's modelName ("NVIDIA H100 80GB HBM3") in the node label's spelling
    ("NVIDIA-H100-80GB-HBM3"), without GFD's sharing suffixes (-SHARED, -MIG-1g.10gb)."""
    product = re.sub(r"\s+", "-", name.strip())
    product = re.sub(r"-MIG-\d+g\.\d+gb$", "", product)
    return re.sub(r"-SHARED$", "", product)


def build_queries(samples_per_hour: float, inference_counters: list[str]) -> dict[str, str]:
    """The PromQL of one pull, by name. Pure: the same queries for 1 or 10,000 namespaces."""
    sph = f"{samples_per_hour:g}"
    queries = {
        # allocated units per namespace / workload / resource (kube-state-metrics requests)
        "allocated": (
            "sum by (namespace, workload, resource, gpu_product) ("
            + _by_workload(
                'sum_over_time(kube_pod_container_resource_requests{resource=~"nvidia_com_.*"}[1h])'
            )
            + f") / {sph}"
        ),
        # whole GPUs (and time-sliced / MPS shares): DCGM utilization in percent
        "used_gpu": (
            "sum by (namespace, workload, gpu_product) ("
            + _by_workload('sum_over_time(DCGM_FI_DEV_GPU_UTIL{namespace!=""}[1h])')
            + f") / (100 * {sph})"
        ),
        # MIG instances: graphics engine active, a 0-1 ratio of the instance
        "used_mig": (
            "sum by (namespace, workload, GPU_I_PROFILE, gpu_product) ("
            + _by_workload(
                'sum_over_time(DCGM_FI_PROF_GR_ENGINE_ACTIVE{namespace!="", GPU_I_PROFILE!=""}[1h])'
            )
            + f") / {sph}"
        ),
        "fb_peak": (
            "max by (namespace, workload, gpu_product) ("
            + _by_workload('max_over_time(DCGM_FI_DEV_FB_USED{namespace!=""}[1h])')
            + ")"
        ),
        # GPUs and MIG instances no pod holds: idle capacity
        "unallocated": (
            "sum by (GPU_I_PROFILE, modelName) ("
            'count_over_time(DCGM_FI_DEV_GPU_UTIL{namespace=""}[1h]) or '
            'count_over_time(DCGM_FI_PROF_GR_ENGINE_ACTIVE{namespace="", GPU_I_PROFILE!=""}[1h])'
            f") / {sph}"
        ),
    }
    # training runs: Jobs created during the hour, by the workload label on the Job
    queries["runs"] = (
        "count by (namespace, workload) (label_replace("
        "(last_over_time(kube_job_created[1h]) > (time() - 3600)) "
        f"* on (namespace, job_name) group_left ({WORKLOAD_POD_LABEL}) "
        f"max by (namespace, job_name, {WORKLOAD_POD_LABEL}) (max_over_time(kube_job_labels[1h])), "
        f'"workload", "$1", "{WORKLOAD_POD_LABEL}", "(.+)"))'
    )
    if inference_counters:
        names = "|".join(re.escape(name) for name in inference_counters)
        queries["requests"] = (
            "sum by (namespace, workload) ("
            + _by_workload(f'increase({{__name__=~"{names}", namespace!=""}}[1h])')
            + ")"
        )
    return queries


def sanitize_resource(name: str) -> str:
    """kube-state-metrics' spelling: nvidia.com/mig-1g.10gb -> nvidia_com_mig_1g_10gb."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def mig_resource(gpu_i_profile: str) -> str:
    return f"{MIG_RESOURCE_PREFIX}{gpu_i_profile}"


@dataclass(frozen=True)
class Terms:
    """How a (resource, GPU product) is priced: its profile, GPU model and exact fraction."""

    profile_id: int | None
    gpu_model: str
    fraction: Decimal | None  # None: no profile for this product (unpriced)

    @property
    def gpu_share(self) -> float:
        """GPU-hours per unit-hour; 1 when unpriced (the flag says the number is a guess)."""
        return float(self.fraction) if self.fraction is not None else 1.0


UNPRICED = Terms(None, "", None)


@dataclass
class HourRow:
    namespace: str
    workload: str
    resource_name: str
    hour: datetime
    gpu_product: str = ""
    units: float = 0.0
    used_units: float = 0.0
    fb_peak_mib: float = 0.0
    requests: float = 0.0
    runs: float = 0.0
    terms: Terms = UNPRICED
    burst_units: float = 0.0  # of `units`, above the namespace's guaranteed quota

    @property
    def gpu_hours(self) -> float:
        return self.units * self.terms.gpu_share

    @property
    def used_gpu_hours(self) -> float:
        return self.used_units * self.terms.gpu_share


class Catalog(Protocol):
    def product(self, resource_name: str, reported: str) -> str:
        """The product a unit of `resource_name` on `reported` ("" = unknown) is counted as."""

    def terms(self, resource_name: str, product: str) -> Terms: ...


def split_burst(rows: list[HourRow], guaranteed: dict[tuple[str, int], float]) -> None:
    """Mark the unit-hours of each (namespace, profile, hour) above the namespace's guaranteed
    units of that profile as burst (borrowed), shared among its rows pro rata to their units.
    Capacity no tenant holds and usage with no profile have no quota: no burst."""
    groups: dict[tuple, list[HourRow]] = defaultdict(list)
    for r in rows:
        if r.namespace and r.terms.profile_id is not None:
            groups[(r.namespace, r.terms.profile_id, r.hour)].append(r)
    for (namespace, profile_id, _hour), members in groups.items():
        total = sum(r.units for r in members)
        above = total - guaranteed.get((namespace, profile_id), 0.0)
        for r in members:
            r.burst_units = above * r.units / total if above > 0 and total else 0.0


def _hours(series) -> list[tuple[datetime, float]]:
    return [(datetime.fromtimestamp(ts - 3600, tz=UTC), value) for ts, value in series.points]


def covered_hours(answers: dict[str, list]) -> set[datetime]:
    """Hours for which Prometheus returned any sample at all (the retention guard)."""
    return {hour for series in answers.values() for s in series for hour, _ in _hours(s)}


def rollup_rows(
    answers: dict[str, list],
    *,
    resource_names: dict[str, str],
    catalog: Catalog,
    first_hour: datetime,
    end_hour: datetime,
) -> list[HourRow]:
    """Merge the answers of one pull window into one row per (namespace, workload, resource,
    GPU product, hour), for hours in [first_hour, end_hour) only.

    `resource_names` maps kube-state-metrics resource spellings to real names; `catalog`
    resolves the product a series ran on and how a (resource, product) is priced.
    """
    rows: dict[tuple, HourRow] = {}

    def row(ns: str, wl: str, res: str, product: str, hour: datetime) -> HourRow:
        key = (ns, wl, res, product, hour)
        if key not in rows:
            rows[key] = HourRow(ns, wl, res, hour, product, terms=catalog.terms(res, product))
        return rows[key]

    def in_window(hour: datetime) -> bool:
        return first_hour <= hour < end_hour

    def product_of(s, res: str, label: str = "gpu_product") -> str:
        return catalog.product(res, normalize_product(s.label(label)))

    for s in answers.get("allocated", []):
        res = resource_names.get(s.label("resource"), s.label("resource"))
        product = product_of(s, res)
        for hour, value in _hours(s):
            if in_window(hour) and value > 0:
                row(s.label("namespace"), s.label("workload"), res, product, hour).units += value

    for s in answers.get("unallocated", []):
        profile = s.label("GPU_I_PROFILE")
        res = mig_resource(profile) if profile else WHOLE_GPU_RESOURCE
        product = product_of(s, res, "modelName")
        for hour, value in _hours(s):
            if in_window(hour) and value > 0:
                row("", "", res, product, hour).units += value

    # Index allocated rows by (namespace, workload, hour) to attribute utilization and FB.
    by_owner: dict[tuple, list[HourRow]] = defaultdict(list)
    for r in rows.values():
        if r.namespace:
            by_owner[(r.namespace, r.workload, r.hour)].append(r)

    def owners(s, hour: datetime, *, mig: str | None) -> list[HourRow]:
        """The rows a DCGM series is about: same owner and partition, and the same product
        when one of them has it (else all of them: the product was not known for the pod)."""
        candidates = [
            r
            for r in by_owner.get((s.label("namespace"), s.label("workload"), hour), [])
            if (r.resource_name == mig_resource(mig) if mig else not r.resource_name.startswith(
                MIG_RESOURCE_PREFIX))
        ]  # fmt: skip
        product = normalize_product(s.label("gpu_product"))
        same = [r for r in candidates if r.gpu_product == product]
        return same or candidates

    for name in ("used_mig", "used_gpu"):
        for s in answers.get(name, []):
            mig = s.label("GPU_I_PROFILE") if name == "used_mig" else None
            for hour, value in _hours(s):
                if not in_window(hour):
                    continue
                targets = owners(s, hour, mig=mig)
                total = sum(r.units for r in targets)
                for r in targets:
                    r.used_units += value * r.units / total if total else 0.0

    for r in rows.values():
        r.used_units = min(r.used_units, r.units)

    for s in answers.get("fb_peak", []):
        for hour, value in _hours(s):
            for r in by_owner.get((s.label("namespace"), s.label("workload"), hour), []):
                r.fb_peak_mib = max(r.fb_peak_mib, value)

    # counts go to the (namespace, workload)'s largest row of the hour, so sums stay exact
    for name in ("requests", "runs"):
        for s in answers.get(name, []):
            for hour, value in _hours(s):
                owners_ = by_owner.get((s.label("namespace"), s.label("workload"), hour), [])
                if owners_ and in_window(hour):
                    owner = max(
                        owners_, key=lambda r: (r.gpu_hours, r.resource_name, r.gpu_product)
                    )
                    setattr(owner, name, getattr(owner, name) + value)

    return sorted(
        rows.values(),
        key=lambda r: (r.hour, r.namespace, r.workload, r.resource_name, r.gpu_product),
    )
