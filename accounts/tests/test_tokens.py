"""Personal API tokens: named, hashed at rest, expiring, revocable; the token endpoint issues
expiring ones."""

import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.tests.factories import token_for
from tenants.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


def api(key=None):
    client = APIClient()
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_token_authenticates_and_records_its_use():
    key = token_for(UserFactory(username="ana"))

    response = api(key).get("/api/v1/auth/tokens/")

    assert response.status_code == 200
    assert [t["name"] for t in response.json()] == ["test"]
    assert ApiToken.objects.get().last_used_at is not None


def test_bearer_scheme_works_too():
    key = token_for(UserFactory())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/auth/tokens/").status_code == 200


def test_an_expired_token_gets_401_saying_what_to_do():
    key = token_for(UserFactory())
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = api(key).get("/api/v1/tenants/")

    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    assert "expired: create a new one" in response.json()["detail"]
    assert response["WWW-Authenticate"] == "Token"


def test_a_revoked_token_gets_401():
    user = UserFactory()
    key = token_for(user)
    token = ApiToken.objects.get()
    assert api(key).delete(f"/api/v1/auth/tokens/{token.pk}/").status_code == 204

    response = api(key).get("/api/v1/tenants/")

    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    token.refresh_from_db()
    assert token.revoked_by == user


def test_an_unknown_token_gets_401():
    assert api("gpt_not-a-real-token").get("/api/v1/tenants/").status_code == 401


def test_no_token_key_is_stored_in_plain_text():
    keys = [token_for(UserFactory(username=f"u{i}")) for i in range(3)]
    keys.append(
        APIClient()
        .post("/api/v1/auth/token/", {"username": "u0", "password": "pw-for-tests-1"})
        .json()["token"]
    )

    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(t)::text FROM accounts_apitoken t")
        rows = " ".join(r[0] for r in cursor.fetchall())
        cursor.execute("SELECT row_to_json(e)::text FROM accounts_apitokenevent e")
        rows += " ".join(r[0] for r in cursor.fetchall())
    for key in keys:
        assert key not in rows and key[8:] not in rows
        assert hashlib.sha256(key.encode()).hexdigest() in rows


def test_the_token_endpoint_issues_a_token_that_expires_in_90_days():
    UserFactory(username="ana")

    body = (
        api()
        .post(
            "/api/v1/auth/token/", {"username": "ana", "password": "pw-for-tests-1"}, format="json"
        )
        .json()
    )

    token = ApiToken.objects.get(pk=body["id"])
    days = (token.expires_at - timezone.now()) / timedelta(days=1)
    assert 89.9 < days <= 90
    assert api(body["token"]).get("/api/v1/auth/tokens/").status_code == 200


def test_create_list_and_revoke_through_the_api_never_shows_a_key_twice():
    client = api(token_for(UserFactory()))

    created = client.post("/api/v1/auth/tokens/", {"name": "ci", "expires_in_days": 7})

    assert created.status_code == 201
    assert created.json()["token"].startswith("gpt_")
    listed = client.get("/api/v1/auth/tokens/").json()
    assert {t["name"] for t in listed} == {"test", "ci"}
    assert all("token" not in t for t in listed)


def test_an_expiry_beyond_the_maximum_is_refused_on_its_field():
    client = api(token_for(UserFactory()))

    response = client.post("/api/v1/auth/tokens/", {"name": "ci", "expires_in_days": 400})

    assert response.status_code == 400
    assert "between 1 and 365 days" in response.json()["errors"]["expires_in_days"][0]


def test_nobody_revokes_another_users_token():
    other = UserFactory(username="other")
    token_for(other)
    theirs = ApiToken.objects.get(user=other)

    response = api(token_for(UserFactory())).delete(f"/api/v1/auth/tokens/{theirs.pk}/")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_the_own_page_creates_shows_once_and_revokes_a_token(client):
    user = UserFactory()
    client.force_login(user)

    page = client.post(reverse("accounts:me"), {"name": "laptop", "expires_in_days": 30})

    key = page.context["new_key"]
    assert key in page.content.decode()
    assert key not in client.get(reverse("accounts:me")).content.decode()
    token = ApiToken.objects.get(user=user)
    client.post(reverse("accounts:revoke_token"), {"token": token.pk})
    assert api(key).get("/api/v1/auth/tokens/").status_code == 401
