"""scripts/bootstrap.py: what `make run` / `make test` install before anything else runs.

The decision logic is tested without root: the script runs as a real subprocess with a PATH that
lacks the tools (and, for the not-root case, as the unprivileged user `nobody`), so nothing is
ever installed by these tests.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from scripts import bootstrap

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "bootstrap.py"
# The system Python: readable by `nobody` (a pyenv Python under /root is not).
SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.fixture
def bare_path():
    """A PATH directory (world-readable, outside pytest's 0700 tmp tree) holding only what the
    test links into it."""
    parent = Path(tempfile.mkdtemp(prefix="gpu-portal-bootstrap-"))
    parent.chmod(0o755)
    path = parent / "bin"
    path.mkdir(mode=0o755)
    yield path
    shutil.rmtree(parent, ignore_errors=True)


def link(directory: Path, *commands: str) -> None:
    for command in commands:
        target = shutil.which(command)
        assert target, f"{command} must exist on this machine for the test"
        (directory / command).symlink_to(target)


def run(args, path: Path, *, as_nobody=False, extra_env=None):
    """Run a copy of the script from the world-readable PATH directory's parent, so `nobody`
    can read it wherever the repository is checked out (e.g. under a 0700 /root)."""
    env = {"PATH": str(path), "LANG": "C.UTF-8", **(extra_env or {})}
    script = path.parent / f"{path.name}-bootstrap.py"
    shutil.copyfile(SCRIPT, script)
    script.chmod(0o644)
    prefix = (
        [shutil.which("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups"]
        if as_nobody and os.geteuid() == 0  # not root already: run as ourselves
        else []
    )
    return subprocess.run(
        [*prefix, SYSTEM_PYTHON, str(script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )


def test_plan_nothing_missing_installs_nothing():
    p = bootstrap.plan("test", which=lambda c: f"/usr/bin/{c}", is_root=True, has_venv=True)
    assert p.action == "none"
    assert p.command == ()


def test_plan_run_needs_fewer_tools_than_test():
    present = {"make", "git", "apt-get"}

    def which(c):
        return f"/usr/bin/{c}" if c in present else None

    run_plan = bootstrap.plan("run", which=which, is_root=True, has_venv=True)
    test_plan = bootstrap.plan("test", which=which, is_root=True, has_venv=True)
    assert run_plan.action == "none"
    assert test_plan.action == "install"
    assert test_plan.packages == [
        "prometheus",
        "prometheus-alertmanager",
        "chromium",
        "nodejs",
        "npm",
    ]
    assert test_plan.command[:4] == ("apt-get", "install", "-y", "--no-install-recommends")


def test_plan_one_missing_command_of_a_package_installs_the_package():
    def which(c):
        return None if c == "promtool" else f"/usr/bin/{c}"

    p = bootstrap.plan("test", which=which, is_root=True, has_venv=True)
    assert p.action == "install"
    assert p.packages == ["prometheus"]
    assert p.missing[0].commands == ("promtool",)


def test_plan_missing_venv_module_adds_python3_venv():
    p = bootstrap.plan("run", which=lambda c: f"/usr/bin/{c}", is_root=True, has_venv=False)
    assert p.packages == ["python3-venv"]


def test_plan_not_root_asks_for_one_sudo_command():
    def which(c):
        return f"/usr/bin/{c}" if c in {"apt-get", "make"} else None

    p = bootstrap.plan("run", which=which, is_root=False, has_venv=True)
    assert p.action == "ask"
    assert p.command == (
        "sudo",
        "sh",
        "-c",
        "apt-get update -q && apt-get install -y --no-install-recommends git",
    )


def test_present_tools_exit_zero_and_say_so():
    result = subprocess.run(
        [SYSTEM_PYTHON, str(SCRIPT), "test"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("[tools] present: ")
    assert "installing" not in result.stdout


def test_not_root_stops_with_the_command_to_run(bare_path):
    """As `nobody` with apt-get but no git/prometheus/chromium on PATH: one line per missing tool
    with its reason, the single sudo command, exit 2, and nothing run."""
    link(bare_path, "apt-get", "make")
    result = run(["test"], bare_path, as_nobody=True)
    assert result.returncode == bootstrap.EXIT_NEEDS_PERSON, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    missing = [line for line in lines if line.startswith("[tools] missing ")]
    assert [line.split(" (")[0] for line in missing] == [
        "[tools] missing git",
        "[tools] missing prometheus, promtool",
        "[tools] missing prometheus-alertmanager, amtool",
        "[tools] missing chromium",
        "[tools] missing node, npm",
    ]
    assert all(": " in line for line in missing)  # each says why
    assert lines[-1].strip() == (
        "sudo sh -c 'apt-get update -q && apt-get install -y --no-install-recommends "
        "git prometheus prometheus-alertmanager chromium nodejs npm'"
    )
    assert "not root" in result.stdout


def test_no_apt_stops_and_names_the_packages(bare_path):
    result = run(["run"], bare_path)
    assert result.returncode == bootstrap.EXIT_NEEDS_PERSON
    assert "no apt-get on this machine" in result.stdout
    assert result.stdout.splitlines()[-1].strip() == (
        "apt-get install -y --no-install-recommends make git"
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="the install branch is only chosen as root")
def test_root_with_apt_would_install_once(bare_path):
    """As root with apt-get on PATH the script chooses to install: --dry-run says exactly what it
    would run (the real install is what `make test` does on a bare machine)."""
    link(bare_path, "apt-get", "make", "git")
    result = run(["run", "--dry-run"], bare_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[tools] present: git make"
    result = run(["test", "--dry-run"], bare_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "[tools] installing Debian package prometheus for prometheus, promtool: "
        "cost and SLO tests backfill and query a real Prometheus (promtool checks rules)"
    )
    assert lines[-1] == (
        "[tools] would run: apt-get update -q && apt-get install -y --no-install-recommends "
        "prometheus prometheus-alertmanager chromium nodejs npm"
    )


def test_skip_env_skips_the_check(bare_path):
    result = run(["test"], bare_path, extra_env={"PORTAL_SKIP_TOOLS": "1"})
    assert result.returncode == 0
    assert "PORTAL_SKIP_TOOLS=1" in result.stdout
