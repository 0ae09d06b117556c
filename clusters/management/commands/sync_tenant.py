"""manage.py sync_tenant <slug> [--force]: sync one tenant now, in this process."""

from django.core.management.base import BaseCommand, CommandError

from clusters import registry
from clusters.backends import TransientError
from clusters.models import SyncRun
from clusters.sync import run_tenant_sync


class Command(BaseCommand):
    help = "Render, validate and apply one tenant's objects to its cluster(s) now."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--force", action="store_true", help="re-apply even if unchanged")

    def handle(self, slug, force=False, **options):
        tenant_id = registry.tenant_directory().tenant_id(slug)
        if tenant_id is None:
            raise CommandError(f"no tenant with slug {slug!r}")
        trigger = SyncRun.Trigger.FORCE if force else SyncRun.Trigger.CHANGE
        try:
            result = run_tenant_sync(tenant_id, trigger=trigger, actor="manage.py sync_tenant")
        except TransientError as exc:
            raise CommandError(
                f"{slug}: transient failure, the tenant stays pending: {exc}"
            ) from exc
        for run in result.runs:
            counts: dict[str, int] = {}
            for r in run.results.all():
                counts[r.action] = counts.get(r.action, 0) + 1
            summary = ", ".join(f"{n} {a}" for a, n in sorted(counts.items())) or "no writes"
            self.stdout.write(f"{slug} on {run.cluster.name}: {run.status} ({summary})")
            if run.message:
                self.stdout.write(f"  {run.message}")
        if not result.applied:
            raise CommandError(f"{slug}: not applied")
