"""The portal's own Prometheus metrics (served at /metrics by portal/ops_views.py).

- Request latency is a histogram observed by RequestLatencyMiddleware in each web process. Under
  gunicorn with several workers, set PROMETHEUS_MULTIPROC_DIR (an empty directory per pod) and
  each worker writes its samples there; a scrape sums them (prometheus_client multiprocess mode).
- Everything read from PostgreSQL or Redis (sync lag, sync runs, usage pull lag, queue depth) is
  computed at scrape time by PortalStateCollector, so it is the same whichever worker answers.
"""

from __future__ import annotations

import logging
import os
import time

from django.conf import settings
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger(__name__)

PREFIX = "gpu_portal"
REQUEST_LATENCY = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "Time to answer an HTTP request, by view (URL name), method and status code.",
    ["view", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
# kombu's Redis transport keeps a queue's messages in one list per priority step
# (the plain name for the default priority, then name + "\x06\x16" + step).
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)


def view_label(request) -> str:
    """The URL name ("tenants:detail"): bounded, unlike paths with slugs and ids in them."""
    if getattr(request, "ops_endpoint", None):
        return request.ops_endpoint
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match._func_path


class RequestLatencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        REQUEST_LATENCY.labels(
            view=view_label(request), method=request.method, status=str(response.status_code)
        ).observe(time.perf_counter() - started)
        return response


def celery_queue_lengths(redis_client, queues: list[str]) -> dict[str, int]:
    """Messages waiting in each Celery queue (LLEN over its priority lists)."""
    pipe = redis_client.pipeline()
    for queue in queues:
        pipe.llen(queue)
        for step in _PRIORITY_STEPS:
            pipe.llen(f"{queue}{_PRIORITY_SEPARATOR}{step}")
    lengths = pipe.execute()
    per_queue = len(_PRIORITY_STEPS) + 1
    return {
        queue: sum(lengths[i * per_queue : (i + 1) * per_queue]) for i, queue in enumerate(queues)
    }


class PortalStateCollector:
    """Gauges and counters read from PostgreSQL and Redis when Prometheus scrapes."""

    def collect(self):
        yield from self._database_metrics()
        yield from self._broker_metrics()

    def _database_metrics(self):
        from . import selectors

        up = GaugeMetricFamily(
            f"{PREFIX}_database_up", "1 when the scrape could read the portal's database."
        )
        try:
            lag = selectors.sync_lag()
            runs = selectors.sync_run_counts()
            pulls = selectors.usage_pull_lags()
        except Exception as exc:  # noqa: BLE001 - a scrape reports what it can, never a 500
            log.warning("metrics: database unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        now = timezone.now()

        pending = GaugeMetricFamily(
            f"{PREFIX}_tenants_sync_pending",
            "Tenants whose applied generation lags their desired generation (the sync outbox).",
        )
        pending.add_metric([], lag.pending)
        yield pending
        oldest = GaugeMetricFamily(
            f"{PREFIX}_tenant_sync_lag_oldest_seconds",
            "Age of the oldest change not yet applied to a cluster (0 when all are in sync).",
        )
        oldest.add_metric([], lag.oldest_seconds(now))
        yield oldest

        sync_runs = CounterMetricFamily(
            f"{PREFIX}_sync_runs",
            "Finished sync runs by cluster and result (succeeded, noop, retrying, failed, ...).",
            labels=["cluster", "result"],
        )
        for cluster, result, count in runs:
            sync_runs.add_metric([cluster, result], count)
        yield sync_runs

        pull_lag = GaugeMetricFamily(
            f"{PREFIX}_usage_pull_lag_seconds",
            "Time since the end of the last hour of GPU usage stored for a cluster.",
            labels=["cluster"],
        )
        failures = GaugeMetricFamily(
            f"{PREFIX}_usage_pull_consecutive_failures",
            "Usage pulls of a cluster that failed in a row.",
            labels=["cluster"],
        )
        for pull in pulls:
            pull_lag.add_metric([pull.cluster], pull.lag_seconds(now))
            failures.add_metric([pull.cluster], pull.consecutive_failures)
        yield pull_lag
        yield failures

    def _broker_metrics(self):
        import redis

        up = GaugeMetricFamily(f"{PREFIX}_broker_up", "1 when the scrape could reach Redis.")
        timeout = settings.PORTAL_READINESS_TIMEOUT_SECONDS
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout
        )
        try:
            lengths = celery_queue_lengths(client, [settings.CELERY_TASK_DEFAULT_QUEUE])
        except redis.RedisError as exc:
            log.warning("metrics: Redis unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        finally:
            client.close()
        up.add_metric([], 1)
        yield up
        depth = GaugeMetricFamily(
            f"{PREFIX}_celery_queue_length",
            "Celery messages waiting in a queue (Redis LLEN).",
            labels=["queue"],
        )
        for queue, length in lengths.items():
            depth.add_metric([queue], length)
        yield depth


def exposition() -> tuple[bytes, str]:
    """The text a scrape gets: this process's (or all workers') request metrics, then the
    state read from PostgreSQL and Redis. Served as text format 0.0.4, which every Prometheus
    2.x and 3.x reads (our names need none of 1.0.0's UTF-8 escaping)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        process_registry = CollectorRegistry()
        MultiProcessCollector(process_registry)
    else:
        process_registry = REGISTRY
    state_registry = CollectorRegistry(auto_describe=False)
    state_registry.register(PortalStateCollector())
    body = generate_latest(process_registry) + generate_latest(state_registry)
    return body, CONTENT_TYPE_PLAIN_0_0_4
