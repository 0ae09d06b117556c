"""The Alertmanager HTTP client (API v2): the only code that talks to a cluster's Alertmanager.

Callers get typed results (`FiringAlert`, a silence id) and two error classes, as with
Prometheus: `AlertmanagerTransientError` (retry later: unreachable, timeouts, 5xx, 429) and
`AlertmanagerPermanentError` (fix something: auth, 4xx, an unparseable answer).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import requests

from .backoff import full_jitter


class AlertmanagerError(Exception):
    """Base class; never raised as such."""


class AlertmanagerTransientError(AlertmanagerError):
    """Alertmanager is down, slow or overloaded: the same request may succeed later."""


class AlertmanagerPermanentError(AlertmanagerError):
    """Alertmanager refused the request itself: retrying will not help."""


@dataclass(frozen=True)
class FiringAlert:
    labels: dict[str, str] = field(hash=False)
    annotations: dict[str, str] = field(hash=False)
    starts_at: datetime
    state: str  # active | suppressed | unprocessed
    silenced_by: tuple[str, ...] = ()
    inhibited_by: tuple[str, ...] = ()
    receivers: tuple[str, ...] = ()
    fingerprint: str = ""

    def label(self, name: str) -> str:
        return self.labels.get(name, "")


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[tuple[str, str], ...]  # (name, value), equality matchers
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    state: str


def _parse_time(text: str) -> datetime:
    # Alertmanager writes RFC 3339 with nanoseconds and a Z; fromisoformat wants at most micro
    text = text.replace("Z", "+00:00")
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(c for c in tail if c.isdigit())
        zone = tail[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    return datetime.fromisoformat(text)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


@dataclass
class AlertmanagerClient:
    base_url: str
    token: str = ""
    timeout: float = 10.0
    retries: int = 2
    backoff: float = 0.5
    session: requests.Session | None = None
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def for_cluster(cls, cluster, **kwargs) -> "AlertmanagerClient":
        if not cluster.alertmanager_url:
            raise AlertmanagerPermanentError(
                f"cluster {cluster.name} has no Alertmanager URL: set one on the cluster page"
            )
        return cls(
            base_url=cluster.alertmanager_url, token=cluster.alertmanager_token or "", **kwargs
        )

    @property
    def where(self) -> str:
        """The URL for messages, without any user:password@ part."""
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    def alerts(
        self, matchers: dict[str, str], *, silenced=True, inhibited=True
    ) -> list[FiringAlert]:
        """`GET /api/v2/alerts` filtered by equality matchers (Alertmanager filters them)."""
        params = [("filter", f'{k}="{_quote(v)}"') for k, v in sorted(matchers.items())]
        params += [
            ("active", "true"),
            ("silenced", str(silenced).lower()),
            ("inhibited", str(inhibited).lower()),
        ]
        body = self._request("GET", "/api/v2/alerts", params=params)
        if not isinstance(body, list):
            raise AlertmanagerPermanentError(f"expected a list of alerts from {self.where}")
        try:
            return [
                FiringAlert(
                    labels=item.get("labels") or {},
                    annotations=item.get("annotations") or {},
                    starts_at=_parse_time(item["startsAt"]),
                    state=(item.get("status") or {}).get("state", ""),
                    silenced_by=tuple((item.get("status") or {}).get("silencedBy") or ()),
                    inhibited_by=tuple((item.get("status") or {}).get("inhibitedBy") or ()),
                    receivers=tuple(r.get("name", "") for r in item.get("receivers") or ()),
                    fingerprint=item.get("fingerprint", ""),
                )
                for item in body
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise AlertmanagerPermanentError(
                f"unexpected alert in the answer of {self.where}: {exc}"
            ) from exc

    def create_silence(
        self,
        matchers: dict[str, str],
        *,
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
    ) -> str:
        """`POST /api/v2/silences` with equality matchers; returns the silence id."""
        payload = {
            "matchers": [
                {"name": k, "value": v, "isRegex": False, "isEqual": True}
                for k, v in sorted(matchers.items())
            ],
            "startsAt": starts_at.isoformat(),
            "endsAt": ends_at.isoformat(),
            "createdBy": created_by,
            "comment": comment,
        }
        # not retried: a POST that timed out may have created the silence already
        body = self._request("POST", "/api/v2/silences", json=payload, retry=False)
        if not isinstance(body, dict) or not body.get("silenceID"):
            raise AlertmanagerPermanentError(f"no silence id in the answer of {self.where}")
        return body["silenceID"]

    def silences(self, matchers: dict[str, str]) -> list[Silence]:
        params = [("filter", f'{k}="{_quote(v)}"') for k, v in sorted(matchers.items())]
        body = self._request("GET", "/api/v2/silences", params=params)
        if not isinstance(body, list):
            raise AlertmanagerPermanentError(f"expected a list of silences from {self.where}")
        try:
            return [
                Silence(
                    id=item["id"],
                    matchers=tuple((m["name"], m["value"]) for m in item["matchers"]),
                    starts_at=_parse_time(item["startsAt"]),
                    ends_at=_parse_time(item["endsAt"]),
                    created_by=item.get("createdBy", ""),
                    comment=item.get("comment", ""),
                    state=(item.get("status") or {}).get("state", ""),
                )
                for item in body
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise AlertmanagerPermanentError(
                f"unexpected silence in the answer of {self.where}: {exc}"
            ) from exc

    def _request(self, method: str, path: str, *, retry: bool = True, **kwargs):
        attempt = 0
        while True:
            try:
                return self._request_once(method, path, **kwargs)
            except AlertmanagerTransientError:
                attempt += 1
                if not retry or attempt > self.retries:
                    raise
                self.sleep(full_jitter(attempt - 1, base=self.backoff, cap=30.0))

    def _request_once(self, method: str, path: str, **kwargs):
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        session = self.session or requests
        try:
            response = session.request(
                method,
                self.base_url.rstrip("/") + path,
                headers=headers,
                timeout=self.timeout,
                **kwargs,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise AlertmanagerTransientError(
                f"Alertmanager at {self.where} unreachable or too slow ({type(exc).__name__})"
            ) from exc
        except requests.RequestException as exc:
            raise AlertmanagerPermanentError(
                f"request to {self.where} failed ({type(exc).__name__})"
            ) from exc
        status = response.status_code
        if status >= 500 or status == 429:
            raise AlertmanagerTransientError(
                f"Alertmanager answered {status}: {response.text[:200]}"
            )
        if status in (401, 403):
            raise AlertmanagerPermanentError(
                f"Alertmanager refused the credentials ({status}): "
                "check the cluster's Alertmanager token"
            )
        if status >= 400:
            raise AlertmanagerPermanentError(
                f"Alertmanager answered {status}: {response.text[:200]}"
            )
        try:
            return response.json()
        except ValueError as exc:
            raise AlertmanagerPermanentError(
                f"unexpected answer from Alertmanager: {response.text[:200]}"
            ) from exc
