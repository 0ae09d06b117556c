"""Journey (a): each role signs in through the login form and lands on its own page."""

from urllib.parse import urlsplit

import pytest

from e2e.conftest import sign_in
from portal import roles
from tenants.tests.factories import finance, platform_admin, sre, user_in

pytestmark = pytest.mark.e2e

LANDING_HEADING = {
    roles.PLATFORM_ADMIN: "Approvals",
    roles.SRE: "SRE",
    roles.FINANCE: "Finance",
    roles.ML_TEAM: "My tenants",
}


@pytest.mark.parametrize(
    "make_user, role",
    [
        (platform_admin, roles.PLATFORM_ADMIN),
        (sre, roles.SRE),
        (finance, roles.FINANCE),
        (lambda: user_in(roles.ML_TEAM), roles.ML_TEAM),
    ],
)
def test_each_role_lands_on_its_page_after_signing_in(browser_page, make_user, role):
    sign_in(browser_page, make_user().username)
    assert urlsplit(browser_page.url).path == "/"
    headings = browser_page.locator("main h2").all_inner_texts()
    assert LANDING_HEADING[role] in headings
    others = set(LANDING_HEADING.values()) - {LANDING_HEADING[role]}
    assert not others & set(headings), headings


def test_a_wrong_password_stays_on_the_login_page_with_an_error(browser_page):
    user = user_in(roles.ML_TEAM)
    browser_page.goto("/accounts/login/")
    browser_page.fill("input[name=username]", user.username)
    browser_page.fill("input[name=password]", "not-the-password")
    browser_page.click("form button[type=submit]")
    browser_page.wait_for_load_state()
    assert "/accounts/login/" in browser_page.url
    assert browser_page.locator(".errorlist, .error").count() >= 1
