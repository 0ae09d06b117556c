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

WORKLOAD_POD_LABEL = "label_gpu_portal_io_workload"  # kube-state-metrics' name for our label
MIG_RESOURCE_PREFIX = "nvidia.com/mig-"
WHOLE_GPU_RESOURCE = "nvidia.com/gpu"


def _by_workload(inner: str) -> str:
    """Add a `workload` label from the pod's `gpu-portal.io/workload` label (kube_pod_labels);
    series whose pod kube-state-metrics does not know are kept as they are."""
    pod_labels = (
        f"max by (namespace, pod, {WORKLOAD_POD_LABEL}) (max_over_time(kube_pod_labels[1h]))"
    )
    joined = (
        f"label_replace(({inner}) * on (namespace, pod) group_left ({WORKLOAD_POD_LABEL}) "
        f'{pod_labels}, "workload", "$1", "{WORKLOAD_POD_LABEL}", "(.+)")'
    )
    return f"({joined}) or on (namespace, pod) ({inner})"


def build_queries(samples_per_hour: float, inference_counters: list[str]) -> dict[str, str]:
    """The PromQL of one pull, by name. Pure: the same queries for 1 or 10,000 namespaces."""
    sph = f"{samples_per_hour:g}"
    queries = {
        # allocated units per namespace / workload / resource (kube-state-metrics requests)
        "allocated": (
            "sum by (namespace, workload, resource) ("
            + _by_workload(
                'sum_over_time(kube_pod_container_resource_requests{resource=~"nvidia_com_.*"}[1h])'
            )
            + f") / {sph}"
        ),
        # whole GPUs (and time-sliced / MPS shares): DCGM utilization in percent
        "used_gpu": (
            "sum by (namespace, workload) ("
            + _by_workload('sum_over_time(DCGM_FI_DEV_GPU_UTIL{namespace!=""}[1h])')
            + f") / (100 * {sph})"
        ),
        # MIG instances: graphics engine active, a 0-1 ratio of the instance
        "used_mig": (
            "sum by (namespace, workload, GPU_I_PROFILE) ("
            + _by_workload(
                'sum_over_time(DCGM_FI_PROF_GR_ENGINE_ACTIVE{namespace!="", GPU_I_PROFILE!=""}[1h])'
            )
            + f") / {sph}"
        ),
        "fb_peak": (
            "max by (namespace, workload) ("
            + _by_workload('max_over_time(DCGM_FI_DEV_FB_USED{namespace!=""}[1h])')
            + ")"
        ),
        # GPUs and MIG instances no pod holds: idle capacity
        "unallocated": (
            "sum by (GPU_I_PROFILE) ("
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


@dataclass
class HourRow:
    namespace: str
    workload: str
    resource_name: str
    hour: datetime
    units: float = 0.0
    used_units: float = 0.0
    fb_peak_mib: float = 0.0
    requests: float = 0.0
    runs: float = 0.0
    fraction: float = 1.0

    @property
    def gpu_hours(self) -> float:
        return self.units * self.fraction

    @property
    def used_gpu_hours(self) -> float:
        return self.used_units * self.fraction


def _hours(series) -> list[tuple[datetime, float]]:
    return [(datetime.fromtimestamp(ts - 3600, tz=UTC), value) for ts, value in series.points]


def rollup_rows(
    answers: dict[str, list],
    *,
    resource_names: dict[str, str],
    fractions: dict[str, float],
    first_hour: datetime,
    end_hour: datetime,
) -> list[HourRow]:
    """Merge the answers of one pull window into one row per (namespace, workload, resource,
    hour), for hours in [first_hour, end_hour) only.

    `resource_names` maps kube-state-metrics resource spellings to real names;
    `fractions` maps a real resource name to the GPU fraction of one unit (default 1).
    """
    rows: dict[tuple, HourRow] = {}

    def row(ns: str, wl: str, res: str, hour: datetime) -> HourRow:
        key = (ns, wl, res, hour)
        if key not in rows:
            rows[key] = HourRow(ns, wl, res, hour, fraction=fractions.get(res, 1.0))
        return rows[key]

    def in_window(hour: datetime) -> bool:
        return first_hour <= hour < end_hour

    for s in answers.get("allocated", []):
        res = resource_names.get(s.label("resource"), s.label("resource"))
        for hour, value in _hours(s):
            if in_window(hour) and value > 0:
                row(s.label("namespace"), s.label("workload"), res, hour).units += value

    for s in answers.get("unallocated", []):
        profile = s.label("GPU_I_PROFILE")
        res = mig_resource(profile) if profile else WHOLE_GPU_RESOURCE
        for hour, value in _hours(s):
            if in_window(hour) and value > 0:
                row("", "", res, hour).units += value

    # Index allocated rows by (namespace, workload, hour) to attribute utilization and FB.
    by_owner: dict[tuple, list[HourRow]] = defaultdict(list)
    for r in rows.values():
        if r.namespace:
            by_owner[(r.namespace, r.workload, r.hour)].append(r)

    for s in answers.get("used_mig", []):
        res = mig_resource(s.label("GPU_I_PROFILE"))
        for hour, value in _hours(s):
            if in_window(hour):
                target = rows.get((s.label("namespace"), s.label("workload"), res, hour))
                if target is not None:
                    target.used_units += value

    for s in answers.get("used_gpu", []):
        for hour, value in _hours(s):
            if not in_window(hour):
                continue
            owners = [
                r
                for r in by_owner.get((s.label("namespace"), s.label("workload"), hour), [])
                if not r.resource_name.startswith(MIG_RESOURCE_PREFIX)
            ]
            total = sum(r.units for r in owners)
            for r in owners:
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
                owners = by_owner.get((s.label("namespace"), s.label("workload"), hour), [])
                if owners and in_window(hour):
                    owner = max(owners, key=lambda r: (r.gpu_hours, r.resource_name))
                    setattr(owner, name, getattr(owner, name) + value)

    return sorted(rows.values(), key=lambda r: (r.hour, r.namespace, r.workload, r.resource_name))
