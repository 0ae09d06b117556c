"""Readiness: can this process serve? PostgreSQL answers, Redis answers, migrations are applied.

Each check returns a Check with the failing part's name and the error, so /readyz can say which
dependency is down (and a human reading the probe's body knows where to look).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


# Once every migration is applied it stays so for the life of the process: the plan (which reads
# every migration file) is computed until then, not on every probe.
_migrations_applied = False


def check_postgresql(alias: str = DEFAULT_DB_ALIAS) -> Check:
    connection = connections[alias]
    try:
        # a pooled connection can be dead after a database restart: drop it, reconnect
        if connection.connection is not None and not connection.is_usable():
            connection.close()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", named below
        if not connection.in_atomic_block:
            connection.close()
        return Check("postgresql", False, _first_line(exc))
    return Check("postgresql", True)


def check_migrations(alias: str = DEFAULT_DB_ALIAS) -> Check:
    global _migrations_applied
    if _migrations_applied:
        return Check("migrations", True)
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connections[alias])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:  # noqa: BLE001
        return Check("migrations", False, _first_line(exc))
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
        more = f" and {len(plan) - 5} more" if len(plan) > 5 else ""
        return Check(
            "migrations",
            False,
            f"{len(plan)} unapplied: {names}{more}; run `manage.py migrate` (the chart's "
            "migration Job does this before an upgrade)",
        )
    _migrations_applied = True
    return Check("migrations", True)


def check_redis(url: str | None = None) -> Check:
    import redis

    timeout = settings.PORTAL_READINESS_TIMEOUT_SECONDS
    client = redis.Redis.from_url(
        url or settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        return Check("redis", False, _first_line(exc))
    finally:
        client.close()
    return Check("redis", True)


def readiness() -> list[Check]:
    database = check_postgresql()
    checks = [database, check_redis()]
    # migrations can only be read from a database that answers
    if database.ok:
        checks.append(check_migrations())
    else:
        checks.append(Check("migrations", False, "unknown: PostgreSQL is unreachable"))
    return checks


def _first_line(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
