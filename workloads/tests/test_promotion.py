"""Promotion gates dev -> staging -> prod, rollback and canary, through workloads.services."""

import pytest
from django.core.exceptions import PermissionDenied

from contracts.models import AlertPolicy, InterfaceDocument, OnCallTeam
from portal.domain_errors import ConflictError, DomainError
from tenants.models import Tenant
from tenants.tests.factories import QuotaGrantFactory, sre
from workloads import services
from workloads.models import PromotionRecord, Template, WorkloadEnvironment

from .factories import DIGEST, DeploymentFactory, RevisionFactory, WorkloadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def workload(tenant, member, profiles):
    return services.create_workload(
        tenant=tenant,
        name="ranker",
        template=Template.INFERENCE,
        actor=member,
        image="registry.example.com/search/ranker:1.4",
        image_digest=DIGEST,
        profile=profiles["dedicated"],
        replicas=2,
        gpus_per_replica=2,
        scaling_metric="none",
    )


@pytest.fixture
def quota(envs, profiles):
    return {
        name: QuotaGrantFactory(
            environment=env, profile=profiles["dedicated"], guaranteed=4, burst=0
        )
        for name, env in envs.items()
    }


def complete_document(workload, *, signed_off_by=None):
    team = OnCallTeam.objects.get_or_create(name="sre-core", defaults={"display_name": "SRE"})[0]
    doc = InterfaceDocument.objects.create(
        workload=workload,
        owner_team=team,
        platform_contact=team,
        sre_contact=team,
        p99_latency_ms=250,
        availability_pct="99.9",
        max_cold_start_s=120,
        rollback_trigger="burn rate 14.4x",
        rollback_owner=team,
        version=1,
    )
    AlertPolicy.objects.create(document=doc, signal="latency", window="5m", paged_team=team)
    if signed_off_by:
        doc.signed_off_version = 1
        doc.signed_off_by = signed_off_by
        doc.save()
    return doc


def test_promotion_to_dev_deploys_the_latest_revision_and_bumps_the_generation(
    workload, quota, member, envs
):
    before = Tenant.objects.get(pk=workload.tenant_id).desired_generation
    record = services.promote(workload=workload, environment_name="dev", actor=member)
    dep = WorkloadEnvironment.objects.get(workload=workload, environment=envs["dev"])
    assert dep.current_revision.number == 1
    assert record.gate_results[0]["name"] == "quota" and record.gate_results[0]["passed"]
    assert Tenant.objects.get(pk=workload.tenant_id).desired_generation == before + 1


def test_quota_gate_blocks_without_a_grant_of_the_profile(workload, member):
    with pytest.raises(DomainError, match="gate quota failed: search-dev has no quota grant"):
        services.promote(workload=workload, environment_name="dev", actor=member)
    assert not WorkloadEnvironment.objects.exists()


def test_quota_gate_counts_what_other_workloads_in_the_environment_use(
    workload, quota, member, envs, profiles
):
    busy = RevisionFactory(
        workload=WorkloadFactory(tenant=workload.tenant, name="reranker"),
        profile=profiles["dedicated"],
        replicas=3,
        gpus_per_replica=1,
        scaling_metric="none",
    )
    DeploymentFactory(current_revision=busy, environment=envs["dev"])
    with pytest.raises(DomainError) as exc:
        services.promote(workload=workload, environment_name="dev", actor=member)
    message = str(exc.value)
    assert "needs 4 nvidia.com/gpu units (2 replicas x 2)" in message
    assert "only 1 of the 4 granted" in message
    assert "reranker 3" in message


def test_quota_gate_allows_burst_on_top_of_guaranteed(workload, member, envs, profiles):
    QuotaGrantFactory(environment=envs["dev"], profile=profiles["dedicated"], guaranteed=2, burst=2)
    services.promote(workload=workload, environment_name="dev", actor=member)
    assert WorkloadEnvironment.objects.filter(workload=workload).count() == 1


