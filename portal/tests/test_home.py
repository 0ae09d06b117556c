"""Sign-in and the role landing page at /."""

import pytest

from tenants.models import Tenant
from tenants.tests.factories import (
    MembershipFactory,
    QuotaRequestFactory,
    TenantFactory,
    UserFactory,
    finance,
    platform_admin,
    sre,
)

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_signing_in_with_a_password_lands_on_home(client):
    UserFactory(username="ana")
    response = client.post(
        "/accounts/login/", {"username": "ana", "password": "pw-for-tests-1"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/"
    assert "Welcome, ana" in response.content.decode()


def test_sign_in_page_renders_with_the_portal_stylesheet_and_htmx(client):
    body = client.get("/accounts/login/").content.decode()
    assert "css/portal.css" in body and "vendor/htmx.min.js" in body


def test_ml_team_member_lands_on_their_tenants_and_requests(client):
    qr = QuotaRequestFactory(environment__tenant__slug="mine")
    TenantFactory(slug="not-mine")
    client.force_login(MembershipFactory(tenant=qr.tenant).user)
    body = client.get("/").content.decode()
    assert "My tenants" in body and "mine" in body and "not-mine" not in body
    assert qr.environment.namespace in body


def test_platform_admin_lands_on_the_approvals_summary(client):
    TenantFactory(status=Tenant.Status.PENDING)
    QuotaRequestFactory()
    client.force_login(platform_admin())
    body = client.get("/").content.decode()
    assert "<strong>1</strong> tenant and <strong>1</strong> quota request" in body
    assert "/tenants/approvals/" in body


def test_sre_lands_on_links_to_tenants_and_audit(client):
    client.force_login(sre())
    body = client.get("/").content.decode()
    assert "/tenants/" in body and "/audit/" in body


def test_finance_lands_on_the_cost_links(client):
    client.force_login(finance())
    body = client.get("/").content.decode()
    assert "/costs/" in body


def test_nav_shows_approvals_to_admins_only(client):
    client.force_login(UserFactory())
    assert "/tenants/approvals/" not in client.get("/tenants/").content.decode()
    client.force_login(platform_admin())
    assert "/tenants/approvals/" in client.get("/tenants/").content.decode()


def test_pages_send_the_csrf_token_with_htmx_requests(client):
    client.force_login(UserFactory())
    assert 'hx-headers=\'{"X-CSRFToken": "' in client.get("/").content.decode()
