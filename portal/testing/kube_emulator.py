"""A small stateful Kubernetes API emulator on 127.0.0.1 for tests and benchmarks.

Real HTTP, so the official `kubernetes` client (including `DynamicClient` discovery and
server-side apply) talks to it unmodified. kmock 0.8 was tried first; its gaps (apply of a new
object answers 404, `/api/v1/namespaces` paths fail, lists lack kind, `/version/` is 404, request
history slows every request) made a wrapper larger than this module: see
docs/decisions/0003-sync-engine.md.

Behaviour that is the EMULATOR's, not a real API server's (keep in mind when reading tests):
- server-side apply replaces the object's spec/labels/annotations/data with the applied config
  (correct for a single field manager; a real server merges the fields of other managers);
  no managedFields conflicts, `force` is accepted and ignored; no admission, no defaulting;
- resourceVersion is a global counter bumped only when an object's content changes (as a real
  server does for a no-op apply);
- deleting a namespace removes its objects at once (no Terminating phase, no finalizers);
- label selectors support `k=v`, `k==v`, `k!=v`, `k` and `!k` (no set-based `in`/`notin`);
- no watch, no field selectors, no pagination (`limit`/`continue` ignored).

Test helpers: `fail_next(n, status, path_contains=..., method=...)` makes the next n matching
requests answer `status` with a Kubernetes `Status` body; `stall_next(n, seconds, ...)` delays
them (client timeouts); `writes` counts mutating requests (POST/PUT/PATCH/DELETE) received;
`request_log` keeps (method, path); `put()` / `get()` / `objects()` seed and inspect state.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Kind:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


KINDS = [
    Kind("", "v1", "Namespace", "namespaces", False),
    Kind("", "v1", "Node", "nodes", False),
    Kind("", "v1", "ResourceQuota", "resourcequotas", True),
    Kind("", "v1", "LimitRange", "limitranges", True),
    Kind("", "v1", "ConfigMap", "configmaps", True),
    Kind("", "v1", "Secret", "secrets", True),
    Kind("", "v1", "Service", "services", True),
    Kind("", "v1", "ServiceAccount", "serviceaccounts", True),
    Kind("", "v1", "Pod", "pods", True),
    Kind("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True),
    Kind("apps", "v1", "Deployment", "deployments", True),
    Kind("apps", "v1", "StatefulSet", "statefulsets", True),
    Kind("batch", "v1", "Job", "jobs", True),
    Kind("batch", "v1", "CronJob", "cronjobs", True),
    Kind("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True),
    Kind("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True),
    Kind("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True),
    Kind("rbac.authorization.k8s.io", "v1", "Role", "roles", True),
    Kind("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    Kind("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True),
    Kind(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        False,
    ),
    Kind(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        False,
    ),
    Kind("kueue.x-k8s.io", "v1beta2", "ResourceFlavor", "resourceflavors", False),
    Kind("kueue.x-k8s.io", "v1beta2", "ClusterQueue", "clusterqueues", False),
    Kind("kueue.x-k8s.io", "v1beta2", "LocalQueue", "localqueues", True),
    Kind("kueue.x-k8s.io", "v1beta2", "Cohort", "cohorts", False),
    Kind("monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules", True),
    Kind("monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors", True),
    Kind("keda.sh", "v1alpha1", "ScaledObject", "scaledobjects", True),
]
VERBS = ["create", "delete", "get", "list", "patch", "update"]
# Fields a write may never set: the server owns them.
SERVER_META = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation")


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


def status_body(code: int, reason: str, message: str) -> dict:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
}


def _selector_matches(selector: str, labels: dict) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k.strip()) == v.strip():
                return False
        elif "=" in term:
            k, v = term.replace("==", "=").split("=", 1)
            if labels.get(k.strip()) != v.strip():
                return False
        elif term.startswith("!"):
            if term[1:].strip() in labels:
                return False
        elif term not in labels:
            return False
    return True


@dataclass
class _Fault:
    remaining: int
    status: int
    message: str
    path_contains: str | None
    method: str | None
    delay: float = 0.0


class KubeEmulator:
    """In-memory API server state plus the HTTP server that serves it. Start with `start()`."""

    def __init__(self, *, version: str = "1.31", token: str | None = None):
        self.minor = version.split(".")[1]
        self.token = token
        self.kinds = list(KINDS)
        self._store: dict[tuple[str, str, str, str], dict] = {}  # (apiVersion, kind, ns, name)
        self._lock = threading.RLock()
        self._rv = itertools.count(1000)
        self._faults: list[_Fault] = []
        self.writes = 0
        self.requests = 0
        self.request_log: deque[tuple[str, str]] = deque(maxlen=10_000)  # (method, path)
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> KubeEmulator:
        emulator = self

        class Handler(_Handler):
            pass

        Handler.emulator = emulator
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        assert self.server is not None, "start() the emulator first"
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    # --- test helpers ----------------------------------------------------------------------
    def fail_next(
        self,
        n: int,
        status: int,
        *,
        message: str | None = None,
        path_contains: str | None = None,
        method: str | None = None,
    ) -> None:
        """The next `n` requests matching path/method answer `status` with a Status body."""
        with self._lock:
            self._faults.append(
                _Fault(
                    n,
                    status,
                    message or f"injected {status} by the test",
                    path_contains,
                    method.upper() if method else None,
                )
            )

    def stall_next(
        self, n: int, seconds: float, *, path_contains: str | None = None, method: str | None = None
    ) -> None:
        """The next `n` matching requests are answered normally, but only after `seconds`
        (a client with a shorter timeout sees a timeout; the write still happens, as on a real
        server that was merely slow)."""
        with self._lock:
            self._faults.append(
                _Fault(n, 0, "", path_contains, method.upper() if method else None, seconds)
            )

    def put(self, obj: dict) -> dict:
        """Store an object as if created by someone else (e.g. nodes)."""
        kind = self._kind_for(obj["apiVersion"], obj["kind"])
        meta = obj.setdefault("metadata", {})
        ns = meta.get("namespace", "") if kind.namespaced else ""
        with self._lock:
            return self._write(kind, ns, meta["name"], obj, manager="test")[0]

    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> dict | None:
        with self._lock:
            obj = self._store.get((api_version, kind, namespace, name))
            return copy.deepcopy(obj) if obj else None

    def objects(self, kind: str | None = None, namespace: str | None = None) -> list[dict]:
        with self._lock:
            return [
                copy.deepcopy(o)
                for (_, k, ns, _), o in sorted(self._store.items())
                if (kind is None or k == kind) and (namespace is None or ns == namespace)
            ]

    # --- the API ---------------------------------------------------------------------------
    def _kind_for(self, api_version: str, kind: str) -> Kind:
        for k in self.kinds:
            if k.api_version == api_version and k.kind == kind:
                return k
        raise ApiError(404, "NotFound", f"the server could not find the kind {api_version} {kind}")

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining <= 0:
                    continue
                if fault.method and fault.method != method:
                    continue
                if fault.path_contains and fault.path_contains not in path:
                    continue
                fault.remaining -= 1
                return fault
        return None

    def discovery(self, path: str):
        if path in ("/version", "/version/"):
            return {
                "major": "1",
                "minor": self.minor,
                "gitVersion": f"v1.{self.minor}.0",
                "gitCommit": "emulated",
                "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z",
                "goVersion": "go1.23",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if path == "/apis":
            groups: dict[str, list[str]] = {}
            for k in self.kinds:
                if k.group and k.version not in groups.setdefault(k.group, []):
                    groups[k.group].append(k.version)
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [
                    {
                        "name": g,
                        "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                        "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]},
                    }
                    for g, vs in groups.items()
                ],
            }
        parts = path.strip("/").split("/")
        if (parts[0] == "api" and len(parts) == 2) or (parts[0] == "apis" and len(parts) == 3):
            group = "" if parts[0] == "api" else parts[1]
            version = parts[-1]
            return {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version,
                "resources": [
                    {
                        "name": k.plural,
                        "singularName": k.kind.lower(),
                        "namespaced": k.namespaced,
                        "kind": k.kind,
                        "verbs": VERBS,
                    }
                    for k in self.kinds
                    if k.group == group and k.version == version
                ],
            }
        return None

    def route(self, path: str) -> tuple[Kind, str, str | None]:
        """Path -> (kind, namespace, name). Namespace '' = cluster scope or all namespaces."""
        parts = path.strip("/").split("/")
        if parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(
                404, "NotFound", f"the server could not find the requested resource {path}"
            )
        namespace = ""
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 2:
            raise ApiError(
                404, "NotFound", f"the server could not find the requested resource {path}"
            )
        plural, name = rest[0], (rest[1] if len(rest) == 2 else None)
        for k in self.kinds:
            if k.group == group and k.version == version and k.plural == plural:
                return k, namespace, name
        raise ApiError(404, "NotFound", f"the server could not find the requested resource {path}")

    def handle(self, method: str, path: str, query: dict, body: dict | None, ctype: str):
        kind, ns, name = self.route(path)
        with self._lock:
            if method == "GET":
                if name:
                    return 200, self._get_or_404(kind, ns, name)
                selector = query.get("labelSelector", [""])[0]
                items = [
                    copy.deepcopy(o)
                    for (av, k, ons, _), o in sorted(self._store.items())
                    if av == kind.api_version
                    and k == kind.kind
                    and (not ns or ons == ns)
                    and _selector_matches(selector, o["metadata"].get("labels") or {})
                ]
                return 200, {
                    "kind": kind.kind + "List",
                    "apiVersion": kind.api_version,
                    "metadata": {"resourceVersion": str(next(self._rv))},
                    "items": items,
                }
            self.writes += 1
            if method == "DELETE":
                if not name:
                    raise ApiError(405, "MethodNotAllowed", "collection delete is not emulated")
                obj = self._get_or_404(kind, ns, name)
                del self._store[(kind.api_version, kind.kind, ns, name)]
                if kind.kind == "Namespace":
                    for key in [key for key in self._store if key[2] == name]:
                        del self._store[key]
                return 200, obj
            if body is None or not isinstance(body, dict):
                raise ApiError(400, "BadRequest", "the request body is not a JSON object")
            manager = query.get("fieldManager", [""])[0]
            if method == "POST":
                name = (body.get("metadata") or {}).get("name")
                if not name:
                    raise ApiError(422, "Invalid", "metadata.name: Required value")
                if (kind.api_version, kind.kind, ns, name) in self._store:
                    raise ApiError(409, "AlreadyExists", f'{kind.plural} "{name}" already exists')
                return 201, self._write(kind, ns, name, body, manager)[0]
            if method == "PUT":
                self._get_or_404(kind, ns, name)
                return 200, self._write(kind, ns, name, body, manager)[0]
            if method == "PATCH":
                if "apply-patch" in ctype:
                    if not manager:
                        raise ApiError(
                            400, "BadRequest", "PatchOptions.meta.k8s.io: fieldManager: Required"
                        )
                    obj, created = self._write(kind, ns, name, body, manager)
                    return (201 if created else 200), obj
                current = self._get_or_404(kind, ns, name)
                merged = _merge(current, body)
                return 200, self._write(kind, ns, name, merged, manager)[0]
        raise ApiError(405, "MethodNotAllowed", f"{method} is not emulated")

    def _get_or_404(self, kind: Kind, ns: str, name: str) -> dict:
        obj = self._store.get((kind.api_version, kind.kind, ns, name))
        if obj is None:
            raise ApiError(404, "NotFound", f'{kind.plural} "{name}" not found')
        return copy.deepcopy(obj)

    def _write(self, kind: Kind, ns: str, name: str, body: dict, manager: str):
        """Create or replace an object; bumps resourceVersion only if the content changed."""
        body = copy.deepcopy(body)
        meta = body.setdefault("metadata", {})
        if body.get("kind", kind.kind) != kind.kind:
            raise ApiError(400, "BadRequest", f"kind {body.get('kind')} does not match the path")
        if meta.get("name", name) != name:
            raise ApiError(400, "BadRequest", "metadata.name does not match the path")
        if kind.namespaced:
            if not ns:
                raise ApiError(404, "NotFound", "the namespace of the object is not given")
            if ("v1", "Namespace", "", ns) not in self._store:
                raise ApiError(404, "NotFound", f'namespaces "{ns}" not found')
            meta["namespace"] = ns
        for field in SERVER_META:
            meta.pop(field, None)
        body["apiVersion"], body["kind"], meta["name"] = kind.api_version, kind.kind, name
        key = (kind.api_version, kind.kind, ns, name)
        old = self._store.get(key)
        if old is not None:
            old_content = {k: v for k, v in old.items() if k not in ("metadata", "status")}
            new_content = {k: v for k, v in body.items() if k not in ("metadata", "status")}
            old_meta = {k: v for k, v in old["metadata"].items() if k not in SERVER_META}
            if old_content == new_content and old_meta == meta:
                return copy.deepcopy(old), False
            for field in ("uid", "creationTimestamp"):
                meta[field] = old["metadata"][field]
            if "status" in old and "status" not in body:
                body["status"] = old["status"]
        else:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        meta["resourceVersion"] = str(next(self._rv))
        meta["managedFields"] = [{"manager": manager or "unknown", "operation": "Apply"}]
        self._store[key] = body
        return copy.deepcopy(body), old is None


def _merge(current: dict, patch: dict) -> dict:
    """JSON merge patch (RFC 7386)."""
    result = copy.deepcopy(current)
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        elif isinstance(v, dict) and isinstance(result.get(k), dict):
            result[k] = _merge(result[k], v)
        else:
            result[k] = copy.deepcopy(v)
    return result


class _Handler(BaseHTTPRequestHandler):
    emulator: KubeEmulator
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: avoid 40 ms ACK delays

    def log_message(self, format, *args):  # noqa: A002 - silence per-request logging
        pass

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self) -> None:
        em = self.emulator
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        em.requests += 1
        em.request_log.append((self.command, path))
        if em.token and self.headers.get("Authorization") != f"Bearer {em.token}":
            return self._send(401, status_body(401, "Unauthorized", "Unauthorized"))
        fault = em._take_fault(self.command, path)
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.status:
            if self.command != "GET":
                em.writes += 1
            reason = REASONS.get(fault.status, "InternalError")
            return self._send(fault.status, status_body(fault.status, reason, fault.message))
        if self.command == "GET":
            found = em.discovery(path)
            if found is not None:
                return self._send(200, found)
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                import yaml

                try:
                    body = yaml.safe_load(raw)
                except yaml.YAMLError:
                    return self._send(400, status_body(400, "BadRequest", "invalid body"))
        try:
            code, obj = em.handle(
                self.command, path, query, body, self.headers.get("Content-Type", "")
            )
        except ApiError as exc:
            return self._send(exc.code, status_body(exc.code, exc.reason, exc.message))
        return self._send(code, obj)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch
