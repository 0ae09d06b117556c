"""The usage pull against a real Prometheus with known answers: the API agrees with numbers
computed independently from the generated samples, pulls are idempotent and resumable, and MIG
and time-sliced units are priced by their fraction of a GPU."""

from datetime import timedelta
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from costs import services
from costs.models import ClusterPullStatus, DailyUsage, HourlyUsage
from costs.tests.conftest import A10_PRICE, H100_PRICE, HOURS
from costs.tests.dataset import BASE, hours_after
from tenants.tests.factories import finance

pytestmark = pytest.mark.prometheus

TENANT_NAMESPACES = {"alpha": ["alpha-dev", "alpha-prod"], "beta": ["beta-dev"]}
UNIT_PRICE = {
    "nvidia_com_gpu": H100_PRICE,
    "nvidia_com_mig_1g_10gb": H100_PRICE / 7,
    "nvidia_com_gpu_shared": A10_PRICE * Decimal("0.25"),
}
NOW = hours_after(HOURS) + timedelta(minutes=30)


def _expected_by_tenant(expected):
    out = {}
    for tenant, namespaces in TENANT_NAMESPACES.items():
        cost = sum(
            Decimal(repr(hours)) * UNIT_PRICE[res]
            for (ns, res), hours in expected.unit_hours.items()
            if ns in namespaces
        )
        gpu_hours = sum(expected.gpu_hours.get(ns, 0) for ns in namespaces)
        used = sum(expected.used_gpu_hours.get(ns, 0) for ns in namespaces)
        out[tenant] = {"gpu_hours": gpu_hours, "used": used, "cost": cost}
    return out


def _api_rows():
    client = APIClient()
    client.force_authenticate(finance())
    response = client.get("/api/v1/costs/tenants/", {"start": "2026-01-05", "end": "2026-01-07"})
    assert response.status_code == 200, response.content
    return {row["tenant"]: row for row in response.json()["results"]}


def _pull_all(cluster):
    return services.pull_usage(cluster_id=cluster.pk, start=BASE, end=hours_after(HOURS), now=NOW)


def _snapshot():
    return sorted(
        HourlyUsage.objects.values_list(
            "namespace", "workload", "resource_name", "hour", "unit_hours", "used_unit_hours",
            "gpu_hours", "fb_peak_mib", "requests", "tenant_id", "profile_id",
        )
    )  # fmt: skip


def test_api_costs_per_tenant_agree_with_independent_computation(world, prometheus, dataset):
    cluster, *_ = world(prometheus.url)
    _pull_all(cluster)

    rows = _api_rows()

    for tenant, want in _expected_by_tenant(dataset[1]).items():
        got = rows[tenant]
        assert got["gpu_hours_allocated"] == pytest.approx(want["gpu_hours"], rel=1e-3)
        assert got["gpu_hours_used"] == pytest.approx(want["used"], rel=1e-3)
        assert got["utilization"] == pytest.approx(want["used"] / want["gpu_hours"], rel=1e-3)
        assert Decimal(got["cost_allocated"]) == pytest.approx(want["cost"], rel=Decimal("1e-3"))
        assert got["currency"] == "USD"


def test_idle_cost_is_allocated_cost_times_unused_share(world, prometheus):
    cluster, *_ = world(prometheus.url)
    _pull_all(cluster)

    row = _api_rows()["alpha"]

    # alpha has one resource per namespace, so idle = cost x (1 - utilization) per namespace
    assert Decimal(row["cost_idle"]) < Decimal(row["cost_allocated"])
    assert Decimal(row["cost_idle"]) > 0


def test_inference_requests_are_attributed_to_the_workload(world, prometheus, dataset):
    cluster, *_ = world(prometheus.url)
    _pull_all(cluster)

    requests = HourlyUsage.objects.filter(namespace="alpha-prod", workload="ranker")
    assert sum(r.requests for r in requests) == pytest.approx(
        dataset[1].requests["alpha-prod"], rel=1e-3
    )


def test_unallocated_gpus_are_stored_as_idle_capacity(world, prometheus, dataset):
    cluster, *_ = world(prometheus.url)
    _pull_all(cluster)

    idle = HourlyUsage.objects.filter(namespace="", tenant__isnull=True)
    assert sum(r.gpu_hours for r in idle) == pytest.approx(dataset[1].idle_gpu_hours, rel=1e-3)


def test_pulling_the_same_hours_twice_changes_nothing(world, prometheus):
    cluster, *_ = world(prometheus.url)
    _pull_all(cluster)
    first = _snapshot()
    daily = sorted(DailyUsage.objects.values_list("namespace", "day", "unit_hours", "hours"))

    _pull_all(cluster)

    assert _snapshot() == first
    assert (
        sorted(DailyUsage.objects.values_list("namespace", "day", "unit_hours", "hours")) == daily
    )


def test_resumed_pull_fills_the_hours_missed_since_the_last_one(world, prometheus, settings):
    cluster, *_ = world(prometheus.url)
    settings.COSTS_BACKFILL_DAYS = 1
    services.pull_usage(cluster_id=cluster.pk, now=hours_after(24) + timedelta(minutes=10))
    assert ClusterPullStatus.objects.get(cluster=cluster).pulled_until == hours_after(24)
    assert HourlyUsage.objects.filter(hour__gte=hours_after(24)).count() == 0

    # the beat missed two days; the next pull continues from the last stored hour
    services.pull_usage(cluster_id=cluster.pk, now=NOW)

    assert ClusterPullStatus.objects.get(cluster=cluster).pulled_until == hours_after(HOURS)
    hours = set(HourlyUsage.objects.filter(namespace="alpha-prod").values_list("hour", flat=True))
    assert hours == {hours_after(h) for h in range(HOURS)}


