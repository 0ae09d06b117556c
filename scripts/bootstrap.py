"""Install the system tools `make run` / `make test` need, once, before anything else runs.

    python3 scripts/bootstrap.py run|test [--dry-run]

Every tool is looked up on PATH. Whatever is missing is installed from Debian's packages with
one `apt-get install`, after one line per tool saying what is installed and why. Nothing is
installed when everything is present (a second run only checks). When the tools cannot be
installed from here (not root, or no apt-get), nothing runs: the script prints the one command
the person must run and exits with status 2. `PORTAL_SKIP_TOOLS=1` skips the check (for a
machine whose tools live elsewhere; tests that need a missing tool then fail).

Only the standard library: this runs with the system Python before the venv exists.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

EXIT_NEEDS_PERSON = 2


@dataclass(frozen=True)
class Tool:
    commands: tuple[str, ...]  # all must be on PATH
    package: str  # Debian package providing them
    why: str
    needed_for: frozenset[str]  # "run", "test"


BOTH = frozenset({"run", "test"})
TEST = frozenset({"test"})

TOOLS: tuple[Tool, ...] = (
    Tool(("make",), "make", "the two commands are Makefile targets", BOTH),
    Tool(("git",), "git", "the GitOps backend commits desired state with the git CLI", BOTH),
    Tool(
        ("prometheus", "promtool"),
        "prometheus",
        "cost and SLO tests backfill and query a real Prometheus (promtool checks rules)",
        TEST,
    ),
    Tool(
        ("prometheus-alertmanager", "amtool"),
        "prometheus-alertmanager",
        "alert-routing tests run a real Alertmanager and amtool check-config",
        TEST,
    ),
    Tool(("chromium",), "chromium", "browser journeys in e2e/ drive a real Chromium", TEST),
    Tool(
        ("node", "npm"),
        "nodejs npm",
        "front-end libraries (make vendor) and npm-packaged test servers",
        TEST,
    ),
)
VENV_PACKAGE = "python3-venv"
VENV_WHY = "make creates .venv with `python3 -m venv` (Debian ships venv/ensurepip apart)"


@dataclass(frozen=True)
class Missing:
    package: str
    commands: tuple[str, ...]
    why: str

    def line(self, installing: bool) -> str:
        what = ", ".join(self.commands) if self.commands else "python venv"
        if installing:
            return f"[tools] installing Debian package {self.package} for {what}: {self.why}"
        return f"[tools] missing {what} (Debian package {self.package}): {self.why}"


@dataclass(frozen=True)
class Plan:
    missing: tuple[Missing, ...]
    action: str  # "none" | "install" | "ask"
    command: tuple[str, ...]  # the apt-get command to run (or to ask the person to run)
    reason: str = ""

    @property
    def packages(self) -> list[str]:
        out: list[str] = []
        for m in self.missing:
            out.extend(p for p in m.package.split() if p not in out)
        return out


def venv_available() -> bool:
    try:
        import ensurepip  # noqa: F401
        import venv  # noqa: F401
    except ImportError:
        return False
    return True


def plan(
    purpose: str,
    *,
    which: Callable[[str], str | None] = shutil.which,
    is_root: bool | None = None,
    has_venv: bool | None = None,
) -> Plan:
    """Decide what to install and whether this process can do it (pure apart from lookups)."""
    if purpose not in {"run", "test"}:
        raise ValueError(f"purpose must be run or test, not {purpose!r}")
    missing = [
        Missing(t.package, tuple(c for c in t.commands if not which(c)), t.why)
        for t in TOOLS
        if purpose in t.needed_for and not all(which(c) for c in t.commands)
    ]
    if not (venv_available() if has_venv is None else has_venv):
        missing.append(Missing(VENV_PACKAGE, (), VENV_WHY))
    if not missing:
        return Plan((), "none", ())
    packages: list[str] = []
    for m in missing:
        packages.extend(p for p in m.package.split() if p not in packages)
    install = ("apt-get", "install", "-y", "--no-install-recommends", *packages)
    root = (os.geteuid() == 0) if is_root is None else is_root
    if not which("apt-get"):
        return Plan(
            tuple(missing),
            "ask",
            install,
            "no apt-get on this machine: install the equivalents of these Debian packages "
            "with your package manager",
        )
    if not root:
        return Plan(
            tuple(missing),
            "ask",
            ("sudo", "sh", "-c", "apt-get update -q && " + shlex.join(install)),
            "not root: apt-get needs root",
        )
    return Plan(tuple(missing), "install", install)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("purpose", choices=["run", "test"])
    parser.add_argument("--dry-run", action="store_true", help="say what would happen only")
    args = parser.parse_args(argv)
    if os.environ.get("PORTAL_SKIP_TOOLS") == "1":
        print("[tools] PORTAL_SKIP_TOOLS=1: not checking system tools", flush=True)
        return 0
    p = plan(args.purpose)
    if p.action == "none":
        names = sorted({c for t in TOOLS if args.purpose in t.needed_for for c in t.commands})
        print(f"[tools] present: {' '.join(names)}", flush=True)
        return 0
    for m in p.missing:
        print(m.line(installing=p.action == "install"), flush=True)
    if p.action == "ask":
        print(f"[tools] cannot install from here ({p.reason}). Run once, then retry:", flush=True)
        print(f"    {shlex.join(p.command)}", flush=True)
        return EXIT_NEEDS_PERSON
    if args.dry_run:
        print(f"[tools] would run: apt-get update -q && {shlex.join(p.command)}", flush=True)
        return 0
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdin=subprocess.DEVNULL)
    subprocess.run(p.command, check=True, env=env, stdin=subprocess.DEVNULL)
    after = plan(args.purpose)
    if after.action != "none":
        left = ", ".join(c for m in after.missing for c in m.commands) or "python venv"
        print(f"[tools] still missing after apt-get install: {left}", file=sys.stderr)
        return 1
    print(f"[tools] installed: {' '.join(p.packages)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
