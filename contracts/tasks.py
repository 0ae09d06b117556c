"""Celery tasks of the contracts app: the SLI pull of every cluster with a Prometheus, next to
the usage pull and with the same failure rules."""

from celery import shared_task

from clusters.prometheus import PrometheusTransientError
from portal.celery import app


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(PrometheusTransientError,),
    retry_backoff=60,
    retry_backoff_max=1800,
    retry_jitter=True,
    max_retries=5,
)
def pull_cluster_slis(self, cluster_id: int) -> None:
    """Pull the SLIs of one cluster's SLO-bearing workloads (idempotent)."""
    from clusters.prometheus import PrometheusPermanentError

    from .sli_pull import pull_slis

    try:
        pull_slis(cluster_id=cluster_id)
    except PrometheusPermanentError:
        # Recorded on the workloads' SLO snapshots (a broken SLI shows); retrying will not help.
        return


@shared_task(acks_late=True)
def pull_all_slis() -> None:
    from clusters.models import Cluster

    for cluster_id in (
        Cluster.objects.filter(is_active=True)
        .exclude(prometheus_url="")
        .values_list("pk", flat=True)
    ):
        pull_cluster_slis.delay(cluster_id)


@app.on_after_finalize.connect
def register_periodic_tasks(sender, **kwargs):
    from celery.schedules import crontab

    # five minutes after the usage pull; every 15 minutes so burn rates stay current
    sender.add_periodic_task(
        crontab(minute="15,30,45,0"), pull_all_slis.s(), name="contracts: pull SLIs"
    )
