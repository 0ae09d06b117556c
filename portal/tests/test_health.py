"""/healthz and /readyz over real connections: a database or Redis that does not answer makes
the pod not ready with the failing part named, and it is ready again once they answer."""

import json
import socket

import pytest
from django.db import connection

from portal import health

pytestmark = pytest.mark.django_db(transaction=True)


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthz_answers_without_touching_any_dependency(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


def test_readyz_is_ok_when_postgresql_redis_and_migrations_are(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok" and body["failing"] == []
    assert set(body["checks"]) == {"postgresql", "redis", "migrations"}


def test_readyz_names_postgresql_when_the_database_is_unreachable_and_recovers(client):
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(closed_port())
    try:
        down = client.get("/readyz")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port

    assert down.status_code == 503
    body = json.loads(down.content)
    assert body["status"] == "unavailable"
    assert "postgresql" in body["failing"]
    assert body["checks"]["postgresql"]["ok"] is False
    assert "connection" in body["checks"]["postgresql"]["detail"].lower()
    assert "postgresql" in body["detail"]
    assert body["checks"]["redis"]["ok"] is True

    again = client.get("/readyz")
    assert again.status_code == 200, again.content


def test_readyz_names_redis_when_redis_is_unreachable(client, settings):
    real = settings.REDIS_URL
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    down = client.get("/readyz")
    settings.REDIS_URL = real

    assert down.status_code == 503
    assert down.json()["failing"] == ["redis"]
    assert client.get("/readyz").status_code == 200


def test_unapplied_migrations_are_named_with_the_command_that_applies_them(monkeypatch):
    """Roll one real migration back in the test database, then forward again."""
    from django.core.management import call_command

    monkeypatch.setattr(health, "_migrations_applied", False)
    call_command("migrate", "tenants", "0003_tenant_spec_apply", verbosity=0)
    try:
        check = health.check_migrations()
    finally:
        call_command("migrate", "tenants", verbosity=0)
    assert not check.ok
    assert "tenants.0004_tenant_sync_pending_since" in check.detail
    assert "manage.py migrate" in check.detail
    assert health.check_migrations().ok
