"""Attribution by the device a pod ran on, against a real Prometheus backfilled with a mixed
fleet (see fleet.py): every namespace's GPU-hours and cost equal the independent computation,
usage on a GPU with no profile is stored and flagged (never priced as another model), and the
10x projection reads the capacity of the product, not of the resource name."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from clusters.tests.factories import ClusterCapacityFactory, ClusterFactory
from costs import services
from costs.models import HourlyUsage, PriceBookEntry
from costs.tests import fleet
from portal.testing.prometheus import start_prometheus
from tenants.models import GpuProfile
from tenants.tests.factories import EnvironmentFactory, GpuProfileFactory, TenantFactory, finance

pytestmark = pytest.mark.prometheus

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


def test_every_namespace_is_priced_by_the_gpu_it_ran_on(mixed, expected):
    cluster, _ = mixed
    result = pull(cluster)

    got = by_namespace()

    assert set(got) == set(expected.unit_hours)
    for ns, row in got.items():
        assert row["gpu_hours_allocated"] == pytest.approx(expected.gpu_hours[ns], rel=1e-3), ns
        assert row["gpu_hours_used"] == pytest.approx(expected.used_gpu_hours[ns], rel=1e-3), ns
        want = expected.cost.get(ns, Decimal(0))
        assert Decimal(row["cost_allocated"]) == pytest.approx(want, rel=Decimal("1e-3")), ns
    # an H100 hour and an A100 hour under the same resource name cost what each GPU costs
    assert Decimal(got["hopper-prod"]["cost_allocated"]) / Decimal(
        got["ampere-prod"]["cost_allocated"]
    ) == pytest.approx(Decimal(2 * 4.00) / Decimal(3 * 2.50), rel=Decimal("1e-3"))
    # tenants' totals too, and the query count did not depend on them
    for slug, row in {r["tenant"]: r for r in api("/api/v1/costs/tenants/")["results"]}.items():
        assert Decimal(row["cost_allocated"]) == pytest.approx(
            expected.tenant(slug, "cost"), rel=Decimal("1e-3")
        )
    assert result.queries == 2 * 6  # two 24-hour windows, six queries each


def test_usage_on_a_gpu_without_profile_is_stored_and_flagged_never_priced(mixed, expected):
    cluster, _ = mixed
    pull(cluster)

    mystery = api("/api/v1/costs/tenants/mystery/")
    overview = api("/api/v1/costs/tenants/")

    assert Decimal(mystery["totals"]["cost_allocated"]) == 0  # the A10 price is not borrowed
    assert mystery["totals"]["gpu_hours_unpriced"] == pytest.approx(
        expected.gpu_hours["mystery-dev"], rel=1e-3
    )
    [flag] = mystery["unpriced"]
    assert flag["gpu_product"] == "NVIDIA-A10"
    assert flag["unit_hours"] == pytest.approx(expected.unpriced_unit_hours["NVIDIA-A10"], rel=1e-3)
    assert flag["message"].startswith("unpriced: NVIDIA-A10 on cluster mixed")
    assert [u["gpu_product"] for u in overview["unpriced"]] == ["NVIDIA-A10"]
    rows = HourlyUsage.objects.filter(namespace="mystery-dev")
    assert rows.exists()
    assert set(rows.values_list("gpu_product", "profile_id", "gpu_fraction")) == {
        ("NVIDIA-A10", None, None)
    }


def test_unpriced_usage_shows_on_the_tenant_and_finance_pages(mixed, client):
    cluster, _ = mixed
    pull(cluster)
    client.force_login(finance())

    for url in ("/costs/tenants/mystery/", "/costs/"):
        page = client.get(url, RANGE).content.decode()
        assert "unpriced: NVIDIA-A10 on cluster mixed" in page, url


def test_ten_x_projection_reads_the_capacity_of_the_product(mixed):
    cluster, _ = mixed
    pull(cluster)

    ampere = api("/api/v1/costs/tenants/ampere/", end="2026-01-06")["what_at_10x"]
    hopper = api("/api/v1/costs/tenants/hopper/", end="2026-01-06")["what_at_10x"]

    capacity = {p["resource"]: p["capacity"] for p in ampere + hopper}
    assert capacity["nvidia.com/gpu on NVIDIA-A100-SXM4-80GB"] == 8
    assert capacity["nvidia.com/gpu on NVIDIA-H100-80GB-HBM3"] == 16
    assert capacity["nvidia.com/mig-1g.10gb on NVIDIA-A100-SXM4-80GB"] == 14
    a100 = next(p for p in ampere if p["resource"] == "nvidia.com/gpu on NVIDIA-A100-SXM4-80GB")
    assert a100["units_at_10x"] == pytest.approx(30, rel=1e-3) and a100["runs_out"]


def test_idle_capacity_is_kept_per_product(mixed):
    cluster, _ = mixed
    pull(cluster)

    idle = HourlyUsage.objects.filter(namespace="")
    by_key = {}
    for row in idle:
        key = (row.resource_name, row.gpu_product)
        by_key[key] = by_key.get(key, 0) + row.unit_hours
    assert by_key == {
        ("nvidia.com/gpu", "NVIDIA-H100-80GB-HBM3"): pytest.approx(fleet.HOURS),
        ("nvidia.com/mig-1g.10gb", "NVIDIA-A100-SXM4-80GB"): pytest.approx(fleet.HOURS),
    }
