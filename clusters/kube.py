"""The `kubernetes` backend: the official client, server-side apply as field manager
`gpu-portal`, pruning of our labelled objects, retries with backoff, and GPU capacity reads.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import urllib3
import yaml
from django.conf import settings
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from . import ownership
from .backends import (
    CapacityObservation,
    ObjectOutcome,
    PermanentError,
    TransientError,
    apply_order,
    in_sync,
    is_shared,
    object_hash,
    object_key,
    runs_once,
    tenant_selector,
)
from .backoff import full_jitter
from .registry import (
    ENVIRONMENT_LABEL,
    FIELD_MANAGER,
    LABEL_PREFIX,
    MANAGED_BY,
    MANAGED_BY_LABEL,
)

RETRYABLE_STATUS = {409, 429, 500, 502, 503, 504}
SHARED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY},{LABEL_PREFIX}shared=true"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
# Kinds the portal may have created for a tenant; listed for pruning even when nothing of
# that kind is desired any more (other domain apps' kinds are added from previous syncs).
PRUNABLE_KINDS = [
    ("v1", "ResourceQuota"),
    ("v1", "LimitRange"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("kueue.x-k8s.io/v1beta2", "ClusterQueue"),
    ("kueue.x-k8s.io/v1beta2", "LocalQueue"),
    ("v1", "Namespace"),
]

# How an archived tenant's workloads are stopped (kind -> fields applied by QUIESCE_MANAGER).
QUIESCE_MANAGER = "gpu-portal-archive"
QUIESCE = [
    ("apps/v1", "Deployment", {"spec": {"replicas": 0}}),
    ("apps/v1", "StatefulSet", {"spec": {"replicas": 0}}),
    ("batch/v1", "Job", {"spec": {"suspend": True}}),
    ("batch/v1", "CronJob", {"spec": {"suspend": True}}),
    (
        "keda.sh/v1alpha1",
        "ScaledObject",
        {"metadata": {"annotations": {"autoscaling.keda.sh/paused-replicas": "0"}}},
    ),
]

_clients: dict[tuple, DynamicClient] = {}
_clients_lock = threading.Lock()
_cache_dir = Path(tempfile.mkdtemp(prefix="gpu-portal-discovery-"))


def _setting(name: str, default):
    return getattr(settings, name, default)


def _api_message(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or "")
        return body.get("message") or exc.reason or str(exc.status)
    except (ValueError, AttributeError):
        return (exc.body or exc.reason or str(exc.status))[:500]


class ApplyConflict(PermanentError):
    """Server-side apply refused: another field manager owns fields we would change."""

    def __init__(self, message: str, conflicts: list[dict]):
        super().__init__(message, status=409)
        self.conflicts = conflicts


def _apply_conflicts(exc: ApiException) -> list[dict]:
    """`[{field, manager}]` from a 409 apply answer's Status causes (empty if not a conflict)."""
    try:
        body = json.loads(exc.body or "")
    except (ValueError, TypeError):
        return []
    causes = ((body or {}).get("details") or {}).get("causes") or []
    conflicts = []
    for cause in causes:
        if cause.get("type") != "FieldManagerConflict":
            continue
        message = cause.get("message", "")
        manager = message.split('"')[1] if message.count('"') >= 2 else message
        conflicts.append({"field": cause.get("field", ""), "manager": manager})
    return conflicts


def with_retries(call, what: str, *, attempts: int | None = None):
    """Run `call`; retry 409/429/5xx/timeouts with exponential backoff and full jitter.

    Raises TransientError when retries are exhausted, PermanentError for other API refusals.
    """
    attempts = attempts or int(_setting("PORTAL_KUBE_RETRIES", 5))
    base = float(_setting("PORTAL_KUBE_BACKOFF_SECONDS", 0.5))
    last = ""
    for attempt in range(attempts):
        try:
            return call()
        except ApiException as exc:
            message = _api_message(exc)
            conflicts = _apply_conflicts(exc) if exc.status == 409 else []
            if conflicts:  # retrying cannot help: a person decides who owns the field
                listed = "; ".join(f"{c['field']} is owned by {c['manager']}" for c in conflicts)
                raise ApplyConflict(
                    f"{what}: conflict with another field manager ({listed}); nothing was "
                    "overwritten. A platform admin can take these fields back with "
                    "'Resolve conflicts' on the tenant's sync page, or change them back by hand.",
                    conflicts,
                ) from None
            if exc.status not in RETRYABLE_STATUS:
                raise PermanentError(f"{what}: {exc.status} {message}", status=exc.status) from None
            last = f"{what}: {exc.status} {message}"
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            last = f"{what}: cluster unreachable ({exc.__class__.__name__}: {exc})"
        if attempt < attempts - 1:
            time.sleep(full_jitter(attempt, base=base, cap=30.0))
    raise TransientError(f"{last} (after {attempts} attempts)")


