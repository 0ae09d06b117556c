"""Celery tasks of notifications: thin wrappers around services.deliver."""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from portal.celery import app


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def deliver_notification(self, delivery_id: int) -> str:
    from . import services
    from .models import Delivery

    delivery = services.deliver(delivery_id)
    if delivery is None:
        return "skipped"
    if delivery.status == Delivery.Status.PENDING and delivery.next_attempt_at:
        # retried in place; should the worker die, the redelivery beat finds the row
        wait = max(0.0, (delivery.next_attempt_at - timezone.now()).total_seconds())
        raise self.retry(countdown=wait)
    return delivery.status


@shared_task(acks_late=True, reject_on_worker_lost=True)
def redeliver_due() -> int:
    """The outbox relay: enqueue every pending delivery whose time has come."""
    from . import services

    ids = services.due_delivery_ids()
    services.enqueue_deliveries(ids)
    return len(ids)


@app.on_after_finalize.connect
def register_periodic_tasks(sender, **kwargs):
    sender.add_periodic_task(
        float(settings.PORTAL_NOTIFICATIONS_REDELIVER_SECONDS),
        redeliver_due.s(),
        name="notifications: redeliver pending",
    )
