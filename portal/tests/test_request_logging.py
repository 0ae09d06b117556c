"""Structured logs: LOG_FORMAT=json writes one JSON object per line with the request id, user and
tenant; the request id travels in the message headers into the Celery tasks a request enqueues
and shows in the real worker's log lines."""

import io
import json
import logging
import time

import pytest
from django.urls import reverse

from clusters.tests.sync_helpers import approved_tenant
from portal.log_format import JsonFormatter, RequestContextFilter, logging_config
from tenants.tests.factories import platform_admin


@pytest.fixture
def json_log():
    """The handler LOG_FORMAT=json configures, writing to a buffer, on the root logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous_level)


def lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.django_db
def test_json_lines_carry_request_id_user_and_tenant(client, kube_cluster, json_log):
    tenant = approved_tenant(kube_cluster)
    admin = platform_admin()
    client.force_login(admin)

    response = client.get(
        reverse("tenants_sync:panel", args=[tenant.slug]), HTTP_X_REQUEST_ID="req-abc.123"
    )

    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-abc.123"
    access = [e for e in lines(json_log) if e["logger"] == "portal.request"]
    assert len(access) == 1
    entry = access[0]
    assert entry["request_id"] == "req-abc.123"
    assert entry["user"] == admin.username
    assert entry["tenant"] == tenant.slug
    assert entry["http_status"] == 200 and entry["level"] == "INFO"
    assert entry["message"].startswith(f"GET /tenants/{tenant.slug}/sync/ 200")


@pytest.mark.django_db
def test_every_line_is_one_json_object_even_with_newlines_and_tracebacks(json_log):
    log = logging.getLogger("portal.tests")
    try:
        raise ValueError("line one\nline two")
    except ValueError:
        log.exception("failed:\n%s", "detail")
    text = json_log.getvalue()
    assert text.count("\n") == 1
    entry = json.loads(text)
    assert entry["message"] == "failed:\ndetail"
    assert "ValueError: line one" in entry["exception"]


def test_an_unsafe_request_id_is_replaced_by_a_new_one(client, db):
    response = client.get("/healthz", HTTP_X_REQUEST_ID='evil"\nid')
    new_id = response["X-Request-ID"]
    assert new_id != 'evil"\nid' and len(new_id) == 32 and new_id.isalnum()
    assert client.get("/healthz")["X-Request-ID"] != new_id  # one per request


def test_log_format_setting_is_checked():
    from django.core.exceptions import ImproperlyConfigured

    assert logging_config(log_format="json", level="INFO")["handlers"]["console"]["formatter"] == (
        "json"
    )
    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT"):
        logging_config(log_format="yaml", level="INFO")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_request_id_reaches_the_worker_log_of_the_task_the_request_enqueued(
    client, kube_cluster, real_celery_worker_factory
):
    worker = real_celery_worker_factory(
        env={"LOG_FORMAT": "json", "PORTAL_KUBE_BACKOFF_SECONDS": "0.01"}
    ).start()
    tenant = approved_tenant(kube_cluster)
    client.force_login(platform_admin())

    response = client.post(
        reverse("tenants_sync:force", args=[tenant.slug]), HTTP_X_REQUEST_ID="req-to-worker-42"
    )
    assert response.status_code == 302

    def task_lines():
        found = []
        for line in worker.log().splitlines():
            if line.startswith("{"):
                entry = json.loads(line)  # every log line of the worker is JSON
                if entry.get("task_name") == "clusters.tasks.sync_tenant":
                    found.append(entry)
        return found

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
        sum("succeeded" in e["message"] for e in task_lines()) < 2
    ):
        time.sleep(0.2)
    entries = task_lines()
    assert sum("succeeded" in e["message"] for e in entries) == 2, worker.log()[-3000:]
    # the tenant's first sync was enqueued by the test itself, outside any request
    by_task = {}
    for entry in entries:
        by_task.setdefault(entry["task_id"], set()).add(entry.get("request_id"))
    assert sorted(by_task.values(), key=str) == [{"req-to-worker-42"}, {None}], entries
