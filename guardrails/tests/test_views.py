"""Guardrails pages: platform admins only, field-level errors, the mode of each cluster shown
(and 'not enforced' before Kubernetes 1.30), constant query counts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clusters.tests.factories import ClusterFactory
from guardrails.models import ClusterGuardrails, GuardrailSettings, RuleExemption
from tenants.tests.factories import UserFactory, platform_admin
from workloads.tests.factories import WorkloadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(platform_admin(username="pat"))
    return client


def test_ml_teams_cannot_open_or_change_guardrails(client, tenant):
    client.force_login(UserFactory(username="mia"))
    assert client.get("/guardrails/").status_code == 403
    response = client.post(f"/guardrails/clusters/{tenant.cluster.name}/mode/", {"mode": "audit"})
    assert response.status_code == 403
    assert not ClusterGuardrails.objects.exists()


def test_overview_shows_each_clusters_mode_in_constant_queries(
    admin_client, tenant, django_assert_max_num_queries
):
    ClusterGuardrails.objects.create(cluster=tenant.cluster, mode="enforce")
    old = ClusterFactory(name="gpu-legacy", kubernetes_version="1.29")
    for i in range(5):
        ClusterFactory(name=f"gpu-extra-{i}")
    with django_assert_max_num_queries(10):
        page = admin_client.get("/guardrails/").content.decode()
    assert "Enforce (deny violations)" in page
    assert page.count("Audit (report, never block)") == 6
    assert old.name in page and "not enforced: needs Kubernetes 1.30+" in page


def test_the_cluster_panel_says_when_guardrails_are_not_enforced(admin_client):
    ClusterFactory(name="gpu-legacy", kubernetes_version="1.29")
    page = admin_client.get("/guardrails/clusters/gpu-legacy/", HTTP_HX_REQUEST="true")
    text = page.content.decode()
    assert "Not enforced on this cluster" in text and "Kubernetes 1.29" in text
    assert "<html" not in text  # the htmx fragment only


def test_switching_to_enforce_from_the_cluster_page(admin_client, tenant):
    name = tenant.cluster.name
    response = admin_client.post(
        f"/guardrails/clusters/{name}/mode/", {"mode": "enforce", "next": "cluster"}
    )
    assert response.status_code == 302 and response["Location"] == f"/clusters/{name}/"
    assert ClusterGuardrails.objects.get(cluster=tenant.cluster).mode == "enforce"
    detail = admin_client.get(f"/clusters/{name}/").content.decode()
    assert f'hx-get="/guardrails/clusters/{name}/"' in detail


def test_a_bad_registry_is_a_field_error_and_nothing_is_saved(admin_client):
    response = admin_client.post(
        "/guardrails/settings/", {"allowed_registries": "registry.example.com\nhttps://x.io"}
    )
    assert response.status_code == 200
    assert "&#x27;https://x.io&#x27; is not a registry prefix" in response.content.decode()
    assert not GuardrailSettings.objects.exists()


def test_granting_and_revoking_an_exemption(admin_client, tenant, envs):
    workload = WorkloadFactory(tenant=tenant, name="ranker")
    until = (timezone.now() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    response = admin_client.post(
        "/guardrails/exceptions/rules/new/",
        {
            "workload": workload.pk,
            "environment": "prod",
            "rule": "image-registry",
            "reason": "vendor image mirrored next sprint",
            "expires_at": until,
        },
    )
    assert response.status_code == 302
    exemption = RuleExemption.objects.get()
    assert exemption.environment == envs["prod"]
    page = admin_client.get("/guardrails/").content.decode()
    assert "vendor image mirrored next sprint" in page
    admin_client.post("/guardrails/exceptions/revoke/", {"kind": "rule", "pk": exemption.pk})
    exemption.refresh_from_db()
    assert exemption.revoked_at is not None


def test_an_exemption_in_the_past_is_refused_on_its_field(admin_client, tenant):
    workload = WorkloadFactory(tenant=tenant, name="ranker")
    response = admin_client.post(
        "/guardrails/exceptions/rules/new/",
        {
            "workload": workload.pk,
            "environment": "dev",
            "rule": "host-path",
            "reason": "x",
            "expires_at": "2020-01-01T00:00",
        },
    )
    assert response.status_code == 200
    assert "Choose an end date in the future." in response.content.decode()
    assert not RuleExemption.objects.exists()


def test_revoking_an_unknown_exception_is_a_404_not_a_500(admin_client):
    response = admin_client.post("/guardrails/exceptions/revoke/", {"kind": "rule", "pk": "abc"})
    assert response.status_code == 404


def test_a_team_sees_its_namespaces_levels_and_exemptions(
    client, tenant, envs, enforcing, django_assert_max_num_queries
):
    from tenants.models import TenantMembership
    from tenants.tests.factories import MembershipFactory

    member = UserFactory(username="mia")
    MembershipFactory(tenant=tenant, user=member, role=TenantMembership.Role.MEMBER)
    RuleExemption.objects.create(
        workload=WorkloadFactory(tenant=tenant, name="ranker"),
        environment=envs["prod"],
        rule="image-registry",
        reason="vendor image mirrored next sprint",
        expires_at=timezone.now() + timedelta(days=3),
    )
    client.force_login(member)
    with django_assert_max_num_queries(12):
        page = client.get(f"/guardrails/tenants/{tenant.slug}/").content.decode()
    assert "search-prod" in page and "Enforce (deny violations)" in page
    assert "vendor image mirrored next sprint" in page
    assert page.count("<td>restricted") == 3


def test_another_teams_guardrails_are_a_404(client, tenant):
    client.force_login(UserFactory(username="outsider"))
    assert client.get(f"/guardrails/tenants/{tenant.slug}/").status_code == 404
