"""manage.py check_drift [--cluster NAME] [--no-repair]: compare live objects with desired."""

from django.core.management.base import BaseCommand, CommandError

from clusters.models import Cluster
from clusters.sync import check_drift


class Command(BaseCommand):
    help = "Compare live objects with desired (our fields only), record drift and re-apply."

    def add_arguments(self, parser):
        parser.add_argument("--cluster", help="only this cluster (name)")
        parser.add_argument("--no-repair", action="store_true", help="report only")

    def handle(self, cluster=None, no_repair=False, **options):
        cluster_id = None
        if cluster:
            cluster_id = Cluster.objects.filter(name=cluster).values_list("pk", flat=True).first()
            if cluster_id is None:
                raise CommandError(f"no cluster named {cluster!r}")
        counts = check_drift(cluster_id=cluster_id, repair=not no_repair)
        self.stdout.write(
            f"checked {counts['checked']} tenant(s): {counts['drifted']} drifted, "
            f"{counts['errors']} error(s)"
        )
