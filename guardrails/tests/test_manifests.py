"""What the guardrails render for a tenant from its rows: every policy, binding and params
object is valid for Kubernetes 1.30, 1.31 and 1.33 (kubernetes-validate, strict, uncached), the
namespaces carry their Pod Security levels, and the settings, modes and exceptions show up."""

import re
from datetime import timedelta

import kubernetes_validate
import pytest
from django.utils import timezone

from clusters.registry import desired_objects
from clusters.validation import problems_of
from guardrails.manifests import guardrail_objects
from guardrails.models import GuardrailSettings, PodSecurityException, RuleExemption
from tenants.models import Tenant
from workloads.tests.factories import WorkloadFactory

pytestmark = pytest.mark.django_db

GUARDRAIL_KINDS = {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ConfigMap"}
CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
PSA = "pod-security.kubernetes.io/"


def manifests(tenant):
    return [o.manifest for o in guardrail_objects(tenant.pk)]


def by_name(objects, kind):
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def namespace_labels(tenant):
    return {
        o.manifest["metadata"]["name"]: o.manifest["metadata"]["labels"]
        for o in desired_objects(tenant.pk)
        if o.manifest["kind"] == "Namespace"
        and o.manifest["metadata"]["name"].startswith("search-")
    }


def exempt(tenant, env, rule, *, days=7, **kw):
    workload = WorkloadFactory(tenant=tenant, name="ranker")
    return RuleExemption.objects.create(
        workload=workload,
        environment=env,
        rule=rule,
        reason="vendor image fixed next sprint",
        expires_at=timezone.now() + timedelta(days=days),
        **kw,
    )


@pytest.mark.parametrize("version", ["1.30", "1.31", "1.33"])
def test_every_policy_binding_and_params_object_is_valid(tenant, envs, registries, version):
    exempt(tenant, envs["prod"], "image-registry")
    objects = manifests(tenant)
    assert {o["kind"] for o in objects} == GUARDRAIL_KINDS | {"Namespace"}
    for manifest in objects:
        kubernetes_validate.validate(manifest, version, strict=True)
        assert problems_of(manifest, version) == []
        for key in manifest.get("data") or {}:
            assert CONFIGMAP_KEY.match(key) and len(key) <= 253, key


def test_one_binding_per_namespace_and_prod_images_only_in_prod(tenant, registries):
    bindings = by_name(manifests(tenant), "ValidatingAdmissionPolicyBinding")
    assert sorted(bindings) == [
        "gpu-portal-prod-images.search-prod",
        "gpu-portal-workloads.search-dev",
        "gpu-portal-workloads.search-prod",
        "gpu-portal-workloads.search-staging",
    ]
    prod = bindings["gpu-portal-workloads.search-prod"]["spec"]
    assert prod["paramRef"] == {
        "name": "search-prod",
        "namespace": "gpu-portal-system",
        "parameterNotFoundAction": "Deny",
    }
    assert prod["matchResources"]["namespaceSelector"]["matchLabels"] == {
        "app.kubernetes.io/managed-by": "gpu-portal",
        "gpu-portal.io/tenant": "search",
        "gpu-portal.io/environment": "prod",
    }


def test_a_cluster_starts_in_audit_mode_and_enforce_renders_deny(tenant, registries, enforcing):
    bindings = by_name(manifests(tenant), "ValidatingAdmissionPolicyBinding")
    assert {tuple(b["spec"]["validationActions"]) for b in bindings.values()} == {("Deny",)}
    enforcing.delete()
    bindings = by_name(manifests(tenant), "ValidatingAdmissionPolicyBinding")
    assert {tuple(b["spec"]["validationActions"]) for b in bindings.values()} == {("Audit", "Warn")}


def test_params_carry_grants_registries_and_live_exemptions_only(tenant, envs, registries):
    exempt(tenant, envs["prod"], "image-digest")
    RuleExemption.objects.create(
        workload=WorkloadFactory(tenant=tenant, name="old"),
        environment=envs["prod"],
        rule="host-path",
        reason="ended",
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    data = by_name(manifests(tenant), "ConfigMap")["search-prod"]["data"]
    assert data["grants"] == ("nvidia.com/gpu, nvidia.com/gpu.shared, nvidia.com/mig-1g.10gb")
    assert data["registry.0"] == "registry.example.com/"
    assert [k for k in data if k.startswith("exempt.")] == ["exempt.image-digest.ranker"]
    assert data["localQueue"] == "default"


def test_namespaces_are_restricted_and_enforced_only_in_enforce_mode(tenant, registries):
    labels = namespace_labels(tenant)["search-dev"]
    assert labels[PSA + "audit"] == labels[PSA + "warn"] == "restricted"
    assert PSA + "enforce" not in labels  # audit mode: report, never block


def test_a_baseline_exception_lowers_enforce_of_one_namespace(tenant, envs, enforcing):
    PodSecurityException.objects.create(
        environment=envs["staging"],
        reason="legacy image runs as root until the rebuild",
        expires_at=timezone.now() + timedelta(days=14),
    )
    labels = namespace_labels(tenant)
    assert labels["search-staging"][PSA + "enforce"] == "baseline"
    assert labels["search-staging"][PSA + "warn"] == "restricted"
    assert labels["search-dev"][PSA + "enforce"] == "restricted"


def test_a_baseline_tier_puts_every_namespace_of_the_tenant_at_baseline(tenant, enforcing):
    GuardrailSettings.objects.create(pk=1, baseline_tiers=[tenant.tier])
    labels = namespace_labels(tenant)
    assert {v[PSA + "enforce"] for v in labels.values()} == {"baseline"}


def test_before_kubernetes_130_only_the_pod_security_labels_are_rendered(tenant, enforcing):
    tenant.cluster.kubernetes_version = "1.29"
    tenant.cluster.save()
    assert manifests(tenant) == []
    assert namespace_labels(tenant)["search-dev"][PSA + "enforce"] == "restricted"


def test_pending_and_archived_tenants_get_no_guardrail_objects(tenant):
    Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.ARCHIVED)
    assert manifests(tenant) == []
