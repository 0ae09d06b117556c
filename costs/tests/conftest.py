"""Fixtures of the costs tests: a real Prometheus backfilled with a generated dataset, and the
rows (cluster, GPU catalog, tenants, prices) that dataset describes."""

from datetime import date
from decimal import Decimal

import pytest

from clusters.tests.factories import ClusterCapacityFactory, ClusterFactory
from costs.models import PriceBookEntry
from costs.tests.dataset import H100, generate
from costs.tests.fleet_fixtures import expected, expected_and_prometheus, mixed  # noqa: F401
from portal.testing.prometheus import start_prometheus
from tenants.tests.factories import (
    EnvironmentFactory,
    GpuProfileFactory,
    TenantFactory,
    mig_profile,
    time_sliced_profile,
)

HOURS = 72
H100_PRICE = Decimal("4.00")
A10_PRICE = Decimal("1.20")


@pytest.fixture(scope="module")
def dataset():
    return generate(HOURS)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory, dataset):
    """One real Prometheus per module, backfilled with `dataset`."""
    metrics, _ = dataset
    server = start_prometheus(metrics.text(), tmp_path_factory.mktemp("prometheus"))
    yield server
    server.stop()


@pytest.fixture
def fast_retries(settings):
    settings.COSTS_PROMETHEUS_RETRIES = 1
    settings.COSTS_PROMETHEUS_BACKOFF = 0.01
    settings.COSTS_PROMETHEUS_TIMEOUT = 5
    settings.COSTS_INFERENCE_COUNTERS = ["gpu_portal_inference_requests_total"]


@pytest.fixture
def world(db, fast_retries):
    """The cluster, catalog, tenants and prices the generated dataset is about."""

    def build(prometheus_url: str):
        cluster = ClusterFactory(name="gpu-east", prometheus_url=prometheus_url)
        ClusterCapacityFactory(cluster=cluster, resource_name="nvidia.com/gpu", allocatable=8)
        ClusterCapacityFactory(
            cluster=cluster, resource_name="nvidia.com/mig-1g.10gb", allocatable=14
        )
        ClusterCapacityFactory(
            cluster=cluster,
            gpu_product="NVIDIA-A10",
            resource_name="nvidia.com/gpu.shared",
            allocatable=8,
        )
        profiles = {
            "nvidia.com/gpu": GpuProfileFactory(gpu_model=H100),
            "nvidia.com/mig-1g.10gb": mig_profile(gpu_model=H100),
            "nvidia.com/gpu.shared": time_sliced_profile(),
        }
        alpha = TenantFactory(slug="alpha", cluster=cluster)
        beta = TenantFactory(slug="beta", cluster=cluster)
        envs = {
            "alpha-dev": EnvironmentFactory(tenant=alpha, name="dev"),
            "alpha-prod": EnvironmentFactory(tenant=alpha, name="prod"),
            "beta-dev": EnvironmentFactory(tenant=beta, name="dev"),
        }
        PriceBookEntry.objects.create(
            gpu_model=H100, hourly_price=H100_PRICE, effective_from=date(2025, 1, 1)
        )
        PriceBookEntry.objects.create(
            gpu_model="NVIDIA A10", hourly_price=A10_PRICE, effective_from=date(2025, 1, 1)
        )
        return cluster, profiles, {"alpha": alpha, "beta": beta}, envs

    return build
