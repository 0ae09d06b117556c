"""The tenant cost page in a real Chromium: Chart.js (vendored, served from static/) draws each
chart from the page's embedded numbers, with no JavaScript errors."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from costs.models import PriceBookEntry
from costs.tests.factories import seed_usage
from tenants.tests.factories import EnvironmentFactory, GpuProfileFactory, finance

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic"]  # fmt: skip


@pytest.fixture(scope="module")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium not found at /usr/bin/chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def test_tenant_cost_page_draws_its_charts(chromium, live_server, transactional_db):
    profile = GpuProfileFactory()
    PriceBookEntry.objects.create(
        gpu_model=profile.gpu_model, hourly_price=Decimal("3"), effective_from=date(2026, 1, 1)
    )
    env = EnvironmentFactory(name="prod")
    seed_usage(env, profile, start=date(2026, 3, 1), days=3, workload="ranker")
    user = finance()
    user.save()
    context = chromium.new_context(base_url=live_server.url)
    context.add_cookies(_session_cookie(live_server.url, user))
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"/costs/tenants/{env.tenant.slug}/?start=2026-03-01&end=2026-03-03")

    drawn = page.evaluate(
        "Array.from(document.querySelectorAll('canvas')).map(c => !!Chart.getChart(c))"
    )
    assert drawn == [True] * 5
    assert errors == []
    assert page.locator("#total-cost").inner_text() == "216.00 USD"  # 72 h x 1 GPU x 3.00
    context.close()


def _session_cookie(url, user):
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return [{"name": settings.SESSION_COOKIE_NAME,
             "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": url}]  # fmt: skip
