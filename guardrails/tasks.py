"""Celery tasks of the guardrails: thin wrappers over services."""

from celery import shared_task
from django.conf import settings

from portal.celery import app


@shared_task(acks_late=True, reject_on_worker_lost=True)
def expire_guardrail_exceptions() -> int:
    """Exceptions past their end date stop rendering: re-sync their tenants."""
    from . import services

    return services.expire_lapsed_exceptions()


@app.on_after_finalize.connect
def register_periodic_tasks(sender, **kwargs):
    sender.add_periodic_task(
        float(getattr(settings, "PORTAL_GUARDRAILS_EXPIRY_SECONDS", 300)),
        expire_guardrail_exceptions.s(),
        name="expire guardrail exceptions",
    )
