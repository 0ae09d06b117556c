"""What the sync engine tells platform admins: a sync failed, is blocked by foreign objects,
conflicts with another field manager, or waits for their confirmation.

One notification per (tenant, cluster, desired state, status): a retried failure of the same
desired state is not announced again."""

from django.urls import reverse

from notifications import kinds
from notifications.services import emit

from .models import SyncRun

# statuses an admin has to act on, and how the subject says it
ATTENTION = {
    SyncRun.Status.FAILED: "failed",
    SyncRun.Status.WAITING: "waits for confirmation",
    SyncRun.Status.BLOCKED: "is blocked by objects the portal does not own",
    SyncRun.Status.CONFLICT: "conflicts with another field manager",
}


def sync_needs_attention(run: SyncRun) -> None:
    what = ATTENTION.get(run.status)
    if what is None:
        return
    emit(
        kind=kinds.SYNC_FAILED.name,
        subject=f"Sync of {run.tenant_slug} to {run.cluster} {what}",
        body=run.message or "",
        tenant_id=run.tenant_id,
        tenant_slug=run.tenant_slug,
        url=reverse("tenants_sync:panel", args=[run.tenant_slug]),
        payload={
            "tenant": run.tenant_slug,
            "cluster": str(run.cluster),
            "status": run.status,
            "generation": run.generation,
            "message": run.message,
        },
        dedupe_key=f"sync:{run.tenant_id}:{run.cluster_id}:{run.desired_hash or run.generation}"
        f":{run.status}",
    )
