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
from .registry import FIELD_MANAGER, LABEL_PREFIX, MANAGED_BY, MANAGED_BY_LABEL

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


def with_retries(call, what: str):
    """Run `call`; retry 409/429/5xx/timeouts with exponential backoff and full jitter.

    Raises TransientError when retries are exhausted, PermanentError for other API refusals.
    """
    attempts = int(_setting("PORTAL_KUBE_RETRIES", 5))
    base = float(_setting("PORTAL_KUBE_BACKOFF_SECONDS", 0.5))
    last = ""
    for attempt in range(attempts):
        try:
            return call()
        except ApiException as exc:
            message = _api_message(exc)
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


def dynamic_client(cluster) -> DynamicClient:
    """One discovered client per cluster configuration and process."""
    key = (cluster.pk, cluster.api_server_url, str(cluster.updated_at))
    with _clients_lock:
        found = _clients.get(key)
    if found is not None:
        return found
    api = api_client(cluster)
    cache_file = str(_cache_dir / f"discovery-{abs(hash(key))}.json")
    dyn = with_retries(lambda: DynamicClient(api, cache_file=cache_file), "discovery")
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

    def _apply_one(self, manifest: dict) -> dict:
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
                force_conflicts=True,
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
                    _request_timeout=self.timeout,
                )
            except ApiException as exc:
                if exc.status != 404:  # already gone is what we wanted
                    raise

        with_retries(delete, f"delete {item['kind']} {meta['name']}")

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
    ) -> list[ObjectOutcome]:
        live = self.live_objects(tenant_slug, manifests, previous_keys)
        previous_hashes = previous_hashes or {}
        outcomes: list[ObjectOutcome] = []
        failed = False
        applied_before = {tuple(k) for k in previous_keys}
        for manifest in sorted(manifests, key=apply_order):
            key = tuple(object_key(manifest))
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
                and previous_hashes.get("|".join(key)) == object_hash(manifest)
                and in_sync(manifest, before)
            ):
                # applied before with this very content and still live as we set it: another
                # apply would be a no-op write, so only changed or missing objects cost a write
                outcomes.append(ObjectOutcome(*key, action="unchanged"))
                continue
            try:
                applied = self._apply_one(manifest)
            except PermanentError as exc:
                failed = True
                outcomes.append(ObjectOutcome(*key, action="failed", message=exc.message))
                continue
            if before is None:
                action = "created"
            elif before["metadata"].get("resourceVersion") != applied["metadata"].get(
                "resourceVersion"
            ):
                action = "configured"
            else:
                action = "unchanged"
            outcomes.append(ObjectOutcome(*key, action=action))
        if failed:  # never prune on a partial apply: a missing object may be the failed one
            return outcomes
        desired = {tuple(object_key(m)) for m in manifests}
        stale = [
            item
            for key, item in live.items()
            if key not in desired
            and not is_shared(item)
            and (allow_namespace_deletion or item["kind"] != "Namespace")
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
