"""Shared pytest fixtures (loaded from the root conftest via `pytest_plugins`):

- `kube_emulator`: a fresh Kubernetes API emulator on 127.0.0.1 per test (kube_emulator.py);
- `kube_cluster`: a Cluster row whose API server is that emulator (fast API retries);
- `real_celery_worker`: a real Celery worker subprocess on its own queue (celery_worker.py),
  not started yet; `real_celery_worker_factory(beat=..., env=...)` for more or other ones.
"""

import contextlib

import pytest

from .celery_worker import CeleryWorker
from .kube_emulator import KubeEmulator


@pytest.fixture
def kube_emulator():
    emulator = KubeEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def kube_cluster(db, kube_emulator, settings):
    from clusters.tests.factories import ClusterFactory

    settings.PORTAL_KUBE_BACKOFF_SECONDS = 0.01
    settings.PORTAL_KUBE_TIMEOUT_SECONDS = 5
    return ClusterFactory(api_server_url=kube_emulator.url, api_token="test-token")


@pytest.fixture
def real_celery_worker_factory(settings):
    from portal.celery import app

    started: list[CeleryWorker] = []
    previous = app.conf.task_default_queue

    def make(*, beat: bool = False, env: dict | None = None) -> CeleryWorker:
        worker = CeleryWorker(beat=beat, env=env)
        # tasks enqueued by this test process go to the worker's own queue
        settings.CELERY_TASK_DEFAULT_QUEUE = worker.queue
        app.conf.task_default_queue = worker.queue
        started.append(worker)
        return worker

    yield make
    for worker in started:
        worker.stop()
        with contextlib.suppress(Exception):  # best-effort cleanup of a test queue
            worker.purge()
    app.conf.task_default_queue = previous


@pytest.fixture
def real_celery_worker(real_celery_worker_factory):
    return real_celery_worker_factory()


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1 that Django's SMTP backend sends to."""
    from .receivers import SmtpServer

    server = SmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()


@pytest.fixture
def webhook_receiver():
    from .receivers import WebhookReceiver

    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()
