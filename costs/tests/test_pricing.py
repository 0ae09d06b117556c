"""Price resolution and cost math (pure functions)."""

from datetime import date
from decimal import Decimal

from costs.pricing import CostLine, Price, PriceBook, ProfileInfo, cost_per, utilization

H100 = "NVIDIA H100 80GB HBM3"
WHOLE = ProfileInfo(1, H100, Decimal("1"))
MIG = ProfileInfo(2, H100, Decimal("0.1429"))
SHARED = ProfileInfo(3, "NVIDIA L4", Decimal("0.25"))


def _book(*prices):
    return PriceBook(prices)


def _price(day, amount, profile_id=None, model=H100):
    return Price(model, profile_id, Decimal(amount), "USD", day)


def test_whole_gpu_costs_the_model_price():
    book = _book(_price(date(2026, 1, 1), "4.00"))

    assert book.unit_price(WHOLE, date(2026, 2, 1)) == Decimal("4.00")


def test_mig_slice_defaults_to_its_fraction_of_the_gpu_price():
    book = _book(_price(date(2026, 1, 1), "4.00"))

    assert book.unit_price(MIG, date(2026, 2, 1)) == Decimal("4.00") * Decimal("0.1429")


def test_time_sliced_replica_costs_its_fraction():
    book = _book(_price(date(2026, 1, 1), "1.00", model="NVIDIA L4"))

    assert book.unit_price(SHARED, date(2026, 1, 1)) == Decimal("0.25")


def test_profile_override_wins_over_the_fraction():
    book = _book(_price(date(2026, 1, 1), "4.00"), _price(date(2026, 1, 1), "0.90", profile_id=2))

    assert book.unit_price(MIG, date(2026, 1, 2)) == Decimal("0.90")
    assert book.unit_price(WHOLE, date(2026, 1, 2)) == Decimal("4.00")


def test_price_changes_apply_from_their_day_on_only():
    book = _book(_price(date(2026, 1, 1), "4.00"), _price(date(2026, 3, 1), "3.00"))

    assert book.unit_price(WHOLE, date(2026, 2, 28)) == Decimal("4.00")
    assert book.unit_price(WHOLE, date(2026, 3, 1)) == Decimal("3.00")


def test_days_before_the_first_price_are_unpriced():
    book = _book(_price(date(2026, 1, 1), "4.00"))

    assert book.unit_price(WHOLE, date(2025, 12, 31)) is None


def test_cost_line_sums_cost_and_idle_cost():
    line = CostLine()
    line.add(
        unit_hours=10, gpu_hours=10, used_unit_hours=4, used_gpu_hours=4, requests=1000,
        unit_price=Decimal("2"),
    )  # fmt: skip

    assert line.cost == Decimal("20")
    assert line.idle_cost == Decimal("12")
    assert line.utilization == 0.4
    assert line.cost_per_request == Decimal("0.02")


def test_unpriced_hours_are_counted_but_cost_nothing():
    line = CostLine()
    line.add(
        unit_hours=5, gpu_hours=5, used_unit_hours=5, used_gpu_hours=5, requests=0, unit_price=None
    )

    assert line.cost == 0
    assert line.unpriced_gpu_hours == 5


def test_utilization_of_nothing_allocated_is_zero():
    assert utilization(0, 0) == 0.0


def test_cost_per_request_without_requests_is_none():
    assert cost_per(Decimal("5"), 0) is None
