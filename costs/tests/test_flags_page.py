"""The tenant page's flags and "what at 10x", from rows in the rollup tables."""

from datetime import date
from decimal import Decimal

import pytest

from clusters.tests.factories import ClusterCapacityFactory, ClusterFactory
from costs import selectors
from costs.models import PriceBookEntry
from costs.tests.factories import seed_usage
from tenants.tests.factories import EnvironmentFactory, GpuProfileFactory, TenantFactory

START = date(2026, 3, 1)


@pytest.fixture
def env(db):
    cluster = ClusterFactory(name="east")
    ClusterCapacityFactory(cluster=cluster, allocatable=16)
    tenant = TenantFactory(slug="alpha", cluster=cluster)
    profile = GpuProfileFactory()
    PriceBookEntry.objects.create(
        gpu_model=profile.gpu_model, hourly_price=Decimal("2"), effective_from=date(2026, 1, 1)
    )
    return EnvironmentFactory(tenant=tenant, name="dev"), profile


def _flags(tenant, end=date(2026, 3, 10)):
    data = selectors.tenant_costs(tenant=tenant, start=START, end=end)
    return {f.kind: f for f in data.flags}, data


def test_gpu_idle_for_a_day_is_flagged_on_the_tenant_page(env):
    environment, profile = env
    seed_usage(environment, profile, start=START, days=2, utilization=0.02, workload="notebook")

    flags, _ = _flags(environment.tenant, end=date(2026, 3, 2))

    assert "idle-allocation" in flags
    assert "alpha-dev/notebook" in flags["idle-allocation"].message


def test_busy_tenant_has_no_idle_or_utilization_flags(env):
    environment, profile = env
    seed_usage(environment, profile, start=START, days=2, utilization=0.9, workload="svc",
               requests_per_hour=1000, fb_peak_mib=70_000)  # fmt: skip

    flags, _ = _flags(environment.tenant, end=date(2026, 3, 2))

    assert flags == {}


def test_low_utilization_tenant_is_flagged(env):
    environment, profile = env
    seed_usage(environment, profile, start=START, days=1, utilization=0.3)

    flags, _ = _flags(environment.tenant, end=date(2026, 3, 1))

    assert "under-utilized" in flags


def test_long_running_low_utilization_job_is_flagged_as_forgotten(env, settings):
    settings.COSTS_FORGOTTEN_JOB_DAYS = 3
    environment, profile = env
    seed_usage(environment, profile, start=START, days=5, utilization=0.1, workload="sweep")

    flags, _ = _flags(environment.tenant, end=date(2026, 3, 5))

    assert "forgotten-job" in flags


def test_small_model_on_a_big_gpu_gets_right_sizing_advice(env):
    environment, profile = env
    seed_usage(environment, profile, start=START, days=1, utilization=0.3, workload="tiny",
               requests_per_hour=10, fb_peak_mib=6_000)  # fmt: skip

    flags, _ = _flags(environment.tenant, end=date(2026, 3, 1))

    assert "right-size" in flags


def test_ten_x_names_the_resource_that_runs_out(env):
    environment, profile = env
    seed_usage(environment, profile, start=START, days=7, units=2)

    _, data = _flags(environment.tenant, end=date(2026, 3, 7))

    [projection] = data.projections
    assert projection.profile == "nvidia.com/gpu on NVIDIA-H100-80GB-HBM3"
    assert projection.units_at_scale == pytest.approx(20)
    assert projection.capacity == 16
    assert projection.runs_out


def test_month_to_date_and_forecast(env):
    environment, profile = env
    seed_usage(environment, profile, start=START, days=10, units=1)

    _, data = _flags(environment.tenant, end=date(2026, 3, 10))

    assert data.month_to_date == Decimal("480")  # 10 days x 24 h x 2
    assert data.forecast == Decimal("1488")  # + 21 days x 48
