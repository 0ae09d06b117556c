"""manage.py pull_usage --cluster NAME [--start ISO --end ISO]: pull usage by hand."""

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from clusters.models import Cluster
from clusters.prometheus import PrometheusError
from costs import services
from portal.domain_errors import DomainError


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(
            f"{value!r} is not an ISO date or datetime (e.g. 2026-01-05T00:00)"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Pull whole hours of GPU usage from a cluster's Prometheus into hourly rollups."

    def add_arguments(self, parser):
        parser.add_argument("--cluster", required=True, help="Cluster name")
        parser.add_argument("--start", help="ISO start (default: resume from the last stored hour)")
        parser.add_argument("--end", help="ISO end, exclusive (default: the last complete hour)")

    def handle(self, *args, cluster, start=None, end=None, **options):
        try:
            target = Cluster.objects.get(name=cluster)
        except Cluster.DoesNotExist:
            raise CommandError(f"no cluster named {cluster!r}") from None
        bar = tqdm(total=0, unit="query", desc=f"pull {cluster}", file=self.stderr._out)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            result = services.pull_usage(
                cluster_id=target.pk,
                start=_moment(start) if start else None,
                end=_moment(end) if end else None,
                progress=progress,
            )
        except PrometheusError as exc:
            raise CommandError(f"pull failed, nothing of the failed window stored: {exc}") from exc
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        self.stdout.write(
            f"{result.cluster}: {result.rows} hourly rows in {result.windows} window(s) "
            f"from {result.start} to {result.end} ({result.queries} queries)"
        )
        if result.hours_without_data:
            self.stdout.write(
                f"{result.hours_without_data} hour(s) had no sample in Prometheus (beyond its "
                "retention, or a gap): what was stored for them was kept."
            )
