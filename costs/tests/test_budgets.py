"""Budgets: finance sets a monthly budget per tenant and per cost center; each threshold
(50/80/100%) and the forecast crossing are delivered once a month, by e-mail through a real
SMTP server on 127.0.0.1 (aiosmtpd); owners see their budgets, the finance overview and the
API show the status."""

import email
import email.policy
import socket
from datetime import date
from decimal import Decimal

import pytest
from aiosmtpd.controller import Controller
from rest_framework.test import APIClient

from clusters.tests.factories import ClusterFactory
from costs import budgets
from costs.models import Budget, BudgetAlert, PriceBookEntry
from costs.tests.factories import seed_usage
from portal.domain_errors import DomainError
from tenants.tests.factories import (
    EnvironmentFactory,
    GpuProfileFactory,
    MembershipFactory,
    TenantFactory,
    UserFactory,
    finance,
)


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message["Subject"]))
        return "250 OK"

    def subjects(self):
        return sorted({subject for _, subject in self.messages})


@pytest.fixture
def smtp(settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield inbox
    controller.stop()


@pytest.fixture
def team(db):
    """Tenant alpha (cost center cc-ml) holding one H100 at 4.00/h: 96.00 a day."""
    profile = GpuProfileFactory()
    PriceBookEntry.objects.create(
        gpu_model=profile.gpu_model, hourly_price=Decimal("4.00"), effective_from=date(2026, 1, 1)
    )
    cluster = ClusterFactory(name="east")
    alpha = TenantFactory(slug="alpha", cluster=cluster, cost_center="cc-ml")
    TenantFactory(slug="beta", cluster=cluster, cost_center="cc-ml")
    owner = UserFactory(username="alpha-owner")
    MembershipFactory(tenant=alpha, user=owner, role="owner")
    env = EnvironmentFactory(tenant=alpha, name="prod")
    return alpha, env, profile, owner, finance(username="fin", email="fin@example.com")


def evaluate(day, capture):
    with capture(execute=True):
        return budgets.evaluate_budgets(today=day)


def test_thresholds_and_forecast_are_delivered_once_each(
    team, smtp, django_capture_on_commit_callbacks
):
    alpha, env, profile, owner, fin = team
    budgets.set_budget(user=fin, tenant=alpha, monthly_amount=Decimal("1000"))
    budgets.set_budget(user=fin, cost_center="cc-ml", monthly_amount=Decimal("500"))
    seed_usage(env, profile, start=date(2026, 3, 1), days=10)  # 960.00 by March 10

    first = evaluate(date(2026, 3, 10), django_capture_on_commit_callbacks)
    again = evaluate(date(2026, 3, 10), django_capture_on_commit_callbacks)

    # tenant: 96% -> 50 and 80; forecast 960 + 21 x 96 crosses 1000. cost center: 192% -> all
    assert sorted((a.budget.scope, a.kind, a.threshold) for a in first) == [
        ("cost center cc-ml", "threshold", 50),
        ("cost center cc-ml", "threshold", 80),
        ("cost center cc-ml", "threshold", 100),
        ("tenant alpha", "forecast", 100),
        ("tenant alpha", "threshold", 50),
        ("tenant alpha", "threshold", 80),
    ]
    assert again == []
    assert len(smtp.messages) == 6  # one message each, nothing more on the second run
    assert smtp.subjects() == sorted(
        [
            "GPU budget: cost center cc-ml reached 50% of its March 2026 budget "
            "(USD 960.00 of 500.00)",
            "GPU budget: cost center cc-ml reached 80% of its March 2026 budget "
            "(USD 960.00 of 500.00)",
            "GPU budget: cost center cc-ml reached 100% of its March 2026 budget "
            "(USD 960.00 of 500.00)",
            "GPU budget: tenant alpha is forecast to exceed its March 2026 budget "
            "(USD 2,976.00 forecast, USD 960.00 of 1,000.00 spent)",
            "GPU budget: tenant alpha reached 50% of its March 2026 budget "
            "(USD 960.00 of 1,000.00)",
            "GPU budget: tenant alpha reached 80% of its March 2026 budget "
            "(USD 960.00 of 1,000.00)",
        ]
    )
    for to, _ in smtp.messages:
        assert sorted(to) == sorted([owner.email, fin.email])

    # two more days: 1,152.00 reaches 100%, and only that is new
    seed_usage(env, profile, start=date(2026, 3, 11), days=2)
    later = evaluate(date(2026, 3, 12), django_capture_on_commit_callbacks)
    assert [(a.kind, a.threshold) for a in later] == [("threshold", 100)]
    assert len(smtp.messages) == 7

    # a new month starts over
    seed_usage(env, profile, start=date(2026, 4, 1), days=6)  # 576.00
    april = evaluate(date(2026, 4, 6), django_capture_on_commit_callbacks)
    assert {(a.budget.scope, a.threshold) for a in april if a.kind == "threshold"} == {
        ("tenant alpha", 50),
        ("cost center cc-ml", 50),
        ("cost center cc-ml", 80),
        ("cost center cc-ml", 100),
    }
    assert BudgetAlert.objects.filter(month=date(2026, 3, 1)).count() == 7


def test_only_finance_sets_budgets_with_actionable_errors(team):
    alpha, _, _, owner, fin = team
    with pytest.raises(DomainError, match="Only finance"):
        budgets.set_budget(user=owner, tenant=alpha, monthly_amount=Decimal("1"))
    with pytest.raises(DomainError, match="either a tenant or a cost center"):
        budgets.set_budget(user=fin, monthly_amount=Decimal("1"))
    with pytest.raises(DomainError, match="No tenant has cost center"):
        budgets.set_budget(user=fin, cost_center="cc-typo", monthly_amount=Decimal("1"))
    with pytest.raises(DomainError, match="between 1 and 1000"):
        budgets.set_budget(user=fin, tenant=alpha, monthly_amount=Decimal("1"), thresholds=[0])
    assert not Budget.objects.exists()


def test_owner_sees_budget_status_on_the_tenant_page_and_api(team, client):
    alpha, env, profile, owner, fin = team
    budgets.set_budget(user=fin, tenant=alpha, monthly_amount=Decimal("1000"))
    budgets.set_budget(user=fin, cost_center="cc-ml", monthly_amount=Decimal("5000"))
    other = TenantFactory(slug="gamma", cost_center="cc-other")
    budgets.set_budget(user=fin, tenant=other, monthly_amount=Decimal("7"))
    owner.save()
    client.force_login(owner)

    page = client.get("/costs/tenants/alpha/").content.decode()
    api = APIClient()
    api.force_authenticate(owner)
    listed = api.get("/api/v1/costs/budgets/").json()

    assert "Budget" in page and "1,000.00" in page and "5,000.00" in page
    assert sorted(b["scope"] for b in listed["results"]) == [
        "cost center cc-ml",
        "tenant alpha",
    ]
    assert {"spent", "forecast", "percent", "state", "thresholds_reached"} <= set(
        listed["results"][0]
    )


def test_finance_overview_and_api_show_and_set_budgets(team, client):
    alpha, _, _, owner, fin = team
    fin.save()
    client.force_login(fin)
    api = APIClient()
    api.force_authenticate(fin)

    created = api.post(
        "/api/v1/costs/budgets/",
        {"tenant": "alpha", "monthly_amount": "1234.00", "thresholds": [50, 90]},
        format="json",
    )
    refused = APIClient()
    refused.force_authenticate(owner)
    denied = refused.post(
        "/api/v1/costs/budgets/", {"tenant": "alpha", "monthly_amount": "1"}, format="json"
    )
    bad = api.post("/api/v1/costs/budgets/", {"monthly_amount": "1"}, format="json")

    assert created.status_code == 201, created.content
    assert created.json()["thresholds"] == [50, 90]
    assert denied.status_code == 403
    assert bad.status_code == 400
    assert "1,234.00" in client.get("/costs/").content.decode()
    assert "1,234.00" in client.get("/costs/budgets/").content.decode()
