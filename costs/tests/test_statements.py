"""Chargeback statements against the mixed fleet in a real Prometheus: a month closed by
finance is byte-identical after a re-pull that changes its usage, the change becomes an
adjustment line of the next month, and stored lines cannot be edited."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import ProgrammingError, connection, transaction

from costs import services, statements
from costs.models import StatementLine
from costs.tests import fleet
from costs.tests.fleet_fixtures import pull
from portal.domain_errors import DomainError
from tenants.tests.factories import GpuProfileFactory, finance

pytestmark = pytest.mark.prometheus

JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)
CENTER = "CC-1000"  # every fleet tenant's cost center


def csv_bytes(client, month, center):
    response = client.get("/costs/statements/export.csv", {"month": month, "cost_center": center})
    assert response.status_code == 200
    return response.content


def test_closed_month_statement_never_changes_and_a_repull_becomes_an_adjustment(
    mixed, expected, client
):
    cluster, _ = mixed
    pull(cluster)
    user = finance()
    user.save()
    client.force_login(user)

    draft = statements.statement(month=JAN, cost_center=CENTER)
    assert draft.closed is None
    total = sum((expected.tenant(s, "cost") for s in fleet.TENANT_NAMESPACES), Decimal(0))
    assert draft.total.cost == pytest.approx(total, rel=Decimal("1e-3"))
    assert {line.kind for line in statements.statement(month=JAN, cost_center="").lines} == {"idle"}

    client.post("/costs/statements/", {"month": "2026-01"})
    before = csv_bytes(client, "2026-01", CENTER)
    page = client.get("/costs/statements/view/", {"month": "2026-01", "cost_center": CENTER})
    assert b"Closed" in page.content and b"hopper" in page.content

    # the A10 gets a profile: a re-pull now prices January's mystery usage
    GpuProfileFactory(
        name="a10", display_name="A10", gpu_model=fleet.A10, gpu_product="NVIDIA-A10",
        resource_name="nvidia.com/gpu", gpu_fraction=Decimal("1"),
    )  # fmt: skip
    pull(cluster)
    late = Decimal(repr(expected.unit_hours["mystery-dev"])) * fleet.PRICES[fleet.A10]

    assert csv_bytes(client, "2026-01", CENTER) == before
    adjustments = [
        line for line in statements.statement(month=FEB, cost_center=CENTER).lines
        if line.kind == "adjustment"
    ]  # fmt: skip
    # the unpriced hours are reversed and booked again as priced A10 hours
    assert {(a.tenant, a.for_month) for a in adjustments} == {("mystery", JAN)}
    assert sorted(a.gpu_model for a in adjustments) == ["", fleet.A10]
    assert sum(a.gpu_hours for a in adjustments) == 0
    assert sum(a.cost for a in adjustments) == pytest.approx(late, abs=Decimal("0.01"))

    statements.close_month(month=FEB, user=user)
    february = csv_bytes(client, "2026-02", CENTER)
    assert b",adjustment,2026-01,mystery," in february
    pull(cluster)  # nothing new: no second adjustment for March
    assert not [line for line in statements.draft(date(2026, 3, 1)) if line.kind == "adjustment"]
    assert csv_bytes(client, "2026-02", CENTER) == february


def test_closing_rules(mixed):
    cluster, _ = mixed
    pull(cluster)
    user = finance()
    statements.close_month(month=FEB, user=user)

    with pytest.raises(DomainError, match="already closed"):
        statements.close_month(month=FEB, user=user)
    with pytest.raises(DomainError, match="closed in order"):
        statements.close_month(month=JAN, user=user)
    with pytest.raises(DomainError, match="not over yet"):
        statements.close_month(month=date(2099, 1, 1), user=user)
    with pytest.raises(DomainError, match="are closed and their statements final"):
        services.add_price(
            gpu_model="NVIDIA B200", hourly_price=Decimal("9"), effective_from=date(2026, 2, 10)
        )


def test_stored_lines_refuse_updates_in_the_database(mixed):
    cluster, _ = mixed
    pull(cluster)
    statements.close_month(month=JAN, user=finance())
    assert StatementLine.objects.exists()

    with (
        pytest.raises(ProgrammingError, match="Cannot update or delete"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE costs_statementline SET cost = 0")
