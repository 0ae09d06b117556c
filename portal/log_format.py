"""Log formats: LOG_FORMAT=json writes one JSON object per line (for a log pipeline), the default
writes plain text; both carry the request id, user, tenant and Celery task where known."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from . import request_context

# Attributes every LogRecord has; anything else on a record came from `extra=` and is kept.
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_CONTEXT_ATTRS = ("request_id", "user", "tenant", "task_name", "task_id")


class RequestContextFilter(logging.Filter):
    """Copies the request/task context onto each record (on the handler, so records of every
    logger get it, including Celery's and Django's)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_context.current_request_id()
        if getattr(record, "user", None) is None:
            record.user = request_context.current_user()
        if getattr(record, "tenant", None) is None:
            record.tenant = request_context.current_tenant()
        task = request_context.current_task()
        record.task_name, record.task_id = task if task else (None, None)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for name in _CONTEXT_ATTRS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRS and name not in _CONTEXT_ATTRS and name not in entry:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Readable lines for a terminal, with the request id and task when there is one."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        parts = [
            f"{name}={getattr(record, name)}"
            for name in ("request_id", "user", "tenant", "task_name")
            if getattr(record, name, None) is not None
        ]
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return super().format(record)


def logging_config(*, log_format: str, level: str) -> dict:
    """The LOGGING dict for settings.py (also applied by the Celery worker and beat)."""
    if log_format not in {"json", "text"}:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"LOG_FORMAT must be 'json' or 'text', not {log_format!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_context": {"()": "portal.log_format.RequestContextFilter"}},
        "formatters": {
            "json": {"()": "portal.log_format.JsonFormatter"},
            "text": {"()": "portal.log_format.TextFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request_context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
    }
