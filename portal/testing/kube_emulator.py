"""A small stateful Kubernetes API emulator on 127.0.0.1 for tests and benchmarks (selectors and
field ownership as pure functions in kube_semantics.py).

Real HTTP, so the official `kubernetes` client (including `DynamicClient` discovery and
server-side apply) talks to it unmodified. kmock 0.8 was tried first; its gaps (apply of a new
object answers 404, `/api/v1/namespaces` paths fail, lists lack kind, `/version/` is 404, request
history slows every request) made a wrapper larger than this module: see
docs/decisions/0003-sync-engine.md.

What it models, because the portal's safety rules depend on it (each has its own test in
portal/tests/test_kube_emulator.py):
- managedFields per field manager: server-side apply records the fields an applier sent
  (operation Apply), other writes record the fields they changed (operation Update, manager from
  `fieldManager` or the client's User-Agent). An apply that would change a field another manager
  owns answers 409 with a `Status` whose `details.causes` name each field and manager
  (`FieldManagerConflict`), unless `force=true`, which moves those fields to the applier. Fields
  an applier owned alone and no longer sends are removed from the object;
- `ownerReferences` and garbage collection: deleting an owner deletes the dependents whose owners
  are all gone (`propagationPolicy` Background), first (Foreground: the owner is answered with
  `deletionTimestamp` and the `foregroundDeletion` finalizer) or not at all (Orphan: the
  references are removed). Without a policy, batch/v1 Jobs and CronJobs orphan (as the real
  server's legacy default does) and everything else is Background;
- `metadata.finalizers`: a deleted object that has some keeps a `deletionTimestamp` until an
  update removes the last one; a deleted namespace is `Terminating` (status.phase, a
  `NamespaceFinalizersRemaining` condition naming what holds it), refuses new content with 403,
  and disappears once its content and finalizers are gone;
- label selectors with `=`, `==`, `!=`, `k`, `!k`, `k in (a,b)` and `k notin (a,b)`;
- `resourceVersion` preconditions: a write carrying a stale resourceVersion answers 409 Conflict;
- SelfSubjectAccessReview and SelfSubjectRulesReview against `rules` (None allows everything).

Where it still differs from a real API server (keep in mind when reading tests):
- field ownership treats every list as atomic (a real server merges lists of maps by key, e.g.
  containers by name), and a conflict needs the very same field path (a real server also
  conflicts on a parent/child overlap); no admission, no defaulting, no validation of specs;
- garbage collection, foreground deletion and namespace cleanup happen synchronously inside the
  DELETE request (a real server does them asynchronously, seconds later);
- resourceVersion is a global counter bumped only when an object's content changes (as a real
  server does for a no-op apply);
- no watch, no field selectors, no pagination (`limit`/`continue` ignored), no status
  subresources (a write may set `status`), no collection deletes.

Test helpers: `fail_next(n, status, path_contains=..., method=...)` makes the next n matching
requests answer `status` with a Kubernetes `Status` body; `stall_next(n, seconds, ...)` delays
them (client timeouts); `writes` counts mutating requests (POST/PUT/PATCH/DELETE) received;
`request_log` keeps (method, path); `delete_policies` the propagationPolicy of each DELETE;
`put(obj, manager=...)` / `apply(obj, manager=...)` / `get()` / `objects()` seed and inspect state;
`remove_finalizers()` plays the controller that finishes a finalizer.
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

from .kube_semantics import (
    SERVER_META,
    apply_merge,
    delete_path,
    field_paths,
    field_text,
    fields_v1,
    get_path,
    ownership,
    selector_matches,
    user_agent_manager,
)

VERBS = ["create", "delete", "get", "list", "patch", "update"]


@dataclass(frozen=True)
class Kind:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: tuple[str, ...] = tuple(VERBS)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


REVIEWS = ("SelfSubjectAccessReview", "SelfSubjectRulesReview")
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
    Kind("apps", "v1", "ReplicaSet", "replicasets", True),
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
    Kind(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        False,
        ("create",),
    ),
    Kind(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        False,
        ("create",),
    ),
]


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details


def status_body(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


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


@dataclass
class _Fault:
    remaining: int
    status: int
    message: str
    path_contains: str | None
    method: str | None
    delay: float = 0.0


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
        self.delete_policies: list[str | None] = []  # propagationPolicy of each DELETE received
        # What the caller may do, as RBAC PolicyRules ({apiGroups, resources, verbs}); None
        # allows everything. Served by SelfSubjectAccessReview / SelfSubjectRulesReview only:
        # other requests are not authorised against it.
        self.rules: list[dict] | None = None
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

    def put(self, obj: dict, *, manager: str = "test") -> dict:
        """Store an object as if created or updated by someone else (kubectl, a controller)."""
        kind = self._kind_for(obj["apiVersion"], obj["kind"])
        meta = obj.setdefault("metadata", {})
        ns = meta.get("namespace", "") if kind.namespaced else ""
        with self._lock:
            return self._write(kind, ns, meta["name"], obj, manager)[0]

    def apply(self, obj: dict, *, manager: str, force: bool = False) -> dict:
        """A server-side apply by another field manager (e.g. kubectl apply --server-side)."""
        kind = self._kind_for(obj["apiVersion"], obj["kind"])
        ns = obj["metadata"].get("namespace", "") if kind.namespaced else ""
        with self._lock:
            return self._write(kind, ns, obj["metadata"]["name"], obj, manager, apply=True,
                               force=force)[0]  # fmt: skip

    def remove_finalizers(self, api_version: str, kind: str, name: str, namespace: str = ""):
        """What the controller owning a finalizer does once it has cleaned up."""
        with self._lock:
            obj = self._store[(api_version, kind, namespace, name)]
            obj["metadata"].pop("finalizers", None)
            if kind == "Namespace":
                obj.get("spec", {}).pop("finalizers", None)
            self._finish_deletion((api_version, kind, namespace, name))

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
                        "verbs": list(k.verbs),
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

    def handle(
        self,
        method: str,
        path: str,
        query: dict,
        body: dict | None,
        ctype: str,
        user_agent: str = "",
    ):
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
                    and selector_matches(selector, o["metadata"].get("labels") or {})
                ]
                return 200, {
                    "kind": kind.kind + "List",
                    "apiVersion": kind.api_version,
                    "metadata": {"resourceVersion": str(next(self._rv))},
                    "items": items,
                }
            if kind.kind in REVIEWS:
                if method != "POST" or not isinstance(body, dict):
                    raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed")
                return 201, self._review(kind.kind, body)
            self.writes += 1
            if method == "DELETE":
                if not name:
                    raise ApiError(405, "MethodNotAllowed", "collection delete is not emulated")
                self._get_or_404(kind, ns, name)
                options = body if isinstance(body, dict) else {}
                policy = query.get("propagationPolicy", [None])[0] or options.get(
                    "propagationPolicy"
                )
                self.delete_policies.append(policy)
                return self._delete((kind.api_version, kind.kind, ns, name), policy)
            if body is None or not isinstance(body, dict):
                raise ApiError(400, "BadRequest", "the request body is not a JSON object")
            manager = query.get("fieldManager", [""])[0]
            if method == "POST":
                name = (body.get("metadata") or {}).get("name")
                if not name:
                    raise ApiError(422, "Invalid", "metadata.name: Required value")
                if (kind.api_version, kind.kind, ns, name) in self._store:
                    raise ApiError(409, "AlreadyExists", f'{kind.plural} "{name}" already exists')
                manager = manager or user_agent_manager(user_agent)
                return 201, self._write(kind, ns, name, body, manager)[0]
            if method == "PUT":
                self._get_or_404(kind, ns, name)
                manager = manager or user_agent_manager(user_agent)
                return 200, self._write(kind, ns, name, body, manager)[0]
            if method == "PATCH":
                if "apply-patch" in ctype:
                    if not manager:
                        raise ApiError(
                            400, "BadRequest", "PatchOptions.meta.k8s.io: fieldManager: Required"
                        )
                    force = query.get("force", ["false"])[0].lower() in ("true", "1")
                    obj, created = self._write(
                        kind, ns, name, body, manager, apply=True, force=force
                    )
                    return (201 if created else 200), obj
                current = self._get_or_404(kind, ns, name)
                merged = _merge(current, body)
                if "resourceVersion" not in (body.get("metadata") or {}):
                    merged["metadata"].pop("resourceVersion", None)  # no precondition given
                manager = manager or user_agent_manager(user_agent)
                return 200, self._write(kind, ns, name, merged, manager)[0]
        raise ApiError(405, "MethodNotAllowed", f"{method} is not emulated")

    def _get_or_404(self, kind: Kind, ns: str, name: str) -> dict:
        obj = self._store.get((kind.api_version, kind.kind, ns, name))
        if obj is None:
            raise ApiError(404, "NotFound", f'{kind.plural} "{name}" not found')
        return copy.deepcopy(obj)

    # --- writes and field ownership --------------------------------------------------------
    def _write(
        self,
        kind: Kind,
        ns: str,
        name: str,
        body: dict,
        manager: str,
        *,
        apply: bool = False,
        force: bool = False,
    ):
        """Create, update or apply an object; bumps resourceVersion only if it changed."""
        body = copy.deepcopy(body)
        meta = body.setdefault("metadata", {})
        if body.get("kind", kind.kind) != kind.kind:
            raise ApiError(400, "BadRequest", f"kind {body.get('kind')} does not match the path")
        if meta.get("name", name) != name:
            raise ApiError(400, "BadRequest", "metadata.name does not match the path")
        key = (kind.api_version, kind.kind, ns, name)
        old = self._store.get(key)
        if kind.namespaced:
            if not ns:
                raise ApiError(404, "NotFound", "the namespace of the object is not given")
            namespace = self._store.get(("v1", "Namespace", "", ns))
            if namespace is None:
                raise ApiError(404, "NotFound", f'namespaces "{ns}" not found')
            if old is None and namespace["metadata"].get("deletionTimestamp"):
                raise ApiError(
                    403,
                    "Forbidden",
                    f'{kind.plural} "{name}" is forbidden: unable to create new content in '
                    f"namespace {ns} because it is being terminated",
                )
            meta["namespace"] = ns
        precondition = meta.get("resourceVersion")
        if old is not None and precondition and precondition != old["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {kind.plural} "{name}": the object has been '
                "modified; please apply your changes to the latest version and try again",
            )
        for field in SERVER_META:
            meta.pop(field, None)
        body["apiVersion"], body["kind"], meta["name"] = kind.api_version, kind.kind, name
        operation = "Apply" if apply else "Update"
        if old is None:
            owned = {(manager or "unknown", operation): field_paths(body)}
        elif apply:
            body, owned = self._merge_applied(kind, old, body, manager, force)
        else:
            owned = self._updatedownership(old, body, manager or "unknown")
        if old is not None:
            old_content = {k: v for k, v in old.items() if k != "metadata"}
            new_content = {k: v for k, v in body.items() if k != "metadata"}
            if "status" in old and "status" not in body:
                new_content["status"] = body["status"] = old["status"]
            old_meta = {k: v for k, v in old["metadata"].items() if k not in SERVER_META}
            new_meta = {k: v for k, v in body["metadata"].items() if k not in SERVER_META}
            if old_content == new_content and old_meta == new_meta and owned == ownership(old):
                return copy.deepcopy(old), False
            for field in ("uid", "creationTimestamp", "deletionTimestamp"):
                if field in old["metadata"]:
                    body["metadata"][field] = old["metadata"][field]
        else:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = _now()
        body["metadata"]["resourceVersion"] = str(next(self._rv))
        body["metadata"]["managedFields"] = [
            {
                "manager": mgr,
                "operation": op,
                "apiVersion": kind.api_version,
                "time": _now(),
                "fieldsType": "FieldsV1",
                "fieldsV1": fields_v1(paths),
            }
            for (mgr, op), paths in owned.items()
            if paths
        ]
        self._store[key] = body
        if body["metadata"].get("deletionTimestamp"):
            self._finish_deletion(key)  # an update may have removed the last finalizer
        return copy.deepcopy(self._store.get(key, body)), old is None

    def _merge_applied(self, kind: Kind, old: dict, config: dict, manager: str, force: bool):
        """Server-side apply of `config` by `manager` onto `old`: (new object, ownership)."""
        owned = ownership(old)
        sent = field_paths(config)
        conflicts = [
            (other, path)
            for other, paths in owned.items()
            if other != (manager, "Apply")
            for path in sorted(paths & sent)
            if get_path(old, path) != get_path(config, path)
        ]
        if conflicts and not force:
            causes = [
                {
                    "type": "FieldManagerConflict",
                    "message": f'conflict with "{other[0]}" using {kind.api_version}',
                    "field": field_text(path),
                }
                for other, path in conflicts
            ]
            listed = "\n".join(f"- {c['message']}: {c['field']}" for c in causes)
            raise ApiError(
                409,
                "Conflict",
                f"Apply failed with {len(causes)} conflict{'s' if len(causes) > 1 else ''}: "
                + (f"{causes[0]['message']}: {causes[0]['field']}" if len(causes) == 1 else listed),
                {"name": old["metadata"]["name"], "kind": kind.plural, "causes": causes},
            )
        for other, path in conflicts:  # forced: the applier takes these fields over
            owned[other].discard(path)
        mine = owned.get((manager, "Apply"), set())
        others = set().union(*(p for k, p in owned.items() if k != (manager, "Apply")))
        merged = copy.deepcopy(old)
        for path in mine - sent:
            if path not in others:  # owned by nobody else any more: the applier removed it
                delete_path(merged, path)
        merged = apply_merge(merged, config)
        for field in SERVER_META:
            merged["metadata"].pop(field, None)
        owned[(manager, "Apply")] = sent
        return merged, {k: v for k, v in owned.items() if v}

    def _updatedownership(self, old: dict, new: dict, manager: str):
        """An Update takes the fields it changed (or removed) away from every other manager."""
        owned = ownership(old)
        old_paths, new_paths = field_paths(old), field_paths(new)
        changed = {p for p in new_paths if get_path(old, p) != get_path(new, p)}
        removed = old_paths - new_paths
        for paths in owned.values():
            paths -= changed | removed
        owned.setdefault((manager, "Update"), set()).update(changed)
        return {k: v for k, v in owned.items() if v}

    # --- deletion, garbage collection, finalizers ------------------------------------------
    def _delete(self, key: tuple, policy: str | None):
        obj = self._store[key]
        meta = obj["metadata"]
        if key[1] == "Namespace":
            return self._terminate_namespace(key)
        if policy is None:  # the batch/v1 REST default orphans a Job's pods (legacy behaviour)
            policy = "Orphan" if key[0] == "batch/v1" else "Background"
        if policy not in ("Background", "Foreground", "Orphan"):
            raise ApiError(400, "BadRequest", f"unknown propagationPolicy {policy}")
        if meta.get("deletionTimestamp"):
            return 202, copy.deepcopy(obj)
        if policy == "Orphan":
            for dependent in self._dependents(meta["uid"]):
                refs = dependent["metadata"]["ownerReferences"]
                dependent["metadata"]["ownerReferences"] = [
                    r for r in refs if r.get("uid") != meta["uid"]
                ] or None
                if dependent["metadata"]["ownerReferences"] is None:
                    del dependent["metadata"]["ownerReferences"]
        meta["deletionTimestamp"] = _now()
        meta["resourceVersion"] = str(next(self._rv))
        if policy == "Foreground":
            meta["finalizers"] = [*(meta.get("finalizers") or []), "foregroundDeletion"]
            answer = copy.deepcopy(obj)
            for dependent in self._dependents(meta["uid"]):
                self._delete(self._key_of(dependent), "Foreground")
            meta["finalizers"] = [f for f in meta["finalizers"] if f != "foregroundDeletion"]
            if not meta["finalizers"]:
                del meta["finalizers"]
            self._finish_deletion(key)
            return 202, answer
        answer = copy.deepcopy(obj)
        self._finish_deletion(key)
        return (200 if key not in self._store else 202), answer

    @staticmethod
    def _key_of(obj: dict) -> tuple:
        meta = obj["metadata"]
        return (obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])

    def _dependents(self, uid: str) -> list[dict]:
        return [
            o
            for o in self._store.values()
            if any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or [])
        ]

    def _finish_deletion(self, key: tuple) -> None:
        """Remove an object being deleted once no finalizer holds it; collect its dependents."""
        obj = self._store.get(key)
        if obj is None or not obj["metadata"].get("deletionTimestamp"):
            return
        if obj["metadata"].get("finalizers") or (obj.get("spec") or {}).get("finalizers"):
            return
        del self._store[key]
        uid = obj["metadata"]["uid"]
        live_uids = {o["metadata"]["uid"] for o in self._store.values()}
        for dependent in self._dependents(uid):
            refs = dependent["metadata"]["ownerReferences"]
            if not any(r.get("uid") in live_uids for r in refs):
                dep_key = self._key_of(dependent)
                if dep_key in self._store:
                    self._delete(dep_key, "Background")
        if key[2]:
            self._check_namespace(key[2])

    def _terminate_namespace(self, key: tuple):
        ns = self._store[key]
        meta = ns["metadata"]
        if not meta.get("deletionTimestamp"):
            meta["deletionTimestamp"] = _now()
            meta["resourceVersion"] = str(next(self._rv))
            ns.setdefault("spec", {})["finalizers"] = ["kubernetes"]
            ns["status"] = {"phase": "Terminating"}
            for content in [k for k in self._store if k[2] == key[3]]:
                if content in self._store:
                    self._delete(content, "Background")
        answer = copy.deepcopy(self._store.get(key, ns))
        self._check_namespace(key[3])
        return (200 if key not in self._store else 202), answer

    def _check_namespace(self, name: str) -> None:
        key = ("v1", "Namespace", "", name)
        ns = self._store.get(key)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        left = [o for k, o in self._store.items() if k[2] == name]
        if left:
            holders = sorted({f for o in left for f in o["metadata"].get("finalizers") or []})
            ns["status"]["conditions"] = [
                {
                    "type": "NamespaceFinalizersRemaining",
                    "status": "True",
                    "reason": "SomeFinalizersRemain",
                    "message": f"Some content in the namespace has finalizers remaining: "
                    f"{', '.join(holders)} in {len(left)} resource instances",
                }
            ]
            return
        ns["spec"]["finalizers"] = [f for f in ns["spec"]["finalizers"] if f != "kubernetes"]
        if not ns["spec"]["finalizers"]:
            del ns["spec"]["finalizers"]
        self._finish_deletion(key)

    # --- authorization reviews -------------------------------------------------------------
    def allows(self, verb: str, group: str, resource: str, name: str = "") -> bool:
        if self.rules is None:
            return True
        return any(
            (group in r.get("apiGroups", []) or "*" in r.get("apiGroups", []))
            and (resource in r.get("resources", []) or "*" in r.get("resources", []))
            and (verb in r.get("verbs", []) or "*" in r.get("verbs", []))
            and (not r.get("resourceNames") or name in r["resourceNames"])
            for r in self.rules
        )

    def _review(self, kind: str, body: dict) -> dict:
        spec = body.get("spec") or {}
        answer = {"apiVersion": "authorization.k8s.io/v1", "kind": kind,
                  "metadata": {"creationTimestamp": None}, "spec": spec}  # fmt: skip
        if kind == "SelfSubjectAccessReview":
            attrs = spec.get("resourceAttributes") or {}
            allowed = self.allows(attrs.get("verb", ""), attrs.get("group", ""),
                                  attrs.get("resource", ""), attrs.get("name", ""))  # fmt: skip
            answer["status"] = {"allowed": allowed}
            if not allowed:
                answer["status"]["reason"] = "no RBAC rule of the emulator allows it"
            return answer
        rules = self.rules if self.rules is not None else [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}
        ]  # fmt: skip
        answer["status"] = {"resourceRules": copy.deepcopy(rules), "nonResourceRules": [],
                            "incomplete": False}  # fmt: skip
        return answer


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
                self.command,
                path,
                query,
                body,
                self.headers.get("Content-Type", ""),
                self.headers.get("User-Agent", ""),
            )
        except ApiError as exc:
            return self._send(exc.code, status_body(exc.code, exc.reason, exc.message, exc.details))
        return self._send(code, obj)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch
