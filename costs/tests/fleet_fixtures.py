"""Fixtures and helpers of the mixed-fleet tests: a real Prometheus backfilled with fleet.py's
samples (once per module) and the cluster, catalog, tenants and prices it describes."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from clusters.tests.factories import ClusterCapacityFactory, ClusterFactory
from costs import services
from costs.models import PriceBookEntry
from costs.tests import fleet
from portal.testing.prometheus import start_prometheus
from tenants.models import GpuProfile
from tenants.tests.factories import EnvironmentFactory, GpuProfileFactory, TenantFactory, finance

NOW = fleet.hours_after(fleet.HOURS) + timedelta(minutes=30)
RANGE = {"start": "2026-01-05", "end": "2026-01-06"}


@pytest.fixture(scope="module")
def expected_and_prometheus(tmp_path_factory):
    metrics, expected = fleet.generate()
    server = start_prometheus(metrics.text(), tmp_path_factory.mktemp("fleet"))
    yield expected, server
    server.stop()


@pytest.fixture
def expected(expected_and_prometheus):
    return expected_and_prometheus[0]


def _profile(name, model, product, resource, fraction, **kw):
    return GpuProfileFactory(
        name=name, display_name=name, gpu_model=model, gpu_product=product,
        resource_name=resource, gpu_fraction=Decimal(fraction), **kw,
    )  # fmt: skip


@pytest.fixture
def mixed(db, settings, expected_and_prometheus):
    settings.COSTS_PROMETHEUS_RETRIES = 1
    settings.COSTS_PROMETHEUS_BACKOFF = 0.01
    settings.COSTS_INFERENCE_COUNTERS = []
    cluster = ClusterFactory(name="mixed", prometheus_url=expected_and_prometheus[1].url)
    for product, resource, n in [
        ("NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu", 16),
        ("NVIDIA-A100-SXM4-80GB", "nvidia.com/gpu", 8),
        ("NVIDIA-H100-80GB-HBM3", "nvidia.com/mig-1g.10gb", 14),
        ("NVIDIA-A100-SXM4-80GB", "nvidia.com/mig-1g.10gb", 14),
        ("NVIDIA-A100-SXM4-80GB", "nvidia.com/mig-3g.40gb", 2),
        ("NVIDIA-L4", "nvidia.com/gpu", 8),
        ("NVIDIA-A10", "nvidia.com/gpu", 4),
    ]:
        ClusterCapacityFactory(
            cluster=cluster, gpu_product=product, resource_name=resource, allocatable=n
        )
    mig = GpuProfile.Partition.MIG
    profiles = {
        "h100": _profile("h100", fleet.H100, "NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu", "1"),
        "a100": _profile("a100", fleet.A100, "NVIDIA-A100-SXM4-80GB", "nvidia.com/gpu", "1"),
        "h100-1g": _profile(
            "h100-1g", fleet.H100, "NVIDIA-H100-80GB-HBM3", "nvidia.com/mig-1g.10gb", "0.1429",
            partition=mig, mig_profile="1g.10gb",
        ),
        "a100-1g": _profile(
            "a100-1g", fleet.A100, "NVIDIA-A100-SXM4-80GB", "nvidia.com/mig-1g.10gb", "0.1429",
            partition=mig, mig_profile="1g.10gb",
        ),
        "a100-3g": _profile(
            "a100-3g", fleet.A100, "NVIDIA-A100-SXM4-80GB", "nvidia.com/mig-3g.40gb", "0.4286",
            partition=mig, mig_profile="3g.40gb",
        ),
        "l4-ts": _profile(
            "l4-ts", fleet.L4, "NVIDIA-L4", "nvidia.com/gpu", "0.25",
            partition=GpuProfile.Partition.TIME_SLICED, replicas=4,
        ),
    }  # fmt: skip
    for slug, namespaces in fleet.TENANT_NAMESPACES.items():
        tenant = TenantFactory(slug=slug, cluster=cluster)
        for ns in namespaces:
            EnvironmentFactory(tenant=tenant, name=ns.rsplit("-", 1)[1])
    for model, price in fleet.PRICES.items():  # the A10 has a price, but no profile
        PriceBookEntry.objects.create(
            gpu_model=model, hourly_price=price, effective_from=date(2025, 1, 1)
        )
    return cluster, profiles


def pull(cluster, start=fleet.BASE, end=None):
    return services.pull_usage(
        cluster_id=cluster.pk, start=start, end=end or fleet.hours_after(fleet.HOURS), now=NOW
    )


def api(path, **params):
    client = APIClient()
    client.force_authenticate(finance())
    response = client.get(path, {**RANGE, **params})
    assert response.status_code == 200, response.content
    return response.json()


def by_namespace():
    """GPU-hours and cost of every namespace, as the API reports them."""
    out = {}
    for slug in fleet.TENANT_NAMESPACES:
        for row in api(f"/api/v1/costs/tenants/{slug}/", group_by="environment")["results"]:
            out[f"{slug}-{row['environment']}"] = row
    return out
