"""Writes of the guardrails: only platform admins, field-level errors that say how to fix them,
every change in the audit trail, and the affected tenants handed to the sync engine."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from guardrails import services
from guardrails.models import ClusterGuardrails, RuleExemption
from portal.domain_errors import ConflictError, DomainError
from tenants.models import Tenant
from tenants.tests.factories import UserFactory, platform_admin
from workloads.tests.factories import WorkloadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db):
    return platform_admin(username="pat")


def generation(tenant) -> int:
    return Tenant.objects.get(pk=tenant.pk).desired_generation


def events(model, **filters):
    return list(model.pgh_event_model.objects.filter(**filters).order_by("pgh_id"))


def in_a_week():
    return timezone.now() + timedelta(days=7)


def test_switching_a_cluster_to_enforce_is_audited_and_resyncs_its_tenants(tenant, admin):
    before = generation(tenant)
    row = services.set_cluster_mode(actor=admin, cluster=tenant.cluster, mode="enforce")
    assert row.mode == "enforce" and row.changed_by == admin
    assert generation(tenant) == before + 1
    [event] = events(ClusterGuardrails, cluster=tenant.cluster)
    assert event.mode == "enforce" and event.pgh_context.metadata["user"] == admin.pk


def test_only_platform_admins_change_guardrails(tenant):
    member = UserFactory(username="mia")
    with pytest.raises(PermissionDenied):
        services.set_cluster_mode(actor=member, cluster=tenant.cluster, mode="audit")
    with pytest.raises(PermissionDenied):
        services.update_settings(actor=member, allowed_registries=[], baseline_tiers=[])
    assert not ClusterGuardrails.objects.exists()


def test_a_registry_with_a_scheme_is_refused_with_how_to_write_it(admin):
    with pytest.raises(DomainError) as err:
        services.update_settings(
            actor=admin, allowed_registries=["https://ghcr.io/acme"], baseline_tiers=[]
        )
    assert err.value.field == "allowed_registries"
    assert "host[:port][/path]" in str(err.value)


def test_saving_the_registries_resyncs_every_active_tenant(tenant, admin):
    before = generation(tenant)
    saved = services.update_settings(
        actor=admin,
        allowed_registries=["ghcr.io/acme/", " nvcr.io/nvidia", "ghcr.io/acme"],
        baseline_tiers=["large"],
    )
    assert saved.allowed_registries == ["ghcr.io/acme", "nvcr.io/nvidia"]
    assert generation(tenant) == before + 1


def test_an_exemption_needs_a_reason_and_an_end_within_180_days(tenant, envs, admin):
    workload = WorkloadFactory(tenant=tenant, name="ranker")
    cases = [
        ("", in_a_week(), "reason"),
        ("vendor image", timezone.now() - timedelta(hours=1), "expires_at"),
        ("vendor image", timezone.now() + timedelta(days=181), "expires_at"),
    ]
    for reason, until, field in cases:
        with pytest.raises(DomainError) as err:
            services.grant_rule_exemption(
                actor=admin,
                workload=workload,
                environment=envs["prod"],
                rule="image-digest",
                reason=reason,
                expires_at=until,
            )
        assert err.value.field == field
    assert not RuleExemption.objects.exists()


def test_the_workload_label_rule_cannot_be_waived(tenant, envs, admin):
    with pytest.raises(DomainError) as err:
        services.grant_rule_exemption(
            actor=admin,
            workload=WorkloadFactory(tenant=tenant),
            environment=envs["dev"],
            rule="workload-label",
            reason="x",
            expires_at=in_a_week(),
        )
    assert err.value.field == "rule"


def test_an_exemption_is_granted_once_audited_and_resyncs_the_tenant(tenant, envs, admin):
    workload = WorkloadFactory(tenant=tenant, name="ranker")
    before = generation(tenant)
    grant = dict(
        actor=admin,
        workload=workload,
        environment=envs["prod"],
        rule="image-registry",
        reason="vendor image, mirrored next sprint",
        expires_at=in_a_week(),
    )
    exemption = services.grant_rule_exemption(**grant)
    assert generation(tenant) == before + 1
    with pytest.raises(ConflictError):
        services.grant_rule_exemption(**grant)
    [event] = events(RuleExemption, pgh_obj=exemption)
    assert event.reason == "vendor image, mirrored next sprint"
    assert event.pgh_context.metadata["user"] == admin.pk
    services.revoke_exception(actor=admin, exception=exemption)
    assert generation(tenant) == before + 2
    with pytest.raises(ConflictError):
        services.revoke_exception(actor=admin, exception=exemption)


def test_an_exemption_for_another_tenants_environment_is_refused(tenant, admin):
    other = WorkloadFactory(tenant__slug="vision")
    with pytest.raises(DomainError) as err:
        services.grant_rule_exemption(
            actor=admin,
            workload=other,
            environment=tenant.environments.get(name="dev"),
            rule="host-path",
            reason="x",
            expires_at=in_a_week(),
        )
    assert err.value.field == "environment"


def test_a_lapsed_exception_resyncs_its_tenant_once(tenant, envs, admin):
    exemption = services.grant_rule_exemption(
        actor=admin,
        workload=WorkloadFactory(tenant=tenant, name="ranker"),
        environment=envs["dev"],
        rule="host-path",
        reason="node exporter sidecar",
        expires_at=in_a_week(),
    )
    before = generation(tenant)
    later = timezone.now() + timedelta(days=8)
    assert services.expire_lapsed_exceptions(now=later) == 1
    assert services.expire_lapsed_exceptions(now=later) == 0
    assert generation(tenant) == before + 1
    exemption.refresh_from_db()
    assert exemption.lapsed_at == later
