"""Celery tasks of the costs app: the hourly usage pull of every cluster with a Prometheus."""

from celery import shared_task

from clusters.backoff import full_jitter
from clusters.prometheus import PrometheusTransientError
from portal.celery import app


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=5)
def pull_cluster_usage(self, cluster_id: int) -> None:
    """Pull every complete hour not yet stored for one cluster (idempotent, resumable)."""
    from clusters.prometheus import PrometheusPermanentError

    from . import services

    try:
        services.pull_usage(cluster_id=cluster_id)
    except PrometheusTransientError as exc:
        # a minute, two, four... up to half an hour, with full jitter
        countdown = full_jitter(self.request.retries, base=60.0, cap=1800.0)
        raise self.retry(exc=exc, countdown=countdown) from None
    except PrometheusPermanentError:
        # Recorded on the cluster's pull status; retrying will not help until someone fixes it.
        return


@shared_task(acks_late=True)
def pull_all_usage() -> None:
    """Attach rows of namespaces whose environment appeared since, then enqueue one pull per
    active cluster that has a Prometheus URL."""
    from clusters.models import Cluster

    from .services import reattribute_namespaces

    reattribute_namespaces()
    for cluster_id in (
        Cluster.objects.filter(is_active=True)
        .exclude(prometheus_url="")
        .values_list("pk", flat=True)
    ):
        pull_cluster_usage.delay(cluster_id)


@shared_task(acks_late=True)
def prune_hourly_usage() -> None:
    """Drop hourly rows past retention (daily rows are kept): idempotent."""
    from . import services

    services.prune_hourly()


@shared_task(acks_late=True)
def evaluate_budgets() -> None:
    """Send the budget alerts due (each threshold and the forecast once a month): idempotent."""
    from . import budgets

    budgets.evaluate_budgets()


@app.on_after_finalize.connect
def register_periodic_tasks(sender, **kwargs):
    # Ten past the hour: the previous hour is complete and ingested by then.
    from celery.schedules import crontab

    sender.add_periodic_task(
        crontab(minute=10), pull_all_usage.s(), name="costs: pull usage from Prometheus"
    )
    sender.add_periodic_task(
        crontab(minute=40, hour=3), prune_hourly_usage.s(), name="costs: prune old hourly usage"
    )
    # after the hourly pull has stored the previous hour
    sender.add_periodic_task(crontab(minute=35), evaluate_budgets.s(), name="costs: budget alerts")