def test_resumed_pulls_store_the_same_rows_as_one_pull(world, prometheus, settings):
    cluster, *_ = world(prometheus.url)
    settings.COSTS_BACKFILL_DAYS = 1
    services.pull_usage(cluster_id=cluster.pk, now=hours_after(24) + timedelta(minutes=10))
    services.pull_usage(cluster_id=cluster.pk, now=hours_after(50) + timedelta(minutes=10))
    services.pull_usage(cluster_id=cluster.pk, now=NOW)
    resumed = _snapshot()
    HourlyUsage.objects.all().delete()

    _pull_all(cluster)

    assert _snapshot() == resumed


def test_pull_never_stores_the_current_incomplete_hour(world, prometheus):
    cluster, *_ = world(prometheus.url)

    services.pull_usage(
        cluster_id=cluster.pk, start=BASE, now=hours_after(10) + timedelta(minutes=40)
    )

    assert HourlyUsage.objects.latest("hour").hour == hours_after(9)


def test_query_count_per_pull_window_is_constant(world, prometheus):
    cluster, *_ = world(prometheus.url)

    result = _pull_all(cluster)

    assert result.windows == 3  # 72 hours in 24-hour windows
    assert result.queries == 3 * 7  # 7 queries per window, whatever the namespaces


def test_mig_and_time_sliced_units_are_priced_by_their_fraction(world, prometheus, dataset):
    cluster, *_ = world(prometheus.url)
    _pull_all(cluster)
    client = APIClient()
    client.force_authenticate(finance())

    rows = {
        r["environment"]: r
        for r in client.get(
            "/api/v1/costs/tenants/alpha/",
            {"start": "2026-01-05", "end": "2026-01-07", "group_by": "environment"},
        ).json()["results"]
    }
    beta = client.get(
        "/api/v1/costs/tenants/beta/", {"start": "2026-01-05", "end": "2026-01-07"}
    ).json()

    # alpha-dev holds one MIG 1g.10gb slice all the time: exactly 1/7 of an H100 price per hour
    # (the catalog's 0.1429 is read as the 1/7 it stands for)
    mig_hours = dataset[1].unit_hours[("alpha-dev", "nvidia_com_mig_1g_10gb")]
    assert mig_hours == pytest.approx(HOURS)
    assert Decimal(rows["dev"]["cost_allocated"]) == (Decimal(HOURS) * H100_PRICE / 7).quantize(
        Decimal("0.01")
    )
    assert rows["dev"]["gpu_hours_allocated"] == pytest.approx(HOURS / 7, abs=1e-4)
    # beta-dev: two time-sliced A10 replicas (a quarter GPU each) + a dedicated H100 half the time
    shared = Decimal(HOURS * 2) * A10_PRICE * Decimal("0.25")
    dedicated = Decimal(HOURS // 2) * Decimal("0.5") * H100_PRICE
    assert Decimal(beta["totals"]["cost_allocated"]) == pytest.approx(
        shared + dedicated, abs=Decimal("0.02")
    )


def test_a_new_price_applies_only_from_its_day_on(world, prometheus):
    cluster, profiles, *_ = world(prometheus.url)
    _pull_all(cluster)
    before = _api_rows()["alpha"]["cost_allocated"]

    from costs.models import PriceBookEntry
    from costs.tests.dataset import H100

    PriceBookEntry.objects.create(
        gpu_model=H100, hourly_price=Decimal("8.00"), effective_from=hours_after(48).date()
    )
    after = _api_rows()["alpha"]

    # the first two days keep the old price; the third costs double
    per_day = Decimal(before) / 3
    assert Decimal(after["cost_allocated"]) == pytest.approx(per_day * 4, rel=Decimal("1e-3"))


def test_training_runs_are_counted_per_job_and_priced_per_run(world, prometheus, dataset):
    cluster, *_ = world(prometheus.url)
    _pull_all(cluster)
    client = APIClient()
    client.force_authenticate(finance())

    rows = {
        r["workload"]: r
        for r in client.get(
            "/api/v1/costs/tenants/alpha/",
            {"start": "2026-01-05", "end": "2026-01-07", "group_by": "workload"},
        ).json()["results"]
    }

    assert dataset[1].runs["finetune"] == 3
    assert rows["finetune"]["runs"] == 3
    assert Decimal(rows["finetune"]["cost_per_run"]) == pytest.approx(
        Decimal(rows["finetune"]["cost_allocated"]) / 3, abs=Decimal("0.01")
    )


def test_repull_removes_rows_prometheus_no_longer_has(world, prometheus):
    cluster, *_ = world(prometheus.url)
    _pull_all(cluster)
    stale = HourlyUsage.objects.filter(namespace="alpha-prod").first()
    HourlyUsage.objects.create(
        cluster=cluster, namespace="ghost-dev", resource_name="nvidia.com/gpu", hour=stale.hour,
        unit_hours=5, gpu_hours=5,
    )  # fmt: skip
    services.rebuild_daily(
        cluster_id=cluster.pk, start=stale.hour, end=stale.hour + timedelta(hours=1)
    )
    assert DailyUsage.objects.filter(namespace="ghost-dev").exists()

    _pull_all(cluster)

    assert not HourlyUsage.objects.filter(namespace="ghost-dev").exists()
    assert not DailyUsage.objects.filter(namespace="ghost-dev").exists()


def test_pulling_unchanged_hours_again_rewrites_no_hourly_row(world, prometheus):
    from django.db import connection

    cluster, *_ = world(prometheus.url)
    _pull_all(cluster)

    def versions():
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, ctid::text FROM costs_hourlyusage ORDER BY id")
            return cursor.fetchall()

    before = versions()

    _pull_all(cluster)

    assert versions() == before  # same tuples: an UPDATE would have moved them
