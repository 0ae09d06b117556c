"""Exactly one scheduler: two real `celery beat` processes started together against the real
Redis publish each periodic task once per interval, and when the leader stops (as in a rolling
update) the other takes over without repeating or skipping a beat.

The test reads the messages the beats publish straight from the Redis list of its own queue
(no worker consumes it), recording when each arrives."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
import redis
from django.conf import settings

pytestmark = pytest.mark.e2e

INTERVALS = {  # the clusters app's periodic tasks, on short intervals for the test
    "clusters.tasks.reconcile_tenants": ("PORTAL_RECONCILE_SECONDS", 1.0),
    "clusters.tasks.check_drift": ("PORTAL_DRIFT_CHECK_SECONDS", 2.0),
    "clusters.tasks.refresh_capacity": ("PORTAL_CAPACITY_REFRESH_SECONDS", 3.0),
}
LEASE_TTL = 3.0


class Beat:
    def __init__(self, name: str, queue: str, workdir: Path):
        self.log_path = workdir / f"{name}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PORTAL_CELERY_QUEUE": queue,
            "REDIS_URL": settings.REDIS_URL,
            "PORTAL_BEAT_LOCK_TTL_SECONDS": str(LEASE_TTL),
            **{var: str(seconds) for var, seconds in INTERVALS.values()},
        }
        log = open(self.log_path, "w")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "beat", "--loglevel", "INFO",
             "--schedule", str(workdir / f"{name}-schedule")],
            cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def log(self) -> str:
        return self.log_path.read_text()

    @property
    def leads(self) -> bool:
        return "holds the scheduler lease" in self.log()

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture
def queue():
    name = f"test-beat-{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield name
    client.delete(name, f"gpu-portal:beat-leader:{name}", f"gpu-portal:beat-leader:{name}:last-run")
    client.close()


@pytest.fixture
def beats(queue):
    workdir = Path(tempfile.mkdtemp(prefix="beats-"))
    started = [Beat("a", queue, workdir), Beat("b", queue, workdir)]
    yield started
    for beat in started:
        beat.stop()


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Collector(threading.Thread):
    """Pops the published task messages as they arrive, recording when, by task name."""

    def __init__(self, queue: str):
        super().__init__(daemon=True)
        self.queue = queue
        self.client = redis.Redis.from_url(settings.REDIS_URL)
        self.arrivals: list[tuple[float, str]] = []
        self.running = True

    def run(self):
        while self.running:
            popped = self.client.brpop([self.queue], timeout=1)
            if popped:
                task = json.loads(popped[1])["headers"]["task"]
                self.arrivals.append((time.monotonic(), task))

    def between(self, start: float, end: float) -> dict[str, list[float]]:
        by_task = defaultdict(list)
        for at, task in self.arrivals:
            if start <= at < end:
                by_task[task].append(at)
        return by_task

    def stop(self):
        self.running = False
        self.join(5)
        self.client.close()


def assert_once_per_interval(arrivals, seconds):
    for task, (_, interval) in INTERVALS.items():
        times = arrivals[task]
        expected = seconds / interval
        # two schedulers would publish about twice as many, some within milliseconds
        assert expected - 2 <= len(times) <= expected + 1, (task, len(times), expected)
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert min(gaps) > 0.5 * interval, (task, gaps)


def test_two_beats_started_together_schedule_each_periodic_task_once(beats, queue):
    wait_for(lambda: any(b.leads for b in beats), 60, "a leader")
    redis.Redis.from_url(settings.REDIS_URL).delete(queue)  # count from a known point
    collector = Collector(queue)
    collector.start()
    try:
        start = time.monotonic()
        time.sleep(7.0)
        assert [b.leads for b in beats].count(True) == 1, [b.log()[-2000:] for b in beats]
        assert_once_per_interval(collector.between(start, start + 7.0), 7.0)

        # a rolling update: the leader stops cleanly, the standby takes over within a third
        # of the lease and carries on from the leader's last runs (no burst, no gap)
        leader, standby = beats if beats[0].leads else beats[::-1]
        leader.stop()
        assert "released the scheduler lease" in leader.log()
        wait_for(lambda: standby.leads, LEASE_TTL, "the standby to take over")
        time.sleep(7.0)
        end = time.monotonic()
        assert_once_per_interval(collector.between(start, end), end - start)
    finally:
        collector.stop()
