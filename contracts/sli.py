"""The SLIs of a serving workload, defined once: the metric names and selectors that both the
generated alert rules (contracts/rules.py) and the SLI pull (contracts/sli_pull.py) use, and the
PromQL built from them. Pure: a workload's namespace and name in, PromQL text out.

Availability: the share of requests not answered with a 5xx code.
Latency: the 0.99 quantile of the request duration histogram.
"""

from workloads.manifests import LATENCY_HISTOGRAM, REQUESTS_METRIC, pod_regex

SERVER_ERROR = 'code=~"5.."'


def selector(namespace: str, workload: str, extra: str = "") -> str:
    """The pods of one workload (its canary included) in one namespace."""
    base = f'namespace="{namespace}",pod=~"{pod_regex(workload)}"'
    return "{" + base + (f",{extra}" if extra else "") + "}"


def requests_rate(namespace: str, workload: str, window: str) -> str:
    return f"sum(rate({REQUESTS_METRIC}{selector(namespace, workload)}[{window}]))"


def errors_rate(namespace: str, workload: str, window: str) -> str:
    return f"sum(rate({REQUESTS_METRIC}{selector(namespace, workload, SERVER_ERROR)}[{window}]))"


def error_ratio(namespace: str, workload: str, window: str) -> str:
    """The error ratio the burn-rate alerts compare with factor x budget."""
    errors = errors_rate(namespace, workload, window)
    return f"({errors} / {requests_rate(namespace, workload, window)})"


def p99_latency_seconds(namespace: str, workload: str, window: str) -> str:
    return (
        f"histogram_quantile(0.99, sum by (le) "
        f"(rate({LATENCY_HISTOGRAM}_bucket{selector(namespace, workload)}[{window}])))"
    )


# --- counts for the daily rollups: the same metrics and selectors, as increases ------------


def requests_increase(namespace: str, workload: str, window: str) -> str:
    return f"sum(increase({REQUESTS_METRIC}{selector(namespace, workload)}[{window}]))"


def errors_increase(namespace: str, workload: str, window: str) -> str:
    return (
        f"sum(increase({REQUESTS_METRIC}{selector(namespace, workload, SERVER_ERROR)}[{window}]))"
    )


def latency_buckets_increase(namespace: str, workload: str, window: str) -> str:
    return (
        f"sum by (le) (increase({LATENCY_HISTOGRAM}_bucket{selector(namespace, workload)}"
        f"[{window}]))"
    )
