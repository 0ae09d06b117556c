"""Celery tasks of the sync engine. Thin wrappers: the work is in clusters/sync.py."""

from celery import shared_task
from django.conf import settings

from portal.celery import app

from .backoff import full_jitter


def _countdown(retries: int) -> float:
    """Exponential backoff with full jitter, capped at five minutes."""
    base = float(getattr(settings, "PORTAL_SYNC_RETRY_SECONDS", 5))
    return full_jitter(retries, base=base, cap=300.0)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def sync_tenant(self, tenant_id: int, trigger: str = "change", actor: str = "") -> None:
    """Render, validate and apply one tenant's desired state to its cluster(s)."""
    from . import sync
    from .backends import TransientError

    try:
        sync.run_tenant_sync(tenant_id, trigger=trigger, actor=actor)
    except TransientError as exc:
        # The tenant stays pending; the reconcile beat would also pick it up.
        if self.request.retries >= int(getattr(settings, "PORTAL_SYNC_MAX_RETRIES", 8)):
            return
        raise self.retry(exc=exc, countdown=_countdown(self.request.retries)) from None


@shared_task(acks_late=True, reject_on_worker_lost=True)
def reconcile_tenants() -> int:
    """The outbox relay: re-enqueue every tenant whose applied generation lags."""
    from . import sync

    ids = sync.reconcile_tenant_ids()
    for tenant_id in ids:
        sync_tenant.delay(tenant_id, trigger="reconcile")
    return len(ids)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def check_drift(cluster_id: int | None = None) -> dict:
    from . import sync

    return sync.check_drift(cluster_id=cluster_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def refresh_capacity(cluster_id: int | None = None) -> dict:
    from . import sync

    return sync.refresh_capacity(cluster_id=cluster_id)


@app.on_after_finalize.connect
def register_periodic_tasks(sender, **kwargs):
    sender.add_periodic_task(
        float(getattr(settings, "PORTAL_RECONCILE_SECONDS", 60)),
        reconcile_tenants.s(),
        name="reconcile lagging tenants",
    )
    sender.add_periodic_task(
        float(getattr(settings, "PORTAL_DRIFT_CHECK_SECONDS", 600)),
        check_drift.s(),
        name="check drift",
    )
    sender.add_periodic_task(
        float(getattr(settings, "PORTAL_CAPACITY_REFRESH_SECONDS", 300)),
        refresh_capacity.s(),
        name="refresh GPU capacity",
    )
