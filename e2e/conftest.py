"""Browser journey fixtures: one real Chromium per test module (Playwright's sync API, never
`playwright install`), a fresh browser context per test, and sign-in through the login form.

Module scope, not session: while a sync Playwright is open its event loop counts as running in
the test thread, so a second `sync_playwright()` (another app's browser test on the same xdist
worker) or an asyncio test would fail. Module fixtures end before the next module starts.

Tests run against Django's `live_server` and need `transactional_db` (the server thread reads
what the test wrote). DJANGO_ALLOW_ASYNC_UNSAFE is set in the root conftest because Playwright's
sync API runs an event loop in the test thread.
"""

import os
import re
import tempfile
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Generous: CI shares two cores with Prometheus, Celery workers and a second xdist worker.
TIMEOUT_MS = 20_000
PASSWORD = "pw-for-tests-1"  # tenants.tests.factories.UserFactory's password
SCREENSHOTS = Path(
    os.environ.get("PORTAL_SCREENSHOTS", Path(tempfile.gettempdir()) / "gpu-portal-screenshots")
)


@pytest.fixture(scope="module")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item so fixtures can tell that the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _failed(request) -> bool:
    report = getattr(request.node, "report_call", None)
    return report is not None and report.failed


def _save_failure(page, request, suffix: str = "") -> None:
    """Screenshot and HTML of a failed journey, for CI logs that cannot show a browser."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    try:
        path = screenshot(page, f"FAILED-{name}{suffix}")
        path.with_suffix(".html").write_text(page.content())
        print(f"\nfailed page {page.url}: screenshot {path}")
    except Exception as exc:  # the page may be gone; the test failure is what matters
        print(f"\ncould not save the failed page: {exc}")


@pytest.fixture
def browser_page(chromium, live_server, transactional_db, request):
    """A page in its own browser context (own cookies) with live_server as base URL."""
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    js_errors: list[str] = []
    page.on("pageerror", lambda exc: js_errors.append(str(exc)))
    yield page
    if _failed(request):
        _save_failure(page, request)
    context.close()
    assert not js_errors, f"JavaScript errors on the page: {js_errors}"


@pytest.fixture
def new_page(chromium, live_server, transactional_db, request):
    """Factory for more pages, each in its own context: two users side by side."""
    contexts = []
    js_errors: list[str] = []

    def make():
        context = chromium.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: js_errors.append(str(exc)))
        return page

    yield make
    for n, context in enumerate(contexts, start=1):
        if _failed(request):
            for page in context.pages:
                _save_failure(page, request, suffix=f"-page{n}")
        context.close()
    assert not js_errors, f"JavaScript errors on the page: {js_errors}"


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form and wait until the login page is left."""
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/accounts/login/).*$"))


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
