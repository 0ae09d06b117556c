"""The Prometheus HTTP client: the only code that talks to a cluster's Prometheus.

Callers get typed results (`Series`) and two error classes: `PrometheusTransientError` (retry
later: connection refused, timeouts, 5xx, 429) and `PrometheusPermanentError` (fix something:
bad query, 4xx, unparseable answer). Transient failures are retried here with backoff and jitter.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import requests

from .backoff import full_jitter


class PrometheusError(Exception):
    """Base class; never raised as such."""


class PrometheusTransientError(PrometheusError):
    """Prometheus is down, slow or overloaded: the same request may succeed later."""


class PrometheusPermanentError(PrometheusError):
    """Prometheus refused the request itself (bad PromQL, auth, 4xx): retrying will not help."""


@dataclass(frozen=True)
class Series:
    """One result series of a range query: its labels and (unix seconds, value) points."""

    labels: dict[str, str] = field(hash=False)
    points: tuple[tuple[float, float], ...]

    def label(self, name: str) -> str:
        return self.labels.get(name, "")


@dataclass
class PrometheusClient:
    base_url: str
    token: str = ""
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.5
    session: requests.Session | None = None
    sleep: Callable[[float], None] = time.sleep
    queries_sent: int = 0

    @classmethod
    def for_cluster(cls, cluster, **kwargs) -> "PrometheusClient":
        """A client for a `clusters.Cluster` row: its URL and decrypted bearer token."""
        if not cluster.prometheus_url:
            raise PrometheusPermanentError(
                f"cluster {cluster.name} has no Prometheus URL: set one on the cluster page"
            )
        return cls(base_url=cluster.prometheus_url, token=cluster.prometheus_token or "", **kwargs)

    def query_range(
        self, promql: str, *, start: datetime, end: datetime, step: int
    ) -> list[Series]:
        """`/api/v1/query_range`; start and end are inclusive evaluation timestamps."""
        data = self._get(
            "/api/v1/query_range",
            {
                "query": promql,
                "start": f"{start.timestamp():.3f}",
                "end": f"{end.timestamp():.3f}",
                "step": str(step),
            },
        )
        if data.get("resultType") != "matrix":
            raise PrometheusPermanentError(f"expected a matrix, got {data.get('resultType')!r}")
        return [_series(item, "values") for item in data.get("result", [])]

    def query(self, promql: str, *, at: datetime) -> list[Series]:
        """`/api/v1/query` (instant vector) evaluated at `at`."""
        data = self._get("/api/v1/query", {"query": promql, "time": f"{at.timestamp():.3f}"})
        if data.get("resultType") != "vector":
            raise PrometheusPermanentError(f"expected a vector, got {data.get('resultType')!r}")
        return [
            Series(labels=item.get("metric", {}), points=(_point(item["value"]),))
            for item in data.get("result", [])
        ]

    def _get(self, path: str, params: dict) -> dict:
        attempt = 0
        while True:
            try:
                return self._get_once(path, params)
            except PrometheusTransientError:
                attempt += 1
                if attempt > self.retries:
                    raise
                self.sleep(full_jitter(attempt - 1, base=self.backoff, cap=30.0))

    @property
    def where(self) -> str:
        """The URL for messages: without any user:password@ part, which is a credential."""
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    def _get_once(self, path: str, params: dict) -> dict:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        session = self.session or requests
        self.queries_sent += 1
        try:
            response = session.get(
                self.base_url.rstrip("/") + path,
                params=params,
                headers=headers,
                timeout=self.timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise PrometheusTransientError(
                f"Prometheus at {self.where} unreachable or too slow ({type(exc).__name__})"
            ) from exc
        except requests.RequestException as exc:
            raise PrometheusPermanentError(
                f"request to {self.where} failed ({type(exc).__name__})"
            ) from exc

        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        reason = error or response.text[:200]
        if status >= 500 or status == 429:
            raise PrometheusTransientError(f"Prometheus answered {status}: {reason}")
        if status in (401, 403):
            raise PrometheusPermanentError(
                f"Prometheus refused the credentials ({status}): "
                "check the cluster's Prometheus token"
            )
        if status >= 400:
            raise PrometheusPermanentError(f"Prometheus answered {status}: {reason}")
        if not isinstance(body, dict) or body.get("status") != "success":
            raise PrometheusPermanentError(
                f"unexpected answer from Prometheus: {response.text[:200]}"
            )
        return body.get("data") or {}


def _point(pair) -> tuple[float, float]:
    ts, raw = pair
    value = float(raw)
    if math.isnan(value) or math.isinf(value):
        value = 0.0
    return float(ts), value


def _series(item: dict, key: str) -> Series:
    return Series(labels=item.get("metric", {}), points=tuple(_point(p) for p in item.get(key, [])))
