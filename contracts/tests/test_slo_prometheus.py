"""The SLI pull and SLO status against a real Prometheus backfilled with a dataset of known
error ratios and latency distributions: every figure equals an independent computation from
the raw samples (contracts/tests/sli_dataset.py) to 0.1 %, including two days without data
and a three-hour scrape gap."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from clusters.prometheus import PrometheusTransientError
from clusters.tests.factories import ClusterFactory
from contracts.models import InterfaceDocument, SliDaily, SloSnapshot
from contracts.sli_pull import pull_slis
from contracts.slo_selectors import environment_slo, slo_overview, tenant_slo
from contracts.tests import sli_dataset as ds
from portal.testing.prometheus import free_port, start_prometheus
from tenants.tests.factories import EnvironmentFactory, TenantFactory
from workloads.tests.factories import DeploymentFactory, RevisionFactory, WorkloadFactory

WINDOW_DAYS = 28
TARGET = 99.9
ALLOWED = 0.001
LATENCY_MS = 800


@pytest.fixture(scope="module")
def dataset():
    return ds.generate()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory, dataset):
    metrics, _ = dataset
    server = start_prometheus(metrics.text(), tmp_path_factory.mktemp("sli-prometheus"))
    yield server
    server.stop()


@pytest.fixture
def fast_retries(settings):
    settings.COSTS_PROMETHEUS_RETRIES = 0
    settings.COSTS_PROMETHEUS_BACKOFF = 0.01
    settings.COSTS_PROMETHEUS_TIMEOUT = 10


def build_world(prometheus_url: str):
    cluster = ClusterFactory(name="gpu-east", prometheus_url=prometheus_url)
    tenant = TenantFactory(slug="search", cluster=cluster)
    envs = {n: EnvironmentFactory(tenant=tenant, name=n) for n in ("dev", "staging", "prod")}
    workload = WorkloadFactory(tenant=tenant, name="ranker")
    revision = RevisionFactory(workload=workload, number=1)
    for name in ("staging", "prod"):
        DeploymentFactory(current_revision=revision, environment=envs[name])
    InterfaceDocument.objects.create(
        workload=workload,
        availability_pct=Decimal("99.9"),
        p99_latency_ms=LATENCY_MS,
        slo_window_days=WINDOW_DAYS,
    )
    return cluster, tenant, workload


@pytest.fixture
def pulled(db, prometheus, fast_retries):
    cluster, tenant, workload = build_world(prometheus.url)
    result = pull_slis(cluster_id=cluster.pk, now=ds.END)
    return cluster, tenant, workload, result


def oracle(target: ds.Target) -> dict:
    """Attainment, budget, burn rates and latency of the window, from the raw samples."""
    today = ds.END.date()
    first = today - timedelta(days=WINDOW_DAYS - 1)
    total = bad = 0.0
    merged: dict[str, float] = {}
    per_day = []
    for i in range(WINDOW_DAYS):
        day = first + timedelta(days=i)
        start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        end = min(start + timedelta(days=1), ds.END)
        req = ds.requests(target, start.timestamp(), end.timestamp())
        if req is None:
            continue
        err = ds.errors(target, start.timestamp(), end.timestamp())
        per_day.append((day, req, err))
        total += req
        bad += err
        for le, value in ds.buckets(target, start.timestamp(), end.timestamp()).items():
            merged[le] = merged.get(le, 0.0) + value
    ratio = bad / total
    remaining = 1 - ratio / ALLOWED
    exhausted, spent = None, 0.0
    for day, _req, err in per_day:
        spent += err
        if exhausted is None and spent > ALLOWED * total:
            exhausted = day

    def window_ratio(hours: int) -> float:
        s, e = (ds.END - timedelta(hours=hours)).timestamp(), ds.END.timestamp()
        return ds.errors(target, s, e) / ds.requests(target, s, e)

    last_day = ds.buckets(target, (ds.END - timedelta(hours=24)).timestamp(), ds.END.timestamp())
    return {
        "days": {d for d, _, _ in per_day},
        "attainment_pct": 100 * (1 - ratio),
        "budget_remaining_pct": 100 * remaining,
        "budget_remaining_minutes": remaining * ALLOWED * WINDOW_DAYS * 1440,
        "burn_rate_1h": window_ratio(1) / ALLOWED,
        "burn_rate_6h": window_ratio(6) / ALLOWED,
        "attainment_24h_pct": 100 * (1 - window_ratio(24)),
        "p99_latency_ms": 1000 * ds.quantile(0.99, merged),
        "p99_latency_24h_ms": 1000 * ds.quantile(0.99, last_day),
        "exhausted": exhausted,
        "days_over_budget": [d for d, r, e in per_day if e / r > ALLOWED],
    }


FIGURES = [
    "attainment_pct",
    "budget_remaining_pct",
    "budget_remaining_minutes",
    "burn_rate_1h",
    "burn_rate_6h",
    "attainment_24h_pct",
    "p99_latency_ms",
    "p99_latency_24h_ms",
]


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_slo_figures_equal_an_independent_computation_to_a_tenth_of_a_percent(
    pulled, dataset, environment
):
    _, _, workload, _ = pulled
    expected = oracle(dataset[1][environment])
    status = environment_slo(workload, environment, today=ds.END.date())
    for name in FIGURES:
        assert getattr(status, name) == pytest.approx(expected[name], rel=1e-3), name
    assert status.budget_exhausted_on == expected["exhausted"]
    assert status.days_over_budget == expected["days_over_budget"]
    assert status.state == "ok"


def test_days_without_samples_are_reported_missing_not_counted_as_good(pulled, dataset):
    _, _, workload, _ = pulled
    status = environment_slo(workload, "staging", today=ds.END.date())
    assert set(status.missing_days) == ds.MISSING_DAYS
    assert status.days_with_data == WINDOW_DAYS - len(ds.MISSING_DAYS)
    stored = set(
        SliDaily.objects.filter(workload=workload, environment__name="staging").values_list(
            "day", flat=True
        )
    )
    assert not stored & ds.MISSING_DAYS
    # the staging incident (2 % errors for 6 h against a 0.1 % budget) spent the budget
    assert status.budget_remaining_pct < 0
    assert status.burn_rate_1h == pytest.approx(20, rel=1e-3)
    assert status.met is False


def test_a_decoy_workload_with_a_similar_name_never_counts(pulled, dataset):
    _, _, workload, _ = pulled
    status = environment_slo(workload, "staging", today=ds.END.date())
    # the decoy fails 30 % of its requests; counting it would move the 1h ratio off 2 %
    assert status.burn_rate_1h * ALLOWED == pytest.approx(0.02, rel=1e-3)


def test_pulling_again_changes_nothing(pulled):
    cluster, _, workload, first = pulled
    before = list(
        SliDaily.objects.order_by("environment_id", "day").values_list(
            "pk", "day", "requests", "errors", "complete"
        )
    )
    again = pull_slis(cluster_id=cluster.pk, now=ds.END)
    after = list(
        SliDaily.objects.order_by("environment_id", "day").values_list(
            "pk", "day", "requests", "errors", "complete"
        )
    )
    assert [r[1:] for r in before] == [r[1:] for r in after]
    # complete days are not asked for again: only today's partial day and the snapshot
    assert again.queries < first.queries
    assert again.queries == 2 * (3 + 4)


def test_tenant_roll_up_and_sre_list_put_the_lowest_budget_first(pulled):
    _, tenant, _, _ = pulled
    rollup = tenant_slo(tenant, today=ds.END.date())
    assert [r.environment.name for r in rollup.rows] == ["prod", "staging"]
    assert rollup.worst.environment.name == "staging"
    assert [r.environment.name for r in rollup.missing_target] == ["staging"]
    measured, broken = slo_overview(today=ds.END.date())
    assert [r.environment.name for r in measured] == ["staging", "prod"]
    assert broken == []


def test_a_prometheus_that_is_down_marks_the_sli_broken_and_keeps_the_days(pulled, fast_retries):
    cluster, _, workload, _ = pulled
    days = SliDaily.objects.count()
    cluster.prometheus_url = f"http://127.0.0.1:{free_port()}"
    cluster.save()
    with pytest.raises(PrometheusTransientError):
        pull_slis(cluster_id=cluster.pk, now=ds.END + timedelta(hours=1))
    assert SliDaily.objects.count() == days
    snapshot = SloSnapshot.objects.get(workload=workload, environment__name="staging")
    assert snapshot.state == "failing"
    assert "unreachable" in snapshot.last_error
    measured, broken = slo_overview(today=ds.END.date())
    assert {r.environment.name for r in broken} == {"staging", "prod"}
    assert measured == []
