"""Every API error is an RFC 7807 problem document with a status-appropriate title."""

import json

import pytest
from rest_framework.test import APIClient

from clusters.tests.factories import ClusterCapacityFactory
from tenants.tests.factories import QuotaRequestFactory, UserFactory, platform_admin, sre

pytestmark = pytest.mark.django_db


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_conflict_is_a_409_titled_conflict_with_the_services_message():
    qr = QuotaRequestFactory(guaranteed=1)
    ClusterCapacityFactory(cluster=qr.environment.cluster)
    admin = as_user(platform_admin(username="alice"))
    admin.post(f"/api/v1/quota-requests/{qr.pk}/approve/")
    body = admin.post(f"/api/v1/quota-requests/{qr.pk}/approve/").json()
    assert (body["status"], body["title"]) == (409, "Conflict")
    assert "already approved by alice" in body["detail"]


def test_a_forbidden_write_keeps_the_services_reason():
    qr = QuotaRequestFactory()
    response = as_user(sre()).post(f"/api/v1/quota-requests/{qr.pk}/approve/")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


def test_a_wrong_method_is_a_405_problem():
    response = as_user(UserFactory()).delete("/api/v1/tenants/")
    assert response.status_code == 405
    assert response.json()["status"] == 405


def test_an_unknown_tenant_is_a_404_problem_that_reveals_nothing():
    body = as_user(UserFactory()).get("/api/v1/tenants/nope/").json()
    assert (body["status"], body["title"]) == (404, "Not found.")


def test_an_oversized_body_is_a_413_problem():
    body = json.dumps({"name": "x" * 3_000_000})
    response = as_user(UserFactory()).post(
        "/api/v1/tenants/", data=body, content_type="application/json"
    )
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
