"""An interface document filled like the design doc's example, as plain content."""

import copy

DESIGN_DOC_EXAMPLE = {
    "workload": "ranker",
    "tenant": "search",
    "template": "inference",
    "ownership": {
        "owner_team": "search-ml",
        "platform_contact": "gpu-platform",
        "sre_contact": "sre-core",
    },
    "model": {
        "model_name": "ranker-v4 (cross-encoder | distilled)",
        "model_artifact": "s3://models/ranker/4.2@sha256:" + "b2" * 32,
        "accuracy_metric": "model_accuracy_drift_ratio",
        "accuracy_drift_pct": "5",
    },
    "slos": {"p99_latency_ms": 250, "availability_pct": "99.9", "max_cold_start_s": 120},
    "resources": {
        "gpu_profile": "h100-80gb-mig-1g-10gb",
        "gpus_per_replica": 1,
        "min_replicas": 2,
        "max_replicas": 8,
        "model_memory_gb": 9,
    },
    "alerts": [
        {"signal": "accuracy-drift", "threshold": "5%", "window": "1h", "paged_team": "search-ml"},
        {"signal": "gpu-memory", "threshold": "95%", "window": "5m", "paged_team": "gpu-platform"},
        {"signal": "latency", "threshold": "", "window": "5m", "paged_team": "sre-core"},
    ],
    "rollback": {
        "automated_trigger": "error budget burn 14.4x over 1h and 5m",
        "manual_owner": "search-ml",
    },
}


def example_content() -> dict:
    return copy.deepcopy(DESIGN_DOC_EXAMPLE)
