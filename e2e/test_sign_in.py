"""Journey (a): each role signs in through the login form and lands on its own page."""

import pytest

from e2e.conftest import sign_in
from portal import roles
from tenants.tests.factories import (
    finance,
    platform_admin,
    sre,
    user_in,
)

pytestmark = pytest.mark.e2e


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
    user = make_user()
    sign_in(browser_page, user.username)
    assert browser_page.url.endswith("/")
    assert role in browser_page.inner_text("main")
