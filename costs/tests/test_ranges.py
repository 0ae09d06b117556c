"""Cost pages and API default to the trailing 30 days and offer quick ranges."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from costs import ranges
from tenants.tests.factories import finance


@pytest.mark.parametrize(
    ("key", "want"),
    [
        ("7d", (date(2026, 3, 27), date(2026, 4, 2))),
        ("30d", (date(2026, 3, 4), date(2026, 4, 2))),
        ("90d", (date(2026, 1, 3), date(2026, 4, 2))),
        ("this-month", (date(2026, 4, 1), date(2026, 4, 2))),
        ("last-month", (date(2026, 3, 1), date(2026, 3, 31))),
    ],
)
def test_quick_ranges(key, want):
    assert ranges.quick_range(key, date(2026, 4, 2)) == want


def test_last_month_in_january_is_december():
    assert ranges.quick_range("last-month", date(2026, 1, 15)) == (
        date(2025, 12, 1),
        date(2025, 12, 31),
    )


@pytest.mark.django_db
def test_api_defaults_to_the_trailing_30_days_and_takes_a_quick_range():
    client = APIClient()
    client.force_authenticate(finance())
    today = timezone.now().date()

    default = client.get("/api/v1/costs/tenants/").json()
    quick = client.get("/api/v1/costs/tenants/", {"range": "last-month"}).json()
    bad = client.get("/api/v1/costs/tenants/", {"range": "fortnight"})

    assert (default["start"], default["end"]) == (
        (today - timedelta(days=29)).isoformat(),
        today.isoformat(),
    )
    last = today.replace(day=1) - timedelta(days=1)
    assert (quick["start"], quick["end"]) == (last.replace(day=1).isoformat(), last.isoformat())
    assert bad.status_code == 400 and "range" in bad.json().get("errors", bad.json())


@pytest.mark.django_db
def test_overview_page_defaults_to_30_days_and_links_quick_ranges(client):
    client.force_login(finance())
    today = timezone.now().date()

    page = client.get("/costs/").content.decode()

    assert f'value="{today - timedelta(days=29):%Y-%m-%d}"' in page
    for key in ranges.QUICK:
        assert f"?range={key}" in page
    assert (
        f'value="{today.replace(day=1):%Y-%m-%d}"'
        in client.get("/costs/", {"range": "this-month"}).content.decode()
    )