def test_staging_needs_what_dev_runs(workload, quota, member):
    with pytest.raises(DomainError, match="does not run in dev yet"):
        services.promote(workload=workload, environment_name="staging", actor=member)


def test_pinned_image_gate_blocks_a_tag_only_image(tenant, quota, member, profiles):
    workload = services.create_workload(
        tenant=tenant,
        name="tagged",
        template=Template.INFERENCE,
        actor=member,
        image="registry.example.com/search/ranker:latest",
        profile=profiles["dedicated"],
        replicas=1,
    )
    complete_document(workload)
    services.promote(workload=workload, environment_name="dev", actor=member)
    with pytest.raises(DomainError, match="gate image-pinned-by-digest failed: image .*:latest"):
        services.promote(workload=workload, environment_name="staging", actor=member)


def test_document_gate_names_the_missing_fields(workload, quota, member):
    services.promote(workload=workload, environment_name="dev", actor=member)
    doc = complete_document(workload)
    doc.p99_latency_ms = None
    doc.save()
    with pytest.raises(DomainError, match="interface document is incomplete: P99 latency SLO"):
        services.promote(workload=workload, environment_name="staging", actor=member)


def test_prod_requires_an_sre_sign_off(workload, quota, member):
    complete_document(workload)
    services.promote(workload=workload, environment_name="dev", actor=member)
    services.promote(workload=workload, environment_name="staging", actor=member)
    with pytest.raises(DomainError, match="gate sre-production-sign-off failed: no SRE"):
        services.promote(workload=workload, environment_name="prod", actor=member)


def test_sign_off_of_an_older_version_does_not_count(workload, quota, member):
    doc = complete_document(workload, signed_off_by=sre(username="sam"))
    doc.version = 2
    doc.save()
    services.promote(workload=workload, environment_name="dev", actor=member)
    services.promote(workload=workload, environment_name="staging", actor=member)
    with pytest.raises(DomainError, match="given on version 1, the document is now at version 2"):
        services.promote(workload=workload, environment_name="prod", actor=member)


def test_prod_promotion_with_every_gate_passing_is_recorded(workload, quota, member, envs):
    complete_document(workload, signed_off_by=sre(username="sam"))
    for env in ("dev", "staging", "prod"):
        services.promote(workload=workload, environment_name=env, actor=member)
    record = PromotionRecord.objects.filter(environment=envs["prod"]).get()
    assert [g["name"] for g in record.gate_results] == [
        "quota",
        "image-pinned-by-digest",
        "interface-document-complete",
        "sre-production-sign-off",
        "staging-slo",  # contracts registers the SLO source; staging was never pulled here
    ]
    assert all(g["passed"] for g in record.gate_results)
    assert record.actor == member


def test_rollback_restores_the_previous_revision(workload, quota, member, envs):
    services.promote(workload=workload, environment_name="dev", actor=member)
    services.create_revision(workload=workload, actor=member, image="registry.example.com/r:1.5")
    services.promote(workload=workload, environment_name="dev", actor=member)
    services.rollback(workload=workload, environment_name="dev", actor=member, reason="5xx")
    dep = WorkloadEnvironment.objects.get(workload=workload, environment=envs["dev"])
    assert dep.current_revision.number == 1
    assert dep.previous_revision.number == 2


def test_rollback_without_a_previous_revision_is_a_conflict(workload, quota, member):
    services.promote(workload=workload, environment_name="dev", actor=member)
    with pytest.raises(ConflictError, match="no previous revision"):
        services.rollback(workload=workload, environment_name="dev", actor=member)


def test_an_sre_may_roll_back_but_not_change_the_image(workload, quota, member):
    services.promote(workload=workload, environment_name="dev", actor=member)
    services.create_revision(workload=workload, actor=member, replicas=1)
    services.promote(workload=workload, environment_name="dev", actor=member)
    oncall = sre(username="sam")
    services.rollback(workload=workload, environment_name="dev", actor=oncall)
    with pytest.raises(PermissionDenied):
        services.create_revision(workload=workload, actor=oncall, image="evil/image:1")


