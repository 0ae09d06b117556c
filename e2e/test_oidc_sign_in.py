"""Single sign-on against a real OpenID Provider on 127.0.0.1 (npm `oidc-provider`, run by Node;
portal/testing/oidc_provider.py), driven in Chromium: first login creates the account with the
roles of the user's groups, a group removed at the provider removes the role at the next login,
sign-out ends the provider session too, and a replayed callback (state) is refused. Forged,
expired and wrong-audience ID tokens are checked against the provider's live JWKS."""

import re
import time

import jwt
import pytest
from django.contrib.auth.models import User
from django.core.exceptions import SuspiciousOperation

from accounts import oidc
from accounts.models import OidcIdentity
from portal.testing.oidc_provider import OpenIDProvider, rsa_jwk
from tenants.tests.factories import UserFactory

from .conftest import screenshot

pytestmark = [pytest.mark.e2e]
CLIENT_ID, CLIENT_SECRET = "gpu-portal-test", "a-client-secret-for-tests"


@pytest.fixture(scope="module")
def provider(live_server):
    op = OpenIDProvider(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=live_server.url + "/oidc/callback/",
        logout_uri=live_server.url + "/accounts/login/",
    ).start()
    yield op
    op.stop()


@pytest.fixture
def sso(settings, provider):
    settings.PORTAL_OIDC_ISSUER = provider.issuer
    settings.PORTAL_OIDC_CLIENT_ID = CLIENT_ID
    settings.PORTAL_OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.PORTAL_OIDC_ROLE_GROUPS = "platform-admin=gpu-admins;sre=sre-team;finance=finops"
    return provider


def sign_in_at_provider(page, username):
    page.goto("/accounts/login/")
    page.click("#sso")
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/interaction/"))
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", "anything")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*(/interaction/|/accounts/login/)).*$"))


def roles_of(username):
    return set(User.objects.get(username=username).groups.values_list("name", flat=True))


@pytest.mark.django_db(transaction=True)
def test_sso_signs_in_with_group_roles_and_a_group_removed_at_the_provider_removes_the_role(
    sso, browser_page
):
    page = browser_page
    sso.set_groups("mia", ["sre-team", "gpu-admins", "unrelated"])
    callbacks = []
    page.on("request", lambda r: callbacks.append(r.url) if "/oidc/callback/?" in r.url else None)

    sign_in_at_provider(page, "mia")

    assert page.locator(".who a[href='/me/']").inner_text() == "mia"
    assert roles_of("mia") == {"sre", "platform-admin"}
    identity = OidcIdentity.objects.get(user__username="mia")
    assert (identity.issuer, identity.subject) == (sso.issuer, "mia")
    assert not User.objects.get(username="mia").has_usable_password()
    first_callback = callbacks[-1]
    assert "code=" in first_callback and "state=" in first_callback

    # the provider drops a group; signing out ends the provider session too (RP-initiated)
    sso.set_groups("mia", ["sre-team"])
    page.click(".who button")
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/session/end"))
    page.click("button[autofocus], button[type=submit]")
    page.wait_for_url(re.compile(r".*/accounts/login/"))
    sign_in_at_provider(page, "mia")  # asks for the login again: the provider session ended

    assert roles_of("mia") == {"sre"}
    screenshot(page, "oidc-signed-in")

    # the callback of the first login, replayed: its state was used up
    page.click(".who button")
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/session/end"))
    page.click("button[autofocus], button[type=submit]")
    page.wait_for_url(re.compile(r".*/accounts/login/"))
    page.goto(first_callback)
    page.wait_for_url(re.compile(r".*/accounts/login/"))
    assert "Single sign-on failed" in page.content()
    assert page.locator(".who").count() == 0


@pytest.mark.django_db(transaction=True)
def test_with_sso_passwords_work_only_for_break_glass_accounts(sso, browser_page):
    UserFactory(username="ana")
    UserFactory(username="root", groups=["break-glass"])
    page = browser_page

    page.goto("/accounts/login/")
    assert page.locator("#sso").is_visible()  # SSO is offered first
    page.click("summary")
    page.fill("input[name=username]", "ana")
    page.fill("input[name=password]", "pw-for-tests-1")
    page.click("form[action='/accounts/login/'] button[type=submit]")
    assert "not a break-glass account" in page.content()

    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", "pw-for-tests-1")
    page.click("form[action='/accounts/login/'] button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/accounts/login/).*$"))
    assert page.locator(".who a[href='/me/']").inner_text() == "root"


# --- the ID token checks, against the provider's live discovery document and JWKS ------------


def _token(provider, *, key=None, kid="op-key-1", alg="RS256", **overrides):
    now = int(time.time())
    claims = {
        "iss": provider.issuer,
        "sub": "mia",
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 300,
        "nonce": "n-1",
    }
    claims.update(overrides)
    return jwt.encode(claims, key or provider.signing_key, algorithm=alg, headers={"kid": kid})


def test_a_token_signed_by_the_provider_is_accepted(sso, db):
    assert oidc.PortalOIDCBackend().verify_token(_token(sso), nonce="n-1")["sub"] == "mia"


@pytest.mark.parametrize(
    "case, overrides",
    [
        ("expired", {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}),
        ("wrong audience", {"aud": "another-client"}),
        ("wrong issuer", {"iss": "http://127.0.0.1:1"}),
        ("no expiry", {"exp": None}),
    ],
)
def test_a_token_with_bad_claims_is_refused(sso, db, case, overrides):
    claims = {k: v for k, v in overrides.items() if v is not None}
    token = _token(sso, **claims)
    if "exp" in overrides and overrides["exp"] is None:
        now = int(time.time())
        payload = {"iss": sso.issuer, "sub": "mia", "aud": CLIENT_ID, "iat": now, "nonce": "n-1"}
        token = jwt.encode(payload, sso.signing_key, algorithm="RS256", headers={"kid": "op-key-1"})
    with pytest.raises(SuspiciousOperation):
        oidc.PortalOIDCBackend().verify_token(token, nonce="n-1")


def test_a_forged_token_signed_with_another_key_is_refused(sso, db):
    _, forger_key = rsa_jwk("op-key-1")
    with pytest.raises(SuspiciousOperation):
        oidc.PortalOIDCBackend().verify_token(_token(sso, key=forger_key), nonce="n-1")


def test_an_unsigned_token_is_refused(sso, db):
    unsigned = jwt.encode(
        {"iss": sso.issuer, "sub": "mia", "aud": CLIENT_ID, "exp": int(time.time()) + 60},
        None,
        algorithm="none",
        headers={"kid": "op-key-1"},
    )
    with pytest.raises(SuspiciousOperation):
        oidc.PortalOIDCBackend().verify_token(unsigned, nonce="n-1")


def test_a_token_for_another_nonce_is_refused(sso, db):
    with pytest.raises(SuspiciousOperation):
        oidc.PortalOIDCBackend().verify_token(_token(sso), nonce="n-2")
