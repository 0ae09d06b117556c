"""The Kubernetes API semantics the emulator (kube_emulator.py) applies to stored objects, as
pure functions: label selectors (equality- and set-based) and field ownership (managedFields in
FieldsV1, server-side apply's merge). Lists are atomic here; see kube_emulator.py for what
differs from a real API server."""

from __future__ import annotations

import copy
import re

# Fields a write may never set: the server owns them.
SERVER_META = (
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "managedFields",
    "generation",
    "deletionTimestamp",
)
# Never field-owned: identity of the object, and status (a subresource on a real server).
UNOWNED = {("apiVersion",), ("kind",), ("status",), ("metadata", "name"), ("metadata", "namespace")}
MISSING = object()


# --- label selectors ---------------------------------------------------------------------
SET_TERM = re.compile(r"^\s*([^\s!=(),]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def selector_terms(selector: str) -> list[str]:
    """Split on the commas that separate requirements, not those inside `in (a,b)`."""
    terms, depth, current = [], 0, ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [t.strip() for t in terms if t.strip()]


def selector_matches(selector: str, labels: dict) -> bool:
    for term in selector_terms(selector):
        found = SET_TERM.match(term)
        if found:
            key, op, values = found.groups()
            allowed = {v.strip() for v in values.split(",") if v.strip()}
            if op == "in" and labels.get(key) not in allowed:
                return False
            if op == "notin" and key in labels and labels[key] in allowed:
                return False
        elif "!=" in term:
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


# --- field ownership ---------------------------------------------------------------------
def field_paths(obj: dict, prefix: tuple = ()) -> set[tuple]:
    """Leaf paths of an object (lists are atomic), minus the fields nobody owns."""
    paths: set[tuple] = set()
    for key, value in obj.items():
        path = (*prefix, key)
        if path in UNOWNED or (prefix == ("metadata",) and key in SERVER_META):
            continue
        if isinstance(value, dict) and value:
            paths |= field_paths(value, path)
        else:
            paths.add(path)
    return paths


def get_path(obj, path: tuple):
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return MISSING
        obj = obj[part]
    return obj


def delete_path(obj: dict, path: tuple) -> None:
    parents = [obj]
    for part in path[:-1]:
        obj = obj.get(part)
        if not isinstance(obj, dict):
            return
        parents.append(obj)
    parents[-1].pop(path[-1], None)
    for depth in range(len(path) - 1, 1, -1):  # drop maps left empty (keep top-level ones)
        if parents[depth] == {}:
            parents[depth - 1].pop(path[depth - 1], None)


def apply_merge(base: dict, config: dict) -> dict:
    """Server-side apply's merge of a config into the live object (maps merge, rest replaced)."""
    result = copy.deepcopy(base)
    for key, value in config.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = apply_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def fields_v1(paths: set[tuple]) -> dict:
    root: dict = {}
    for path in sorted(paths):
        node = root
        for part in path:
            node = node.setdefault(f"f:{part}", {})
    return root


def paths_of_fields_v1(fields: dict, prefix: tuple = ()) -> set[tuple]:
    paths: set[tuple] = set()
    for key, child in fields.items():
        if not key.startswith("f:"):
            continue
        path = (*prefix, key[2:])
        nested = paths_of_fields_v1(child, path) if child else set()
        paths |= nested or {path}
    return paths


def ownership(obj: dict) -> dict[tuple[str, str], set[tuple]]:
    """(manager, operation) -> owned field paths, from metadata.managedFields."""
    owned: dict[tuple[str, str], set[tuple]] = {}
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        key = (entry.get("manager", ""), entry.get("operation", "Update"))
        owned.setdefault(key, set()).update(paths_of_fields_v1(entry.get("fieldsV1") or {}))
    return owned


def field_text(path: tuple) -> str:
    return "." + ".".join(path)


def user_agent_manager(user_agent: str) -> str:
    """A real server names an Update manager after the client's User-Agent (before the '/')."""
    return (user_agent or "unknown").split("/")[0] or "unknown"
