"""Celery tasks of the sync engine. Thin wrappers: the work is in clusters/sync.py."""

from celery import shared_task


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def sync_tenant(self, tenant_id: int) -> None:
    """Render, validate and apply one tenant's desired state to its cluster(s)."""
    from . import sync

    sync.run_tenant_sync(tenant_id)
