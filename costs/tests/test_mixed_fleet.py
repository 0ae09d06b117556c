"""Attribution by the device a pod ran on, against a real Prometheus backfilled with a mixed
fleet (see fleet.py): every namespace's GPU-hours and cost equal the independent computation,
usage on a GPU with no profile is stored and flagged (never priced as another model), and the
10x projection reads the capacity of the product, not of the resource name."""

from decimal import Decimal

import pytest

from costs.models import HourlyUsage
from costs.tests import fleet
from costs.tests.fleet_fixtures import RANGE, api, by_namespace, pull
from tenants.tests.factories import finance

pytestmark = pytest.mark.prometheus


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