def api_client(cluster) -> k8s.ApiClient:
    """Credentials from the encrypted Cluster fields: a kubeconfig, or URL + token + CA."""
    cfg = k8s.Configuration()
    if cluster.kubeconfig:
        try:
            k8s_config.load_kube_config_from_dict(
                yaml.safe_load(cluster.kubeconfig), client_configuration=cfg
            )
        except Exception as exc:  # noqa: BLE001 - any kubeconfig problem is the admin's to fix
            raise PermanentError(f"the kubeconfig of {cluster.name} is unusable: {exc}") from None
    else:
        if not cluster.api_server_url:
            raise PermanentError(f"cluster {cluster.name} has no API server URL or kubeconfig")
        cfg.host = cluster.api_server_url.rstrip("/")
        if cluster.api_token:
            cfg.api_key = {"authorization": cluster.api_token}
            cfg.api_key_prefix = {"authorization": "Bearer"}
        if cluster.ca_cert:
            ca = _cache_dir / f"ca-{cluster.pk}.pem"
            ca.write_text(cluster.ca_cert)
            cfg.ssl_ca_cert = str(ca)
        cfg.verify_ssl = cluster.verify_tls
    cfg.retries = 0  # our own retry loop decides, with backoff and jitter
    return k8s.ApiClient(cfg)


def dynamic_client(cluster, *, attempts: int | None = None) -> DynamicClient:
    """One discovered client per cluster configuration and process."""
    key = (cluster.pk, cluster.api_server_url, str(cluster.updated_at))
    with _clients_lock:
        found = _clients.get(key)
    if found is not None:
        return found
    api = api_client(cluster)
    cache_file = str(_cache_dir / f"discovery-{abs(hash(key))}.json")
    dyn = with_retries(
        lambda: DynamicClient(api, cache_file=cache_file), "discovery", attempts=attempts
    )
    with _clients_lock:
        _clients[key] = dyn
    return dyn


