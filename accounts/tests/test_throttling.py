"""Sign-in lockout per account and per address (web and API), and API rate limits per token."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import SignInAttempt
from accounts.tests.factories import token_for
from tenants.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    settings.PORTAL_LOGIN_MAX_FAILURES = 3
    settings.PORTAL_LOGIN_MAX_FAILURES_PER_IP = 5
    settings.PORTAL_LOGIN_WINDOW_SECONDS = 600
    return settings


def web_login(client, username, password, ip="10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_the_n_plus_first_failed_web_login_is_refused_with_a_clear_message(client, limits):
    UserFactory(username="ana")
    for _ in range(3):
        response = web_login(client, "ana", "wrong")
        assert "Please enter a correct username and password" in response.content.decode()

    refused = web_login(client, "ana", "pw-for-tests-1")  # even the right password

    text = refused.content.decode()
    assert "Too many failed sign-ins for ana: try again in 10 minutes" in text
    assert "_auth_user_id" not in client.session
    outcomes = list(SignInAttempt.objects.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == ["failed", "failed", "failed", "locked"]  # in the audit trail


def test_a_lockout_of_one_account_leaves_others_alone(client, limits):
    UserFactory(username="ana")
    UserFactory(username="bob")
    for _ in range(3):
        web_login(client, "ana", "wrong")

    response = web_login(client, "bob", "pw-for-tests-1", ip="10.0.0.2")

    assert response.status_code == 302


def test_a_success_resets_the_count(client, limits):
    UserFactory(username="ana")
    web_login(client, "ana", "wrong")
    web_login(client, "ana", "wrong")
    assert web_login(client, "ana", "pw-for-tests-1").status_code == 302
    client.logout()
    web_login(client, "ana", "wrong")

    assert web_login(client, "ana", "pw-for-tests-1").status_code == 302


def test_one_address_guessing_many_accounts_is_refused(client, limits):
    for i in range(5):
        web_login(client, f"user{i}", "wrong", ip="10.9.9.9")

    response = web_login(client, "someone-else", "wrong", ip="10.9.9.9")

    assert "Too many failed sign-ins from your address" in response.content.decode()


def test_the_api_token_endpoint_answers_a_lockout_with_429_retry_after(limits):
    UserFactory(username="ana")
    client = APIClient(REMOTE_ADDR="10.0.0.7")
    for _ in range(3):
        response = client.post("/api/v1/auth/token/", {"username": "ana", "password": "x"})
        assert response.status_code == 400

    refused = client.post("/api/v1/auth/token/", {"username": "ana", "password": "pw-for-tests-1"})

    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert 590 <= int(refused["Retry-After"]) <= 600
    assert "Too many failed sign-ins for ana" in refused.json()["detail"]


def test_web_and_api_failures_count_together(client, limits):
    UserFactory(username="ana")
    web_login(client, "ana", "wrong")
    web_login(client, "ana", "wrong")
    APIClient().post("/api/v1/auth/token/", {"username": "ana", "password": "x"})

    assert "Too many failed" in web_login(client, "ana", "pw-for-tests-1").content.decode()


def test_api_requests_beyond_the_per_token_rate_get_429_with_retry_after(settings):
    settings.PORTAL_API_RATE = "3/minute"
    mine, theirs = APIClient(), APIClient()
    mine.credentials(HTTP_AUTHORIZATION=f"Token {token_for(UserFactory(username='a'))}")
    theirs.credentials(HTTP_AUTHORIZATION=f"Token {token_for(UserFactory(username='b'))}")

    codes = [mine.get("/api/v1/auth/tokens/").status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]
    refused = mine.get("/api/v1/auth/tokens/")
    assert refused["Content-Type"] == "application/problem+json"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert theirs.get("/api/v1/auth/tokens/").status_code == 200  # counted per token
