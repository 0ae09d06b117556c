"""The Celery application; tasks live in each app's tasks.py."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("gpu_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# request ids travel from the web request into the tasks it enqueues (and their log lines)
from . import task_context  # noqa: E402, F401


@signals.setup_logging.connect
def use_portal_logging(loglevel=None, **kwargs):
    """Worker and beat log through settings.LOGGING (LOG_FORMAT), not Celery's own handlers."""
    import logging
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel and not os.environ.get("LOG_LEVEL"):
        logging.getLogger().setLevel(loglevel)
