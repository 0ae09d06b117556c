"""A real `celery -A portal worker` subprocess for end-to-end tests, on the real Redis broker
and against the test database, on a queue of its own so parallel test runs never share tasks.

    def test_sync_through_worker(real_celery_worker):  # needs transactional_db
        real_celery_worker.start()
        ...                       # enqueue with .delay(): it goes to the worker's queue
        real_celery_worker.stop() # by pid; start() again to model a restart

The worker sees only committed rows: use `@pytest.mark.django_db(transaction=True)`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection


class CeleryWorker:
    def __init__(self, *, beat: bool = False, env: dict[str, str] | None = None):
        self.queue = f"test-{uuid.uuid4().hex[:12]}"
        self.beat = beat
        self.extra_env = env or {}
        self.dir = Path(tempfile.mkdtemp(prefix="celery-worker-"))
        self.log_path = self.dir / "worker.log"
        self.proc: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        db = settings.DATABASES["default"]
        name = connection.settings_dict["NAME"]  # the test database once pytest-django set it up
        url = f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:"
        url += f"{db.get('PORT') or 5432}/{name}"
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DATABASE_URL": url,
            "PORTAL_TEST_DB_NAME": name,
            "PORTAL_CELERY_QUEUE": self.queue,
            "REDIS_URL": settings.REDIS_URL,
            "PORTAL_ENCRYPTION_KEY": settings.PORTAL_ENCRYPTION_KEY,
            "PORTAL_GITOPS_ROOT": str(settings.PORTAL_GITOPS_ROOT),
            # a killed worker's beat keeps the scheduler lease (portal/beat.py) until it
            # expires: a short lease lets the restarted worker's beat take over in seconds
            "PORTAL_BEAT_LOCK_TTL_SECONDS": "3",
            **self.extra_env,
        }

    def start(self, timeout: float = 30.0) -> CeleryWorker:
        assert self.proc is None, "worker already running"
        cmd = [
            sys.executable, "-m", "celery", "-A", "portal", "worker",
            "--loglevel", "INFO", "--pool", "solo", "--queues", self.queue,
            "--hostname", f"{self.queue}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        if self.beat:
            cmd += ["--beat", "--schedule", str(self.dir / "beat-schedule")]
        log = open(self.log_path, "a")  # noqa: SIM115 - closed with the process
        # its own session: the embedded beat is a child process, and a signal to the group
        # reaches it too (a SIGKILLed worker would otherwise leave its beat running)
        self.proc = subprocess.Popen(
            cmd,
            cwd=settings.BASE_DIR,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited early:\n{self.log()}")
            if " ready." in self.log():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"celery worker not ready after {timeout}s:\n{self.log()}")

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._kill_group()
        self.proc = None

    def _kill_group(self) -> None:
        """Whatever the worker forked (the beat) goes with it."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a lost node would: no chance to ack or clean up."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self.proc is not None:
            self._kill_group()  # as a lost node would: the beat dies with it
        self.proc = None

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def purge(self) -> int:
        """Drop every message waiting in this worker's queue (models a lost enqueue)."""
        from portal.celery import app

        with app.connection_for_write() as conn:
            return conn.default_channel.queue_purge(self.queue) or 0