class KubeBackend:
    def __init__(self, cluster):
        self.cluster = cluster
        self.timeout = float(_setting("PORTAL_KUBE_TIMEOUT_SECONDS", 10))
        self._dyn: DynamicClient | None = None

    @property
    def dyn(self) -> DynamicClient:
        if self._dyn is None:
            self._dyn = dynamic_client(self.cluster)
        return self._dyn

    def _resource(self, api_version: str, kind: str):
        try:
            return self.dyn.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            return None

    def _list(self, api_version: str, kind: str, selector: str) -> list[dict]:
        resource = self._resource(api_version, kind)
        if resource is None:
            return []
        result = with_retries(
            lambda: resource.get(label_selector=selector, _request_timeout=self.timeout),
            f"list {kind}",
        )
        items = result.to_dict().get("items") or []
        for item in items:  # list items lack apiVersion/kind on a real server too
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def live_objects(
        self, tenant_slug: str, manifests: list[dict], previous_keys: list[list[str]]
    ) -> dict[tuple, dict]:
        """Our live objects of this tenant (and the shared ones we also render), by key."""
        kinds = {(m["apiVersion"], m["kind"]) for m in manifests}
        kinds |= {(k[0], k[1]) for k in previous_keys}
        kinds |= set(PRUNABLE_KINDS)
        live: dict[tuple, dict] = {}
        for api_version, kind in sorted(kinds):
            for item in self._list(api_version, kind, tenant_selector(tenant_slug)):
                live[tuple(object_key(item))] = item
        shared_kinds = {(m["apiVersion"], m["kind"]) for m in manifests if is_shared(m)}
        for api_version, kind in sorted(shared_kinds):
            for item in self._list(api_version, kind, SHARED_SELECTOR):
                live[tuple(object_key(item))] = item
        return live

    def read_object(self, api_version: str, kind: str, name: str, namespace: str) -> dict | None:
        """The live object, or None when it does not exist (or its kind is not served)."""
        resource = self._resource(api_version, kind)
        if resource is None:
            return None

        def read():
            try:
                return resource.get(
                    name=name, namespace=namespace or None, _request_timeout=self.timeout
                ).to_dict()
            except ApiException as exc:
                if exc.status == 404:
                    return None
                raise

        found = with_retries(read, f"read {kind} {name}")
        if found is not None:
            found.setdefault("apiVersion", api_version)
            found.setdefault("kind", kind)
        return found

    def _apply_one(self, manifest: dict, *, force: bool = False) -> dict:
        resource = self._resource(manifest["apiVersion"], manifest["kind"])
        if resource is None:
            raise PermanentError(
                f"the cluster does not serve {manifest['apiVersion']} {manifest['kind']} "
                "(is its CRD installed?)"
            )
        meta = manifest["metadata"]
        result = with_retries(
            lambda: self.dyn.server_side_apply(
                resource,
                body=manifest,
                namespace=meta.get("namespace"),
                field_manager=FIELD_MANAGER,
                # never take a field from another manager unless the object is ours and a
                # person said so (conflict resolution, adoption)
                force_conflicts=force,
                _request_timeout=self.timeout,
            ),
            f"apply {manifest['kind']} {meta['name']}",
        )
        return result.to_dict()

    def _delete_one(self, item: dict) -> None:
        resource = self._resource(item["apiVersion"], item["kind"])
        meta = item["metadata"]

        def delete():
            try:
                resource.delete(
                    name=meta["name"],
                    namespace=meta.get("namespace") or None,
                    # the batch/v1 default orphans a Job's pods: they would keep their GPUs
                    propagation_policy="Background",
                    _request_timeout=self.timeout,
                )
            except ApiException as exc:
                if exc.status != 404:  # already gone is what we wanted
                    raise

        with_retries(delete, f"delete {item['kind']} {meta['name']}")

    def _foreign_objects(
        self,
        manifests: list[dict],
        live: dict[tuple, dict],
        *,
        tenant_id: int,
        tenant_slug: str,
        applied_before: set[tuple],
        adoptions: dict[tuple, str],
    ) -> tuple[list[ownership.ForeignObject], dict[tuple, dict]]:
        """Read every desired object the label listing did not return (it may exist without
        our labels) and find the live ones that are not ours. Returns (foreign, adopted)."""
        found: list[ownership.ForeignObject] = []
        adopted: dict[tuple, dict] = {}
        absent_namespaces: set[str] = set()
        for manifest in sorted(manifests, key=apply_order):
            key = tuple(object_key(manifest))
            current = live.get(key)
            if current is None:
                if key[2] in absent_namespaces:
                    continue  # a namespace that does not exist yet holds nothing
                current = self.read_object(key[0], key[1], key[3], key[2])
                if current is None:
                    if key[1] == "Namespace":
                        absent_namespaces.add(key[3])
                    continue
                live[key] = current
            if ownership.is_ours(
                current,
                tenant_id=tenant_id,
                tenant_slug=tenant_slug,
                applied_before=key in applied_before,
            ):
                continue
            uid = (current.get("metadata") or {}).get("uid", "")
            if uid and adoptions.get(key) == uid:
                adopted[key] = current
                continue
            labels = manifest["metadata"].get("labels") or {}
            found.append(ownership.foreign(current, labels.get(ENVIRONMENT_LABEL, "")))
        return found, adopted

    def apply(
        self,
        *,
        tenant_slug: str,
        manifests: list[dict],
        previous_keys: list[list[str]],
        allow_namespace_deletion: bool = False,
        actor: str = "",
        generation: int = 0,
        previous_hashes: dict[str, str] | None = None,
        tenant_id: int | None = None,
        force_conflicts: bool = False,
        adoptions: dict[tuple, str] | None = None,
    ) -> list[ObjectOutcome]:
        live = self.live_objects(tenant_slug, manifests, previous_keys)
        previous_hashes = previous_hashes or {}
        outcomes: list[ObjectOutcome] = []
        failed = False
        applied_before = {tuple(k) for k in previous_keys}
        foreign, adopted = self._foreign_objects(
            manifests,
            live,
            tenant_id=tenant_id,
            tenant_slug=tenant_slug,
            applied_before=applied_before,
            adoptions=adoptions or {},
        )
        foreign_keys = {(f.api_version, f.kind, f.namespace, f.name): f for f in foreign}
        # an object that is not ours blocks every object of its environment
        blocked_envs = {f.environment: f for f in foreign if f.environment}
        for manifest in sorted(manifests, key=apply_order):
            key = tuple(object_key(manifest))
            env = (manifest["metadata"].get("labels") or {}).get(ENVIRONMENT_LABEL, "")
            if key in foreign_keys or env in blocked_envs:
                cause = foreign_keys.get(key) or blocked_envs[env]
                message = (
                    cause.describe()
                    if key in foreign_keys
                    else f"not applied: environment {env} is blocked by {cause.kind} {cause.name}"
                )
                detail = cause.as_dict() if key in foreign_keys else None
                outcomes.append(
                    ObjectOutcome(*key, action="blocked", message=message, detail=detail)
                )
                continue
            if key not in live and key in applied_before and runs_once(manifest):
                outcomes.append(
                    ObjectOutcome(
                        *key,
                        action="unchanged",
                        message="finished and removed by the cluster; not recreated",
                    )
                )
                continue
            before = live.get(key)
            if (
                before is not None
                and key not in adopted
                and previous_hashes.get("|".join(key)) == object_hash(manifest)
                and in_sync(manifest, before)
            ):
                # applied before with this very content and still live as we set it: another
                # apply would be a no-op write, so only changed or missing objects cost a write
                outcomes.append(ObjectOutcome(*key, action="unchanged"))
                continue
            try:
                applied = self._apply_one(manifest, force=force_conflicts or key in adopted)
            except ApplyConflict as exc:
                failed = True
                outcomes.append(
                    ObjectOutcome(
                        *key,
                        action="conflict",
                        message=exc.message,
                        detail={"conflicts": exc.conflicts},
                    )
                )
                continue
            except PermanentError as exc:
                failed = True
                outcomes.append(ObjectOutcome(*key, action="failed", message=exc.message))
                continue
            if before is None:
                action = "created"
            elif key in adopted:
                action = "adopted"
            elif before["metadata"].get("resourceVersion") != applied["metadata"].get(
                "resourceVersion"
            ):
                action = "configured"
            else:
                action = "unchanged"
            outcomes.append(ObjectOutcome(*key, action=action))
        if failed or foreign:  # never prune on a partial apply: a missing object may be the cause
            return outcomes
        desired = {tuple(object_key(m)) for m in manifests}
        stale = [
            item
            for key, item in live.items()
            if key not in desired
            and not is_shared(item)
            and (allow_namespace_deletion or item["kind"] != "Namespace")
            and ownership.may_prune(
                item,
                tenant_id=tenant_id,
                tenant_slug=tenant_slug,
                applied_before=key in applied_before,
            )
        ]
        for item in sorted(stale, key=apply_order, reverse=True):
            try:
                self._delete_one(item)
                outcomes.append(ObjectOutcome(*object_key(item), action="pruned"))
            except PermanentError as exc:
                outcomes.append(
                    ObjectOutcome(*object_key(item), action="failed", message=exc.message)
                )
        return outcomes

    def quiesce(self, *, tenant_id: int, tenant_slug: str) -> list[ObjectOutcome]:
        """Stop an archived tenant's workloads without deleting them: Deployments and
        StatefulSets to zero replicas, Jobs and CronJobs suspended, KEDA scaling paused at zero.
        Only objects that are ours; applied by a separate field manager, so the portal's own
        applied configuration is left as it was."""
        outcomes = []
        for api_version, kind, change in QUIESCE:
            for item in self._list(api_version, kind, tenant_selector(tenant_slug)):
                if not ownership.is_ours(
                    item, tenant_id=tenant_id, tenant_slug=tenant_slug, applied_before=False
                ):
                    continue
                meta = item["metadata"]
                body = {
                    "apiVersion": api_version,
                    "kind": kind,
                    "metadata": {"name": meta["name"], "namespace": meta.get("namespace")},
                }
                for section, fields in change.items():
                    body.setdefault(section, {}).update(fields)
                resource = self._resource(api_version, kind)
                with_retries(
                    lambda resource=resource, body=body: self.dyn.server_side_apply(
                        resource,
                        body=body,
                        namespace=body["metadata"]["namespace"],
                        field_manager=QUIESCE_MANAGER,
                        force_conflicts=True,  # ours: take replicas/suspend from our applier
                        _request_timeout=self.timeout,
                    ),
                    f"stop {kind} {meta['name']}",
                )
                outcomes.append(
                    ObjectOutcome(api_version, kind, meta.get("namespace", ""), meta["name"],
                                  action="configured", message="stopped (tenant archived)")
                )  # fmt: skip
        return outcomes

    def namespace_states(self, names: list[str]) -> dict[str, str]:
        """Per namespace: "gone", "Active", or "Terminating" with what still holds it."""
        states = {}
        for name in names:
            live = self.read_object("v1", "Namespace", name, "")
            if live is None:
                states[name] = "gone"
                continue
            status = live.get("status") or {}
            phase = status.get("phase") or "Active"
            held = "; ".join(
                c.get("message", "")
                for c in status.get("conditions") or []
                if c.get("status") == "True" and c.get("message")
            )
            states[name] = f"{phase}: {held}" if held else phase
        return states

    def drifted(self, *, tenant_slug: str, manifests: list[dict]) -> list[ObjectOutcome]:
        """Desired objects whose live copy is missing or differs in a field we set."""
        live = self.live_objects(tenant_slug, manifests, [])
        drift = []
        for manifest in manifests:
            key = tuple(object_key(manifest))
            current = live.get(key)
            if current is None and runs_once(manifest):
                continue  # removed by the cluster when it finished: not drift
            if current is None:
                drift.append(ObjectOutcome(*key, action="drifted", message="missing"))
            elif not in_sync(manifest, current):
                drift.append(ObjectOutcome(*key, action="drifted", message="fields changed"))
        return drift

    def read_capacity(self) -> list[CapacityObservation]:
        """Node allocatable GPUs per (gpu.product label, resource): gpu, mig-*, gpu.shared."""
        nodes = self._list("v1", "Node", "")
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for node in nodes:
            labels = node["metadata"].get("labels") or {}
            product = labels.get(GPU_PRODUCT_LABEL, "")
            allocatable = (node.get("status") or {}).get("allocatable") or {}
            for resource, value in allocatable.items():
                if not (
                    resource == "nvidia.com/gpu"
                    or resource == "nvidia.com/gpu.shared"
                    or resource.startswith("nvidia.com/mig-")
                ):
                    continue
                # the device plugin suffixes the product of shared GPUs with -SHARED
                name = product.removesuffix("-SHARED") if resource.endswith(".shared") else product
                try:
                    totals[(name, resource)] += int(value)
                except (TypeError, ValueError):
                    continue
        return [CapacityObservation(p, r, n) for (p, r), n in sorted(totals.items())]


def preflight(cluster) -> list[dict]:
    """Ask the API server, one SelfSubjectAccessReview per verb, what the portal's credentials
    may do; returns what is missing as [{group, resource, verb, name, why}]."""
    from .permissions import checks

    # asked on demand by a person: one attempt each, an unreachable cluster answers at once
    backend = KubeBackend(cluster)
    backend._dyn = dynamic_client(cluster, attempts=1)
    review = backend._resource("authorization.k8s.io/v1", "SelfSubjectAccessReview")
    if review is None:
        raise PermanentError(f"{cluster.name} does not serve SelfSubjectAccessReview")
    missing = []
    for need, verb, name in checks():
        attributes = {"group": need.group, "resource": need.resource, "verb": verb}
        if name:
            attributes["name"] = name
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }
        answer = with_retries(
            lambda body=body: review.create(body=body, _request_timeout=backend.timeout),
            f"review {verb} {need.resource}",
            attempts=1,
        ).to_dict()
        if not (answer.get("status") or {}).get("allowed"):
            missing.append(
                {"group": need.group, "resource": need.resource, "verb": verb, "name": name,
                 "why": need.why}
            )  # fmt: skip
    return missing
