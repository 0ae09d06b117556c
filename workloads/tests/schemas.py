"""Validate rendered objects the way the brief asks: built-in kinds with kubernetes-validate
(strict), custom resources against the CRDs in `settings.PORTAL_CRD_DIR` (by default the
repository's own copies in clusters/crds/) with jsonschema."""

from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml
from django.conf import settings


def crd_dir() -> Path:
    return Path(settings.PORTAL_CRD_DIR)


def _closed(schema: dict) -> dict:
    """Strict like kubectl --validate=strict: unknown fields are errors, not pruned."""
    schema = dict(schema)
    if "properties" in schema:
        schema["properties"] = {k: _closed(v) for k, v in schema["properties"].items()}
        if not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema.setdefault("additionalProperties", False)
    if isinstance(schema.get("items"), dict):
        schema["items"] = _closed(schema["items"])
    if isinstance(schema.get("additionalProperties"), dict):
        schema["additionalProperties"] = _closed(schema["additionalProperties"])
    return schema


@cache
def crd_schemas() -> dict:
    schemas = {}
    for path in sorted(crd_dir().glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            for version in doc["spec"]["versions"]:
                key = (f"{doc['spec']['group']}/{version['name']}", doc["spec"]["names"]["kind"])
                schema = _closed(version["schema"]["openAPIV3Schema"])
                schema["properties"]["metadata"] = {"type": "object"}
                schemas[key] = schema
    return schemas


def validate_object(manifest: dict, kubernetes_version: str = "1.31") -> None:
    key = (manifest["apiVersion"], manifest["kind"])
    if key in crd_schemas():
        # no check_schema: CRDs use Go regex syntax the metaschema's 'regex' format rejects
        jsonschema.Draft7Validator(crd_schemas()[key]).validate(manifest)
    else:
        kubernetes_validate.validate(manifest, kubernetes_version, strict=True)
