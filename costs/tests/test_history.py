"""History never moves: a day's cost is fixed by the model, fraction and price true that day.
Editing a GPU profile's model or fraction, adding a price effective today, or re-pulling the
same hours after such an edit leaves every past day's GPU-hours and cost unchanged; MIG
fractions are exact."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from costs import services
from costs.models import DailyUsage
from costs.pricing import Price, PriceBook, exact_fraction
from costs.tests import fleet
from costs.tests.fleet_fixtures import api, pull

pytestmark = pytest.mark.prometheus


def past_days():
    """Every tenant's cost and GPU-hours per day, as the API reports them."""
    return {
        (slug, row["day"]): (row["cost_allocated"], row["gpu_hours_allocated"])
        for slug in fleet.TENANT_NAMESPACES
        for row in api(f"/api/v1/costs/tenants/{slug}/", group_by="day")["results"]
    }


def test_editing_profiles_or_adding_a_price_today_leaves_past_days_unchanged(mixed):
    cluster, profiles = mixed
    pull(cluster)
    before = past_days()
    assert any(Decimal(cost) > 0 for cost, _ in before.values())

    # the catalog is corrected: another model name, other fractions
    profiles["h100"].gpu_model = "NVIDIA H200 141GB HBM3e"
    profiles["h100"].save()
    profiles["a100-1g"].gpu_fraction = Decimal("0.2857")
    profiles["a100-1g"].save()
    profiles["l4-ts"].gpu_fraction = Decimal("0.5")
    profiles["l4-ts"].replicas = 2
    profiles["l4-ts"].save()
    # and a new price from today on, for a model already priced
    today = timezone.now().date()
    services.add_price(gpu_model=fleet.A100, hourly_price=Decimal("9.99"), effective_from=today)
    assert past_days() == before

    # re-pulling the same hours with the edited catalog keeps the terms they were priced with
    pull(cluster)
    assert past_days() == before


def test_a_price_for_a_priced_model_cannot_be_back_dated(mixed):
    from portal.domain_errors import DomainError

    with pytest.raises(DomainError, match="past costs are never rewritten"):
        services.add_price(
            gpu_model=fleet.H100, hourly_price=Decimal("1"), effective_from=date(2026, 1, 5)
        )


def test_usage_first_stored_unpriced_is_priced_once_a_profile_exists(mixed, expected):
    """The one way a stored day gains a price: its product had no profile (flagged), finance
    adds one, and a re-pull records the terms for the rows that had none."""
    from tenants.tests.factories import GpuProfileFactory

    cluster, _ = mixed
    pull(cluster)
    GpuProfileFactory(
        name="a10", display_name="A10", gpu_model=fleet.A10, gpu_product="NVIDIA-A10",
        resource_name="nvidia.com/gpu", gpu_fraction=Decimal("1"),
    )  # fmt: skip

    pull(cluster)

    mystery = api("/api/v1/costs/tenants/mystery/")
    assert mystery["unpriced"] == []
    assert Decimal(mystery["totals"]["cost_allocated"]) == pytest.approx(
        Decimal(repr(expected.unit_hours["mystery-dev"])) * fleet.PRICES[fleet.A10],
        rel=Decimal("1e-3"),
    )
    assert not DailyUsage.objects.filter(namespace="mystery-dev", gpu_fraction=None).exists()


def test_ten_thousand_mig_hours_are_exact_to_the_cent():
    fraction = exact_fraction(Decimal("0.1429"))  # the catalog's 4 decimals for 1/7
    book = PriceBook([Price(fleet.H100, None, Decimal("4.00"), "USD", date(2025, 1, 1))])
    unit = book.price_of(None, fleet.H100, fraction, date(2026, 1, 5))
    cost = (unit * Decimal(10_000)).quantize(Decimal("0.01"))

    assert cost == (Decimal(40_000) / 7).quantize(Decimal("0.01")) == Decimal("5714.29")
    # the 4-decimal fraction is 0.03% (1.71) off
    assert (Decimal("0.1429") * 4 * 10_000).quantize(Decimal("0.01")) == Decimal("5716.00")
    assert exact_fraction(Decimal("0.4286")) * 7 == pytest.approx(Decimal(3), abs=Decimal("1e-15"))
    assert exact_fraction(Decimal("0.0833"), replicas=12) * 12 == pytest.approx(
        Decimal(1), abs=Decimal("1e-15")
    )
    assert exact_fraction(Decimal("0.3")) == Decimal("0.3")
