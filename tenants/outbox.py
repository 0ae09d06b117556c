"""The transactional outbox of desired state: bump a tenant's desired generation in the caller's
transaction and enqueue its sync only once that transaction commits.

If the enqueue is lost (Redis down, worker killed), the reconcile beat task in clusters/tasks.py
finds applied_generation < desired_generation and enqueues it again: delayed, never lost.
"""

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce, Now

from .models import Tenant


def bump_desired_generation(tenant_id: int) -> None:
    """Call inside the transaction that changed the tenant's desired state."""
    Tenant.objects.filter(pk=tenant_id).update(
        desired_generation=F("desired_generation") + 1,
        # the clock of the oldest unapplied change keeps running until mark_applied catches up
        sync_pending_since=Coalesce(F("sync_pending_since"), Now()),
    )
    transaction.on_commit(lambda: enqueue_sync(tenant_id))


def enqueue_sync(tenant_id: int) -> None:
    """Best effort: a broker outage here only delays the sync until the reconcile beat runs."""
    from clusters.tasks import sync_tenant

    try:
        sync_tenant.delay(tenant_id)
    except Exception:  # noqa: BLE001 - the outbox row (generation lag) is the guarantee
        import logging

        logging.getLogger(__name__).warning(
            "could not enqueue sync of tenant %s; the reconcile beat will retry", tenant_id
        )
