"""gpu-portal project package: settings, URLs, the Celery app, roles and home dashboards."""

from .celery import app as celery_app

__all__ = ["celery_app"]
