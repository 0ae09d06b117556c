"""manage.py refresh_capacity [--cluster NAME]: read node allocatable GPUs into the registry."""

from django.core.management.base import BaseCommand, CommandError

from clusters.models import Cluster
from clusters.sync import refresh_capacity


class Command(BaseCommand):
    help = "Read GPU capacity (nvidia.com/gpu, mig-*, gpu.shared) from node allocatable."

    def add_arguments(self, parser):
        parser.add_argument("--cluster", help="only this cluster (name)")

    def handle(self, cluster=None, **options):
        cluster_id = None
        if cluster:
            cluster_id = Cluster.objects.filter(name=cluster).values_list("pk", flat=True).first()
            if cluster_id is None:
                raise CommandError(f"no cluster named {cluster!r}")
        counts = refresh_capacity(cluster_id=cluster_id)
        self.stdout.write(f"refreshed {counts['clusters']} cluster(s), {counts['errors']} error(s)")
