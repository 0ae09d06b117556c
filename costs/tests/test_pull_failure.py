"""Prometheus dying in the middle of a pull: nothing of the window is stored, the failure is
shown on the cluster's pull status, and the next pull (Prometheus back) fills the hours."""

from datetime import timedelta

import pytest

from clusters.prometheus import PrometheusTransientError
from costs import services
from costs.models import ClusterPullStatus, DailyUsage, HourlyUsage
from costs.tests.dataset import BASE, generate, hours_after
from portal.testing.prometheus import start_prometheus
from tenants.tests.factories import platform_admin

pytestmark = pytest.mark.prometheus

NOW = hours_after(24) + timedelta(minutes=10)


@pytest.fixture
def server(tmp_path):
    metrics, _ = generate(24)
    server = start_prometheus(metrics.text(), tmp_path / "prom")
    yield server
    server.stop()


def _stop_after_first_query(server):
    def progress(done, total):
        if done == 1:
            server.stop()

    return progress


def test_prometheus_stopped_mid_pull_commits_nothing(world, server, settings):
    settings.COSTS_BACKFILL_DAYS = 1
    cluster, *_ = world(server.url)

    with pytest.raises(PrometheusTransientError):
        services.pull_usage(
            cluster_id=cluster.pk, now=NOW, progress=_stop_after_first_query(server)
        )

    assert HourlyUsage.objects.count() == 0
    assert DailyUsage.objects.count() == 0
    status = ClusterPullStatus.objects.get(cluster=cluster)
    assert status.pulled_until is None
    assert status.state == ClusterPullStatus.State.FAILING
    assert "unreachable" in status.last_error


def test_failed_pull_is_shown_on_the_cluster_pull_status_partial(world, server, settings, client):
    settings.COSTS_BACKFILL_DAYS = 1
    cluster, *_ = world(server.url)
    with pytest.raises(PrometheusTransientError):
        services.pull_usage(
            cluster_id=cluster.pk, now=NOW, progress=_stop_after_first_query(server)
        )
    client.force_login(platform_admin())

    response = client.get(f"/costs/clusters/{cluster.name}/pull-status/")

    assert response.status_code == 200
    assert b"Failing" in response.content
    assert b"unreachable" in response.content


def test_next_pull_after_prometheus_returns_stores_every_hour(world, server, settings, tmp_path):
    settings.COSTS_BACKFILL_DAYS = 1
    cluster, *_ = world(server.url)
    with pytest.raises(PrometheusTransientError):
        services.pull_usage(
            cluster_id=cluster.pk, now=NOW, progress=_stop_after_first_query(server)
        )
    port = int(server.url.rsplit(":", 1)[1])
    again = start_prometheus(None, tmp_path / "prom", port=port)
    try:
        services.pull_usage(cluster_id=cluster.pk, now=NOW)
    finally:
        again.stop()

    status = ClusterPullStatus.objects.get(cluster=cluster)
    assert status.state == ClusterPullStatus.State.OK
    assert status.pulled_until == hours_after(24)
    hours = set(HourlyUsage.objects.filter(namespace="alpha-prod").values_list("hour", flat=True))
    assert hours == {BASE + timedelta(hours=h) for h in range(24)}
