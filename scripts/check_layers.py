"""The layering rule of docs/architecture.md, checked on the source (no Django needed).

    python scripts/check_layers.py      # prints each broken rule, exits 1 if any

Rules (application code only: tests, migrations and portal/testing are exempt):
1. `clusters` imports no domain app (it may import `portal`).
2. `contracts` may import `workloads`, never the reverse.
3. No selector or service module imports a views module (views.py, *_views.py, api.py, urls).
4. Domain apps import `clusters` and `portal` only through their public modules (PUBLIC).
5. `portal` imports no domain app, except the root URL configuration that composes them all.
6. The shared services `accounts` (identity) and `notifications` (the outbox every app emits to)
   sit beside `portal`: any app may import them, and they import no domain app.

Imports inside functions count: a deferred import is still an edge.
"""

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The apps below the domain apps, and what a domain app may import of them.
BASE_APPS = ("portal", "clusters")
PUBLIC = {
    "clusters": {
        "models",
        "registry",
        "selectors",
        "services",
        "tasks",
        "prometheus",
        "alertmanager_api",
        "backoff",
        "demo",
        "adoption",
    },
    "portal": {
        "audit",
        "roles",
        "domain_errors",
        "celery",
        "htmx",
        "form_errors",
        "api_fields",
        "api_errors",
        "finite_numbers",
    },
}
# Shared services below the domain apps (design.md "Where the next capabilities live").
SHARED_APPS = ("accounts", "notifications")
# portal modules that sit on top of every app (they compose the URL tree).
# portal.selectors feeds /metrics: it reads every app's state at scrape time, as a top layer.
PORTAL_COMPOSITION = {"portal.urls", "portal.api_urls", "portal.selectors"}
EXEMPT_PARTS = {"tests", "migrations", "testing"}
VIEW_MODULES = ("views", "api", "urls", "api_urls")


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    imported: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: imports {self.imported}: {self.rule}"


def local_apps(root: Path) -> set[str]:
    """Top-level packages of the project that are Django apps (they have an apps.py)."""
    return {p.parent.name for p in root.glob("*/apps.py")}


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(root: Path, path: Path, module: str):
    """(line, absolute module) for every import in the file, submodules resolved for
    `from package import module`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = root.joinpath(*target.split("."), alias.name)
                if sub.with_suffix(".py").exists() or (sub / "__init__.py").exists():
                    yield node.lineno, f"{target}.{alias.name}"
                else:
                    yield node.lineno, target


def _is_view_module(module: str) -> bool:
    last = module.rpartition(".")[2]
    return last in VIEW_MODULES or last.endswith("_views")


def _is_read_or_write_layer(module: str) -> bool:
    parts = module.split(".")
    return any(
        p in ("selectors", "services") or p.endswith(("_selectors", "_services")) for p in parts
    )


def _broken_rule(app: str, module: str, imported: str, apps: set[str]) -> str | None:
    """The rule `module` (in `app`) breaks by importing `imported`, or None."""
    top = imported.split(".")[0]
    if top not in apps:
        return None
    if _is_read_or_write_layer(module) and _is_view_module(imported):
        return "a selector or service imports a views module"
    if top == app:
        return None
    domain = apps - set(BASE_APPS) - set(SHARED_APPS)
    if app in SHARED_APPS and top in domain:
        return f"{app} is a shared service and imports no domain app"
    if app == "clusters" and top in domain:
        return "clusters imports no domain app"
    if app == "workloads" and top == "contracts":
        return "contracts may import workloads, never the reverse"
    if app == "portal" and top in domain and module not in PORTAL_COMPOSITION:
        return "portal sits below the domain apps and imports none of them"
    if app in domain and top in BASE_APPS and "." in imported:
        sub = imported.split(".")[1]
        if sub not in PUBLIC[top]:
            return f"{top}.{sub} is not a public module of {top} ({', '.join(sorted(PUBLIC[top]))})"
    return None


def check(root: Path = ROOT) -> list[Violation]:
    apps = local_apps(root)
    found: list[Violation] = []
    for app in sorted(apps):
        for path in sorted((root / app).rglob("*.py")):
            rel = path.relative_to(root)
            if EXEMPT_PARTS & set(rel.parts[1:-1]) or rel.name.startswith("test_"):
                continue
            module = _module_name(root, path)
            for line, imported in _imports(root, path, module):
                rule = _broken_rule(app, module, imported, apps)
                if rule:
                    found.append(Violation(str(rel), line, imported, rule))
    return found


def main() -> int:
    violations = check()
    for v in violations:
        print(v)
    if violations:
        print(f"{len(violations)} import(s) break the layering rule (docs/architecture.md)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
