"""The guardrails API: platform admins only (the same role check as the pages), problem+json
errors on the offending field, and the cluster's mode and exemptions as the pages show them."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from guardrails.models import ClusterGuardrails, RuleExemption
from tenants.tests.factories import UserFactory, platform_admin
from workloads.tests.factories import WorkloadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    client = APIClient()
    client.force_authenticate(platform_admin(username="pat"))
    return client


def test_an_ml_team_member_cannot_switch_a_cluster(tenant):
    client = APIClient()
    client.force_authenticate(UserFactory(username="mia"))
    response = client.put(
        f"/api/v1/guardrails/clusters/{tenant.cluster.name}/", {"mode": "enforce"}, format="json"
    )
    assert response.status_code == 403
    assert not ClusterGuardrails.objects.exists()


def test_an_admin_switches_a_cluster_to_enforce(api, tenant):
    url = f"/api/v1/guardrails/clusters/{tenant.cluster.name}/"
    assert api.get(url).json()["mode"] == "audit"
    response = api.put(url, {"mode": "enforce"}, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "cluster": tenant.cluster.name,
        "kubernetes_version": "1.31",
        "mode": "enforce",
        "enforced": True,
    }
    assert [c["mode"] for c in api.get("/api/v1/guardrails/clusters/").json()] == ["enforce"]


def test_an_exemption_for_an_unknown_workload_names_the_field(api, tenant):
    response = api.post(
        "/api/v1/guardrails/exemptions/",
        {
            "tenant": tenant.slug,
            "workload": "nope",
            "environment": "dev",
            "rule": "host-path",
            "reason": "x",
            "expires_at": (timezone.now() + timedelta(days=1)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert "workload" in str(response.json())


def test_an_admin_grants_an_exemption_through_the_api(api, tenant, envs):
    WorkloadFactory(tenant=tenant, name="ranker")
    response = api.post(
        "/api/v1/guardrails/exemptions/",
        {
            "tenant": tenant.slug,
            "workload": "ranker",
            "environment": "prod",
            "rule": "image-digest",
            "reason": "hotfix build, pinned tomorrow",
            "expires_at": (timezone.now() + timedelta(days=1)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["granted_by"] == "pat"
    assert RuleExemption.objects.get().environment == envs["prod"]
    assert len(api.get("/api/v1/guardrails/exemptions/").json()) == 1
