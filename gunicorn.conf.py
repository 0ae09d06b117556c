"""gunicorn settings of the web process, read by gunicorn from the working directory (the
repository root, /app in the image) without any flag.

- Request metrics of every worker are summed at /metrics (prometheus_client multiprocess mode):
  PROMETHEUS_MULTIPROC_DIR defaults to a fresh directory under $TMPDIR (an emptyDir when the root
  filesystem is read-only), emptied at start, and a dead worker's live gauges are dropped.
- gunicorn's own lines follow LOG_FORMAT too, and its access log is silenced (even with
  --access-logfile): the portal's `portal.request` line is the access log, with request id, user
  and tenant.

Only hooks and logging live here: bind, workers and threads stay on the command line.
"""

import os
import tempfile
from pathlib import Path

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # set before the workers fork and import prometheus_client, so they all write here
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="gpu-portal-metrics-")

_LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "portal.log_format.JsonFormatter"},
        "text": {"()": "portal.log_format.TextFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if _LOG_FORMAT == "json" else "text",
        }
    },
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # the portal's `portal.request` line is the access log (request id, user, tenant)
        "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}


def on_starting(server):
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):  # left by a previous run of this pod
        stale.unlink()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
