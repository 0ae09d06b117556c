"""Validation of every desired object before anything is applied: Kubernetes schemas
(kubernetes-validate, strict), CRD schemas (jsonschema), and the rules schemas don't check
(DNS-1123 names, label values, quantities).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml
from django.conf import settings
from kubernetes_validate import utils as kv
from referencing import Registry, Resource

IN_REPO_CRD_DIR = Path(__file__).resolve().parent / "crds"

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUANTITY = re.compile(
    r"^[+]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?[0-9]+))?$"
)
# Kinds whose names are DNS-1123 labels (the rest are subdomains).
LABEL_NAMED_KINDS = {"Namespace", "Service"}


@dataclass(frozen=True)
class Problem:
    ref: str  # e.g. "ResourceQuota team-a-dev/gpu-portal-quota"
    field: str  # dotted path, e.g. "spec.hard.requests.nvidia.com/gpu"
    message: str

    def __str__(self) -> str:
        return f"{self.ref}: {self.field or '(object)'}: {self.message}"


class ManifestInvalid(Exception):
    """One or more desired objects are invalid; nothing may be applied."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"invalid manifests, nothing applied: {shown}{more}")


def object_ref(manifest: dict) -> str:
    meta = manifest.get("metadata") or {}
    ns = meta.get("namespace")
    name = meta.get("name", "?")
    return f"{manifest.get('kind', '?')} {ns + '/' if ns else ''}{name}"


# --- built-in kinds: kubernetes-validate's bundled schemas -----------------------------------


@lru_cache(maxsize=256)
def _builtin_validator(kind: str, api_version: str, k8s_version: str):
    """kubernetes_validate.validate() rebuilt once per (kind, version): the library reloads
    its JSON schema files on every call (about 6 ms per object)."""
    version = [v for v in kv.all_versions() if kv.major_minor(v) <= kv.major_minor(k8s_version)]
    if not version:
        raise kv.VersionNotSupportedError(version=k8s_version)
    schema_dir = f"v{version[-1]}-local-strict"
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = kv.schema_contents(
            f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{api}.json", k8s_version
        )
    except FileNotFoundError:
        return None
    registry = Resource.from_contents(schema) @ _definitions(schema_dir, k8s_version)
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


@lru_cache(maxsize=8)
def _definitions(schema_dir: str, k8s_version: str) -> Registry:
    """The shared _definitions.json (several MB), loaded once per schema version."""
    defs = kv.schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", k8s_version)
    return Resource.from_contents(defs) @ Registry()


# --- custom resources: CRD openAPIV3Schema ---------------------------------------------------


def crd_dirs() -> list[Path]:
    """`PORTAL_CRD_DIR` first (an override wins), then the in-repository copies."""
    configured = Path(settings.PORTAL_CRD_DIR).resolve()
    return [configured] if configured == IN_REPO_CRD_DIR else [configured, IN_REPO_CRD_DIR]


