"""scripts/run_portal.py: web + worker + beat under one supervisor that stops all of them on
Ctrl-C or when one dies. Runs the real script (gunicorn, Celery worker, Celery beat)."""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from scripts.devservices import alive

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Supervisor:
    def __init__(self, tmp_path):
        self.port = free_port()
        env = {
            **os.environ,
            "PORTAL_DEVDATA": str(tmp_path),
            # its own queue, so it never takes tasks meant for anyone else's worker
            "PORTAL_CELERY_QUEUE": f"run-portal-test-{uuid.uuid4().hex[:8]}",
            "WEB_CONCURRENCY": "1",
        }
        env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
        env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gpu_portal")
        self.proc = subprocess.Popen(
            [sys.executable, "scripts/run_portal.py", "--no-setup", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := re.search(pattern, line):
                    return match
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} not seen:\n{''.join(self.lines)}")

    def child_pids(self) -> dict[str, int]:
        return {
            name: int(self.wait_for(rf"^\s*{name} \| started, pid (\d+)").group(1))
            for name in ("web", "worker", "beat")
        }

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in self.child_pids().values():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def supervisor(tmp_path):
    running = Supervisor(tmp_path)
    yield running
    running.stop()


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status


def test_serves_the_portal_and_ctrl_c_stops_web_worker_and_beat(supervisor):
    pids = supervisor.child_pids()
    supervisor.wait_for(r"celery@\S+ ready")
    assert get(f"http://127.0.0.1:{supervisor.port}/accounts/login/") == 200
    supervisor.proc.send_signal(signal.SIGINT)
    assert supervisor.proc.wait(30) == 0
    assert not [name for name, pid in pids.items() if alive(pid)]


def test_when_one_process_dies_the_others_are_stopped_and_the_exit_is_non_zero(supervisor):
    pids = supervisor.child_pids()
    supervisor.wait_for(r"Listening at: http://127.0.0.1")
    os.kill(pids["beat"], signal.SIGKILL)
    assert supervisor.proc.wait(30) != 0
    assert not [name for name, pid in pids.items() if alive(pid)]
    supervisor.wait_for(r"beat \| exited with code")
