"""Showback on the mixed fleet: hours above the guaranteed quota are burst, priced at the
configured burst factor and shown apart; idle capacity is priced per cluster and, when finance
chooses, shared on statements pro rata to guaranteed quota."""

from datetime import date
from decimal import Decimal

import pytest

from costs import selectors, statements
from costs.tests import fleet
from costs.tests.fleet_fixtures import api, pull
from tenants.models import Environment
from tenants.tests.factories import QuotaGrantFactory

pytestmark = pytest.mark.prometheus

IDLE_COST = fleet.HOURS * fleet.PRICES[fleet.H100] + fleet.HOURS * fleet.PRICES[fleet.A100] / 7


@pytest.fixture
def grants(mixed, settings):
    cluster, profiles = mixed
    settings.COSTS_BURST_PRICE_FACTOR = "1.5"
    env = {e.namespace: e for e in Environment.objects.all()}
    # hopper-prod runs 2 H100s on a guarantee of 1: one GPU-hour an hour is burst
    QuotaGrantFactory(environment=env["hopper-prod"], profile=profiles["h100"], guaranteed=1)
    # ampere-dev holds 7 A100 1g slices guaranteed (as much GPU as hopper's one H100)
    QuotaGrantFactory(environment=env["ampere-dev"], profile=profiles["a100-1g"], guaranteed=7)
    pull(cluster)
    return cluster


def test_burst_hours_are_shown_and_priced_apart(grants):
    prod = {
        r["environment"]: r
        for r in api("/api/v1/costs/tenants/hopper/", group_by="environment")["results"]
    }["prod"]
    ampere = api("/api/v1/costs/tenants/ampere/")["totals"]

    h100 = fleet.PRICES[fleet.H100]
    assert prod["gpu_hours_burst"] == pytest.approx(fleet.HOURS)
    assert prod["gpu_hours_guaranteed"] == pytest.approx(fleet.HOURS)
    assert Decimal(prod["cost_guaranteed"]) == fleet.HOURS * h100
    assert Decimal(prod["cost_burst"]) == fleet.HOURS * h100 * Decimal("1.5")
    assert Decimal(prod["cost_allocated"]) == fleet.HOURS * h100 * Decimal("2.5")
    # ampere-dev holds 2 of its 7 guaranteed 1g slices: no burst there; its 3g slice and
    # ampere-prod's 3 A100s have no grant at all: all burst
    assert ampere["gpu_hours_burst"] == pytest.approx(3 * fleet.HOURS + 3 * fleet.HOURS / 7)


def test_idle_capacity_cost_per_cluster_on_the_platform_view(grants):
    usage = selectors.platform_usage(start=date(2026, 1, 5), end=date(2026, 1, 6))

    idle = {(u.gpu_product, u.resource_name): u.unallocated_cost for u in usage}
    assert idle[("NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu")] == fleet.HOURS * 4
    assert idle[("NVIDIA-A100-SXM4-80GB", "nvidia.com/mig-1g.10gb")] == pytest.approx(
        fleet.HOURS * Decimal("2.5") / 7, abs=Decimal("0.0001")
    )


def test_idle_capacity_shared_pro_rata_to_guaranteed_quota(grants, settings):
    settings.COSTS_IDLE_DISTRIBUTION = "guaranteed"

    lines = statements.draft(date(2026, 1, 1))

    shared = {}
    for line in lines:
        if line.kind == "shared":
            shared[line.tenant] = shared.get(line.tenant, Decimal(0)) + line.cost
    assert not [line for line in lines if line.kind == "idle"]
    assert set(shared) == {"hopper", "ampere"}
    assert shared["hopper"] == pytest.approx(IDLE_COST / 2, abs=Decimal("0.02"))
    assert shared["ampere"] == pytest.approx(IDLE_COST / 2, abs=Decimal("0.02"))