@lru_cache(maxsize=8)
def _crd_schemas(dirs: tuple[Path, ...]) -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> openAPIV3Schema of every served version; first directory wins."""
    schemas: dict[tuple[str, str], dict] = {}
    for directory in dirs:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.yaml")):
            for doc in yaml.safe_load_all(path.read_text()):
                if not doc or doc.get("kind") != "CustomResourceDefinition":
                    continue
                spec = doc["spec"]
                for version in spec["versions"]:
                    if not version.get("served"):
                        continue
                    key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                    schemas.setdefault(key, version["schema"]["openAPIV3Schema"])
    return schemas


def _strict(schema: dict) -> dict:
    """Refuse unknown fields like kubectl's strict field validation (the API server would
    silently prune them): closed objects wherever the CRD lists properties."""
    schema = dict(schema)
    props = schema.get("properties")
    if props is not None:
        schema["properties"] = {k: _strict(v) for k, v in props.items()}
        if not schema.get("x-kubernetes-preserve-unknown-fields") and (
            "additionalProperties" not in schema
        ):
            schema["additionalProperties"] = False
    if isinstance(schema.get("items"), dict):
        schema["items"] = _strict(schema["items"])
    if isinstance(schema.get("additionalProperties"), dict):
        schema["additionalProperties"] = _strict(schema["additionalProperties"])
    return schema


@lru_cache(maxsize=64)
def _crd_validator(api_version: str, kind: str, dirs: tuple[Path, ...]):
    schema = _crd_schemas(dirs).get((api_version, kind))
    if schema is None:
        return None
    schema = _strict(schema)
    # metadata is the API server's ObjectMeta, not described by the CRD
    schema["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema)


# --- what no schema checks -------------------------------------------------------------------


def _quantity_fields(manifest: dict):
    kind, spec = manifest.get("kind"), manifest.get("spec") or {}
    if kind == "ResourceQuota":
        for k, v in (spec.get("hard") or {}).items():
            yield f"spec.hard.{k}", v
    elif kind == "LimitRange":
        for i, limit in enumerate(spec.get("limits") or []):
            for section in ("default", "defaultRequest", "max", "min"):
                for k, v in (limit.get(section) or {}).items():
                    yield f"spec.limits[{i}].{section}.{k}", v
    elif kind == "ClusterQueue":
        for gi, group in enumerate(spec.get("resourceGroups") or []):
            for fi, flavor in enumerate(group.get("flavors") or []):
                for ri, res in enumerate(flavor.get("resources") or []):
                    for q in ("nominalQuota", "borrowingLimit", "lendingLimit"):
                        if q in res:
                            path = f"spec.resourceGroups[{gi}].flavors[{fi}].resources[{ri}]"
                            yield f"{path}.{q}", res[q]


def _extra_problems(manifest: dict) -> list[Problem]:
    ref = object_ref(manifest)
    meta = manifest.get("metadata") or {}
    problems = []
    name = meta.get("name") or ""
    pattern = DNS1123_LABEL if manifest.get("kind") in LABEL_NAMED_KINDS else DNS1123_SUBDOMAIN
    limit = 63 if manifest.get("kind") in LABEL_NAMED_KINDS else 253
    if not pattern.match(name) or len(name) > limit:
        problems.append(
            Problem(ref, "metadata.name", f"{name!r} is not a DNS-1123 name (max {limit})")
        )
    ns = meta.get("namespace")
    if ns is not None and (not DNS1123_LABEL.match(ns) or len(ns) > 63):
        problems.append(Problem(ref, "metadata.namespace", f"{ns!r} is not a DNS-1123 label"))
    for key, value in (meta.get("labels") or {}).items():
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
            problems.append(
                Problem(ref, f"metadata.labels.{key}", f"{value!r} is not a valid label value")
            )
    for path, value in _quantity_fields(manifest):
        if isinstance(value, bool) or not (
            (isinstance(value, int) and value >= 0)
            or (isinstance(value, str) and QUANTITY.match(value))
        ):
            problems.append(Problem(ref, path, f"{value!r} is not a non-negative quantity"))
    return problems


def _path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path)


def problems_of(manifest: dict, kubernetes_version: str) -> list[Problem]:
    """Every problem of one object (empty list when valid)."""
    ref = object_ref(manifest)
    if not manifest.get("kind") or not manifest.get("apiVersion"):
        return [Problem(ref, "kind", "apiVersion and kind are required")]
    api_version, kind = manifest["apiVersion"], manifest["kind"]
    validator = _builtin_validator(kind, api_version, kubernetes_version)
    if validator is None:
        validator = _crd_validator(api_version, kind, tuple(crd_dirs()))
    if validator is None:
        return [Problem(ref, "apiVersion", f"no schema for {api_version} {kind}")]
    problems = [
        Problem(ref, _path(e), e.message)
        for e in sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path))
    ]
    return problems + _extra_problems(manifest)


def validate_manifests(manifests: list[dict], kubernetes_version: str) -> None:
    """Raise ManifestInvalid naming each bad object and field; return None when all pass."""
    problems: list[Problem] = []
    for manifest in manifests:
        problems.extend(problems_of(manifest, kubernetes_version))
    if problems:
        raise ManifestInvalid(problems)


def validate_builtin_with_library(manifest: dict, kubernetes_version: str) -> None:
    """The library's own, uncached check (used by tests to prove the cache agrees)."""
    kubernetes_validate.validate(manifest, kubernetes_version, strict=True)