def test_a_viewer_cannot_promote(workload, quota, viewer):
    with pytest.raises(PermissionDenied):
        services.promote(workload=workload, environment_name="dev", actor=viewer)


def test_a_canary_counts_against_the_quota(workload, quota, member):
    services.promote(workload=workload, environment_name="dev", actor=member)
    services.create_revision(workload=workload, actor=member, image="registry.example.com/r:2")
    # 2 replicas x 2 GPUs already use the 4 granted: a 50 % canary needs 2 more
    with pytest.raises(DomainError, match="Canary blocked: gate quota failed"):
        services.set_canary(
            workload=workload, environment_name="dev", revision_number=2, percent=50, actor=member
        )


def test_a_new_revision_leaves_earlier_revisions_untouched(workload, member):
    first = workload.revisions.get()
    second = services.create_revision(workload=workload, actor=member, replicas=3)
    first.refresh_from_db()
    assert (first.number, first.replicas, second.number, second.replicas) == (1, 2, 2, 3)


def test_revisions_are_append_only_in_the_database(workload):
    from django.db import DatabaseError

    revision = workload.revisions.get()
    revision.replicas = 9
    with pytest.raises(DatabaseError, match="Cannot update"):
        revision.save()


def test_a_canary_on_another_profile_needs_a_grant_of_that_profile(
    workload, quota, member, profiles
):
    services.promote(workload=workload, environment_name="dev", actor=member)
    services.create_revision(
        workload=workload, actor=member, profile=profiles["mig"], gpus_per_replica=1
    )
    with pytest.raises(DomainError, match="no quota grant of h100-80gb-mig-1g-10gb"):
        services.set_canary(
            workload=workload, environment_name="dev", revision_number=2, percent=50, actor=member
        )


def test_a_canary_within_quota_is_set(workload, envs, member, profiles):
    QuotaGrantFactory(environment=envs["dev"], profile=profiles["dedicated"], guaranteed=6, burst=0)
    services.promote(workload=workload, environment_name="dev", actor=member)
    services.create_revision(workload=workload, actor=member, image="registry.example.com/r:2")
    dep = services.set_canary(
        workload=workload, environment_name="dev", revision_number=2, percent=50, actor=member
    )
    assert (dep.canary_revision.number, dep.canary_replicas, dep.canary_percent) == (2, 1, 50)


def test_an_autoscaled_deployment_needs_quota_for_its_max_replicas(tenant, quota, member, profiles):
    workload = services.create_workload(
        tenant=tenant,
        name="scaler",
        template=Template.INFERENCE,
        actor=member,
        image="registry.example.com/search/scaler:1",
        profile=profiles["dedicated"],
        replicas=1,
        min_replicas=1,
        max_replicas=5,
        scaling_metric="queue-depth",
        scaling_target=10,
    )
    with pytest.raises(DomainError, match=r"needs 5 nvidia.com/gpu units \(up to 5 replicas"):
        services.promote(workload=workload, environment_name="dev", actor=member)


def test_names_that_collide_with_portal_objects_are_refused(tenant, member, profiles):
    for name, reason in (("new", "reserved"), ("ranker-canary", "canary deployments")):
        with pytest.raises(DomainError, match=reason):
            services.create_workload(
                tenant=tenant,
                name=name,
                template=Template.INFERENCE,
                actor=member,
                image="x/y:1",
                profile=profiles["dedicated"],
            )


def test_a_blocked_promotion_is_recorded_with_its_gate_results(workload, quota, member, envs):
    services.promote(workload=workload, environment_name="dev", actor=member)
    with pytest.raises(DomainError):
        services.promote(workload=workload, environment_name="staging", actor=member)
    record = PromotionRecord.objects.get(environment=envs["staging"])
    assert record.blocked and record.actor == member
    failed = [g["name"] for g in record.gate_results if not g["passed"]]
    assert failed == ["interface-document-complete"]
    assert not WorkloadEnvironment.objects.filter(environment=envs["staging"]).exists()
