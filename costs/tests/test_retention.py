"""Retention guard: a re-pull never deletes stored hours Prometheus no longer holds. A second
real Prometheus holds only the second day of the fleet (its retention dropped the first); a
re-pull of both days against it keeps every stored row."""

from datetime import timedelta

import pytest

from costs import services
from costs.models import DailyUsage, HourlyUsage
from costs.tests import fleet
from costs.tests.fleet_fixtures import NOW, pull
from portal.domain_errors import DomainError
from portal.testing.prometheus import start_prometheus

pytestmark = pytest.mark.prometheus


@pytest.fixture(scope="module")
def shorter_retention(tmp_path_factory):
    metrics, _ = fleet.generate(first_hour=24)
    server = start_prometheus(metrics.text(), tmp_path_factory.mktemp("retention"))
    yield server
    server.stop()


def snapshot():
    hourly = sorted(
        HourlyUsage.objects.values_list(
            "namespace", "resource_name", "gpu_product", "hour", "unit_hours", "gpu_hours"
        )
    )
    daily = sorted(DailyUsage.objects.values_list("namespace", "gpu_product", "day", "unit_hours"))
    return hourly, daily


def test_a_repull_beyond_retention_deletes_nothing(mixed, shorter_retention):
    cluster, _ = mixed
    pull(cluster)
    before = snapshot()
    assert HourlyUsage.objects.filter(hour__lt=fleet.hours_after(24)).count() > 0
    cluster.prometheus_url = shorter_retention.url
    cluster.save()

    result = pull(cluster)
    assert result.hours_without_data == 24
    assert snapshot() == before

    # a window entirely older than anything Prometheus still holds
    older = pull(cluster, start=fleet.BASE - timedelta(days=1), end=fleet.hours_after(24))
    assert older.hours_without_data == 48
    assert snapshot() == before


def test_a_pull_before_the_hourly_retention_is_refused(mixed, settings):
    cluster, _ = mixed
    settings.COSTS_HOURLY_RETENTION_DAYS = 1

    with pytest.raises(DomainError, match="kept only as daily totals"):
        services.pull_usage(cluster_id=cluster.pk, start=fleet.BASE, now=NOW)


def test_a_resumed_pull_older_than_the_hourly_retention_starts_at_it(db, settings):
    from datetime import UTC, datetime

    from clusters.prometheus import PrometheusError
    from clusters.tests.factories import ClusterFactory
    from costs.models import ClusterPullStatus

    settings.COSTS_HOURLY_RETENTION_DAYS = 2
    cluster = ClusterFactory(name="dormant", prometheus_url="")
    ClusterPullStatus.objects.create(cluster=cluster, pulled_until=datetime(2025, 1, 1, tzinfo=UTC))
    now = datetime(2026, 1, 10, 12, 30, tzinfo=UTC)

    with pytest.raises(PrometheusError):  # no Prometheus configured: the pull fails after
        services.pull_usage(cluster_id=cluster.pk, now=now)

    assert ClusterPullStatus.objects.get(cluster=cluster).pulled_until == datetime(
        2026, 1, 8, tzinfo=UTC
    )
