"""The guardrails through the real sync engine, the official client and the API emulator:
created on first sync, the shared policies kept when a tenant goes, and a mode switch reaching
the cluster's bindings. (The emulator stores the objects; it does not run admission.)"""

import pytest
from django.db import transaction

from clusters.sync import run_tenant_sync
from clusters.tests.sync_helpers import approved_tenant
from guardrails import services
from tenants.outbox import bump_desired_generation
from tenants.tests.factories import platform_admin

pytestmark = pytest.mark.django_db(transaction=True)

VAP = "admissionregistration.k8s.io/v1"


def bindings(emulator) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in emulator.objects("ValidatingAdmissionPolicyBinding")}


def test_guardrails_reach_the_cluster_and_follow_its_mode(kube_cluster, kube_emulator):
    tenant = approved_tenant(kube_cluster, slug="team-a", envs=("dev", "prod"))
    run = run_tenant_sync(tenant.pk).runs[0]
    assert run.status == "succeeded", run.message
    policies = {o["metadata"]["name"] for o in kube_emulator.objects("ValidatingAdmissionPolicy")}
    assert policies == {"gpu-portal-workloads", "gpu-portal-prod-images"}
    assert {k: v["spec"]["validationActions"] for k, v in bindings(kube_emulator).items()} == {
        "gpu-portal-workloads.team-a-dev": ["Audit", "Warn"],
        "gpu-portal-workloads.team-a-prod": ["Audit", "Warn"],
        "gpu-portal-prod-images.team-a-prod": ["Audit", "Warn"],
    }
    params = kube_emulator.get("v1", "ConfigMap", "team-a-prod", "gpu-portal-system")
    assert params["data"]["grant.0"] == "nvidia.com/gpu"
    ns = kube_emulator.get("v1", "Namespace", "team-a-dev")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/warn"] == "restricted"

    services.set_cluster_mode(actor=platform_admin(), cluster=kube_cluster, mode="enforce")
    assert run_tenant_sync(tenant.pk).runs[0].status == "succeeded"
    assert {tuple(v["spec"]["validationActions"]) for v in bindings(kube_emulator).values()} == {
        ("Deny",)
    }
    ns = kube_emulator.get("v1", "Namespace", "team-a-dev")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_a_tenant_leaving_the_cluster_loses_its_bindings_but_not_the_shared_policies(
    kube_cluster, kube_emulator
):
    first = approved_tenant(kube_cluster, slug="team-a")
    second = approved_tenant(kube_cluster, slug="team-b")
    for tenant in (first, second):
        assert run_tenant_sync(tenant.pk).runs[0].status == "succeeded"
    # team-a leaves: its environments' rows go, so nothing is rendered for it any more
    first.environments.all().delete()
    with transaction.atomic():
        bump_desired_generation(first.pk)
    assert run_tenant_sync(first.pk).runs[0].status == "succeeded"
    assert sorted(bindings(kube_emulator)) == ["gpu-portal-workloads.team-b-dev"]
    assert kube_emulator.get(VAP, "ValidatingAdmissionPolicy", "gpu-portal-workloads")
    assert kube_emulator.get("v1", "ConfigMap", "team-a-dev", "gpu-portal-system") is None
