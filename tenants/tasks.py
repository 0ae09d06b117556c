"""Celery tasks of the tenants app (thin wrappers): the archive lifecycle's periodic step."""

from celery import shared_task
from django.conf import settings

from portal.celery import app


@shared_task(acks_late=True, reject_on_worker_lost=True)
def advance_archives() -> dict:
    """Stop archived tenants' workloads after the grace period; release their capacity once the
    cluster no longer holds their namespaces (tenants/archive.py). Idempotent."""
    from . import archive

    return archive.advance_archives()


@app.on_after_finalize.connect
def register_periodic_tasks(sender, **kwargs):
    sender.add_periodic_task(
        float(getattr(settings, "PORTAL_ARCHIVE_CHECK_SECONDS", 300)),
        advance_archives.s(),
        name="advance archived tenants",
    )
