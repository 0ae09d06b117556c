"""Who and what a log line is about: the request id (from X-Request-ID or a new one), the
signed-in user and the tenant, held in context variables for the request or Celery task at hand.

The middleware binds a request; Celery signals (portal/task_context.py) carry the request id into
the tasks it enqueues. portal/log_format.py reads the context into every log record.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid

from django.utils.functional import SimpleLazyObject, empty

REQUEST_ID_HEADER = "X-Request-ID"
# Ids from a proxy or client are kept when they are short and plain; anything else is replaced,
# so a header can never inject quotes or newlines into a log line.
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# Views whose URL names a tenant by slug (the tenants and tenant-sync pages).
_TENANT_NAMESPACES = {"tenants", "tenants_sync"}

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "portal_request_id", default=None
)
_request_var: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "portal_request", default=None
)
task_var: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "portal_task", default=None
)

access_log = logging.getLogger("portal.request")
# Probes and scrapes arrive every few seconds: their access lines are DEBUG, not INFO.
QUIET_PATHS = {"/healthz", "/readyz", "/metrics"}


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(value: str | None) -> str:
    """The caller's id when it is safe to log as is, otherwise a new one."""
    if value and _ACCEPTED_ID.match(value):
        return value
    return new_request_id()


def current_request_id() -> str | None:
    return request_id_var.get()


def current_user() -> str | None:
    """The signed-in user's name, only once something already loaded it: logging never
    triggers the session query itself (it may run inside a failing database call)."""
    request = _request_var.get()
    if request is None:
        return None
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = user._wrapped
        if user is empty:
            return None
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.get_username()


def current_tenant() -> str | None:
    request = _request_var.get()
    match = getattr(request, "resolver_match", None)
    if match is None:
        return None
    if "tenant" in match.kwargs:
        return str(match.kwargs["tenant"])
    if match.namespace in _TENANT_NAMESPACES and "slug" in match.kwargs:
        return str(match.kwargs["slug"])
    return None


def current_task() -> tuple[str, str] | None:
    """(task name, task id) inside a Celery task."""
    return task_var.get()


class RequestIdMiddleware:
    """First in MIDDLEWARE: binds the request's id for logs and enqueued tasks, answers it in
    the X-Request-ID response header, and writes one access log line per request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = accepted_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        id_token = request_id_var.set(request_id)
        request_token = _request_var.set(request)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            elapsed_ms = (time.perf_counter() - started) * 1000
            access_log.log(
                logging.DEBUG if request.path in QUIET_PATHS else logging.INFO,
                "%s %s %s %.1fms",
                request.method,
                request.path,
                response.status_code,
                elapsed_ms,
                extra={
                    "http_method": request.method,
                    "http_path": request.path,
                    "http_status": response.status_code,
                    "duration_ms": round(elapsed_ms, 1),
                },
            )
            return response
        finally:
            _request_var.reset(request_token)
            request_id_var.reset(id_token)
