"""Carries the request id into the Celery tasks a request enqueues, and into their log lines.

before_task_publish puts the current request id into the message headers (the publishing side:
web, or a task that enqueues more tasks); task_prerun binds it, with the task's name and id, for
the task's run in the worker; task_postrun unbinds it. Connected in portal/celery.py.
"""

from __future__ import annotations

from celery import signals

from . import request_context

HEADER = "portal_request_id"
_tokens: dict[str, tuple] = {}


@signals.before_task_publish.connect
def put_request_id_in_headers(headers=None, **kwargs) -> None:
    request_id = request_context.current_request_id()
    if request_id and headers is not None and HEADER not in headers:
        headers[HEADER] = request_id


def request_id_of(task) -> str | None:
    """Celery puts custom message headers on the task request (protocol 2); older clients nest
    them under `headers`."""
    request = task.request
    value = getattr(request, HEADER, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(HEADER)
    return value


@signals.task_prerun.connect
def bind_task_context(task_id=None, task=None, **kwargs) -> None:
    # a task run eagerly inside a request (apply()) was never published: keep the request's id
    request_id = (request_id_of(task) if task is not None else None) or (
        request_context.current_request_id()
    )
    _tokens[task_id] = (
        request_context.request_id_var.set(request_id),
        request_context.task_var.set((task.name if task is not None else "", task_id)),
    )


@signals.task_postrun.connect
def unbind_task_context(task_id=None, **kwargs) -> None:
    tokens = _tokens.pop(task_id, None)
    if tokens:
        request_context.task_var.reset(tokens[1])
        request_context.request_id_var.reset(tokens[0])
