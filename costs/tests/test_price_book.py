"""The price book: finance writes (web and API), everyone else reads; history is never
rewritten."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from costs.models import PriceBookEntry
from tenants.tests.factories import GpuProfileFactory, UserFactory, finance, mig_profile

H100 = "NVIDIA H100 80GB HBM3"


def _api(user):
    user.save()
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.fixture
def catalog(db):
    return GpuProfileFactory(), mig_profile()


def test_finance_adds_a_gpu_model_price(catalog):
    response = _api(finance()).post(
        "/api/v1/price-book/",
        {"gpu_model": H100, "hourly_price": "4.10", "effective_from": "2026-01-01"},
        format="json",
    )

    assert response.status_code == 201, response.content
    entry = PriceBookEntry.objects.get()
    assert (entry.gpu_model, str(entry.hourly_price)) == (H100, "4.1000")


def test_finance_adds_a_profile_override(catalog):
    _whole, mig = catalog

    response = _api(finance()).post(
        "/api/v1/price-book/",
        {"profile": mig.name, "hourly_price": "0.70", "effective_from": "2026-01-01"},
        format="json",
    )

    assert response.status_code == 201
    assert PriceBookEntry.objects.get().profile == mig


def test_ml_team_reads_but_cannot_write_the_price_book(catalog):
    api = _api(UserFactory())
    PriceBookEntry.objects.create(gpu_model=H100, hourly_price=4, effective_from=date(2026, 1, 1))

    assert len(api.get("/api/v1/price-book/").json()) == 1
    response = api.post(
        "/api/v1/price-book/",
        {"gpu_model": H100, "hourly_price": "1", "effective_from": "2026-01-01"},
        format="json",
    )
    assert response.status_code == 403
    assert PriceBookEntry.objects.count() == 1


def test_a_price_change_cannot_be_back_dated(catalog):
    PriceBookEntry.objects.create(gpu_model=H100, hourly_price=4, effective_from=date(2026, 1, 1))
    yesterday = timezone.now().date() - timedelta(days=1)

    response = _api(finance()).post(
        "/api/v1/price-book/",
        {"gpu_model": H100, "hourly_price": "5", "effective_from": yesterday.isoformat()},
        format="json",
    )

    assert response.status_code == 400
    assert "past costs are never rewritten" in response.json()["errors"]["effective_from"][0]
    assert PriceBookEntry.objects.count() == 1


def test_a_price_change_from_today_is_accepted(catalog):
    PriceBookEntry.objects.create(gpu_model=H100, hourly_price=4, effective_from=date(2026, 1, 1))

    response = _api(finance()).post(
        "/api/v1/price-book/",
        {
            "gpu_model": H100,
            "hourly_price": "5",
            "effective_from": timezone.now().date().isoformat(),
        },
        format="json",
    )

    assert response.status_code == 201


def test_a_second_currency_is_refused(catalog):
    PriceBookEntry.objects.create(gpu_model=H100, hourly_price=4, effective_from=date(2026, 1, 1))

    response = _api(finance()).post(
        "/api/v1/price-book/",
        {"gpu_model": "NVIDIA A10", "hourly_price": "1", "currency": "EUR",
         "effective_from": "2026-01-01"},
        format="json",
    )  # fmt: skip

    assert response.status_code == 400
    assert "USD" in response.json()["errors"]["currency"][0]


@pytest.mark.parametrize(
    "body",
    [
        {"hourly_price": "1", "effective_from": "2026-01-01"},
        {"gpu_model": H100, "hourly_price": "-1", "effective_from": "2026-01-01"},
        {"gpu_model": H100, "hourly_price": "1", "effective_from": "01/01/2026"},
    ],
)
def test_bad_price_input_is_400_problem_json(catalog, body):
    response = _api(finance()).post("/api/v1/price-book/", body, format="json")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")


def test_finance_adds_a_price_on_the_web_page(catalog, client):
    user = finance()
    user.save()
    client.force_login(user)

    response = client.post(
        "/costs/price-book/",
        {
            "gpu_model": H100,
            "hourly_price": "3.5",
            "currency": "USD",
            "effective_from": "2026-01-01",
        },
    )

    assert response.status_code == 302
    assert PriceBookEntry.objects.get().hourly_price == 3.5


def test_web_price_form_shows_the_error_beside_the_field(catalog, client):
    PriceBookEntry.objects.create(gpu_model=H100, hourly_price=4, effective_from=date(2026, 1, 1))
    user = finance()
    user.save()
    client.force_login(user)

    response = client.post(
        "/costs/price-book/",
        {
            "gpu_model": H100,
            "hourly_price": "3.5",
            "currency": "USD",
            "effective_from": "2026-01-02",
        },
    )

    assert response.status_code == 400
    assert "past costs are never rewritten" in str(
        response.context["form"].errors["effective_from"]
    )


def test_price_changes_are_in_the_audit_trail(catalog):
    _api(finance()).post(
        "/api/v1/price-book/",
        {"gpu_model": H100, "hourly_price": "4.10", "effective_from": "2026-01-01"},
        format="json",
    )

    event = PriceBookEntry.pgh_event_model.objects.get()
    assert event.pgh_label == "insert"
    assert event.pgh_context is not None and "user" in event.pgh_context.metadata
