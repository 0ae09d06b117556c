"""The prod promotion's staging-SLO gate, through the pages and the API that call it: refused
with the numbers while staging is below target over the last 24 h (or has no data), let
through after an SRE's audited override of that revision, and passing on a healthy staging."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contracts.models import (
    AlertPolicy,
    InterfaceDocument,
    OnCallTeam,
    SliDaily,
    SloGateOverride,
    SloSnapshot,
)
from tenants.tests.factories import (
    EnvironmentFactory,
    GpuProfileFactory,
    MembershipFactory,
    QuotaGrantFactory,
    TenantFactory,
    UserFactory,
    sre,
)
from workloads.models import PromotionRecord, WorkloadEnvironment
from workloads.tests.factories import DeploymentFactory, RevisionFactory, WorkloadFactory


@pytest.fixture
def world(db):
    tenant = TenantFactory(slug="search", name="Search")
    profile = GpuProfileFactory()
    envs = {n: EnvironmentFactory(tenant=tenant, name=n) for n in ("dev", "staging", "prod")}
    for env in envs.values():
        QuotaGrantFactory(environment=env, profile=profile, guaranteed=4, burst=0)
    workload = WorkloadFactory(tenant=tenant, name="ranker")
    revision = RevisionFactory(workload=workload, number=1, profile=profile, replicas=2)
    for name in ("dev", "staging"):
        DeploymentFactory(current_revision=revision, environment=envs[name])
    reviewer = sre(username="sam")
    team = OnCallTeam.objects.create(name="sre-core", display_name="SRE core")
    document = InterfaceDocument.objects.create(
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
        signed_off_version=1,
        signed_off_by=reviewer,
    )
    AlertPolicy.objects.create(document=document, signal="latency", paged_team=team)
    member = UserFactory(username="mia")
    member.save()
    MembershipFactory(tenant=tenant, user=member, role="member")
    return {"workload": workload, "envs": envs, "member": member, "sre": reviewer}


def measured(world, *, error_ratio_24h, p99_ms):
    now = timezone.now()
    SloSnapshot.objects.create(
        workload=world["workload"],
        environment=world["envs"]["staging"],
        state=SloSnapshot.State.OK,
        as_of=now,
        error_ratio_1h=error_ratio_24h,
        error_ratio_6h=error_ratio_24h,
        error_ratio_24h=error_ratio_24h,
        p99_latency_24h_ms=p99_ms,
    )
    SliDaily.objects.create(
        workload=world["workload"],
        environment=world["envs"]["staging"],
        day=now.date(),
        requests=10_000,
        errors=10_000 * error_ratio_24h,
        complete=False,
        pulled_at=now,
    )


def promote(client, user, *, api=False):
    client.force_login(user)
    if api:
        return client.post(
            f"/api/v1/workloads/{WorkloadEnvironment.objects.first().workload_id}/promote/",
            {"environment": "prod"},
            content_type="application/json",
        )
    return client.post("/workloads/search/ranker/promote/", {"environment": "prod"}, follow=True)


def runs_in_prod(world) -> bool:
    return WorkloadEnvironment.objects.filter(
        workload=world["workload"], environment=world["envs"]["prod"]
    ).exists()


def test_the_gate_refuses_with_the_numbers_while_staging_is_below_target(world, client):
    measured(world, error_ratio_24h=0.004, p99_ms=420.0)
    page = promote(client, world["member"]).content.decode()
    assert "gate staging-slo failed" in page
    assert "availability 99.600 % &lt; target 99.9 %" in page
    assert "P99 latency 420 ms &gt; target 250 ms" in page
    assert "ask an SRE to override" in page
    assert not runs_in_prod(world)
    blocked = PromotionRecord.objects.get(blocked=True)
    gate = next(g for g in blocked.gate_results if g["name"] == "staging-slo")
    assert gate["passed"] is False and "99.600" in gate["reason"]


def test_the_api_refuses_the_same_way(world, client):
    measured(world, error_ratio_24h=0.004, p99_ms=420.0)
    response = promote(client, world["member"], api=True)
    assert response.status_code in (400, 409)
    assert "gate staging-slo failed" in response.content.decode()
    assert not runs_in_prod(world)


def test_no_staging_data_is_not_a_green_light(world, client):
    SloSnapshot.objects.create(
        workload=world["workload"],
        environment=world["envs"]["staging"],
        state=SloSnapshot.State.NO_DATA,
        as_of=timezone.now(),
    )
    page = promote(client, world["member"]).content.decode()
    assert "gate staging-slo failed" in page
    assert "no SLI data for staging over the last 24 h" in page
    assert not runs_in_prod(world)


def test_the_gate_passes_after_an_sre_override_with_a_reason_which_is_audited(world, client):
    measured(world, error_ratio_24h=0.004, p99_ms=420.0)
    client.force_login(world["sre"])
    client.post(
        "/contracts/search/ranker/slo-override/",
        {"reason": "errors come from a load test against staging, not the release"},
    )
    override = SloGateOverride.objects.get()
    assert override.revision_number == 1
    assert "99.600" in override.evidence
    event = SloGateOverride.pgh_event_model.objects.get(pgh_obj=override)
    assert event.created_by_id == world["sre"].pk

    page = promote(client, world["member"]).content.decode()
    assert "Promoted revision 1 to prod" in page
    assert runs_in_prod(world)
    record = PromotionRecord.objects.get(blocked=False, environment=world["envs"]["prod"])
    gate = next(g for g in record.gate_results if g["name"] == "staging-slo")
    assert gate["passed"] is True and "overridden by SRE sam (errors come from" in gate["reason"]


def test_only_an_sre_can_override(world, client):
    measured(world, error_ratio_24h=0.004, p99_ms=420.0)
    client.force_login(world["member"])
    response = client.post(
        "/contracts/search/ranker/slo-override/", {"reason": "trust me, it is fine today"}
    )
    assert response.status_code == 403
    assert not SloGateOverride.objects.exists()


def test_an_override_expires_and_covers_only_its_revision(world, client):
    measured(world, error_ratio_24h=0.004, p99_ms=420.0)
    SloGateOverride.objects.create(
        workload=world["workload"],
        revision_number=1,
        reason="old",
        evidence="",
        created_by=world["sre"],
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    assert "gate staging-slo failed" in promote(client, world["member"]).content.decode()
    assert not runs_in_prod(world)


def test_a_healthy_staging_passes_the_gate(world, client):
    measured(world, error_ratio_24h=0.0002, p99_ms=180.0)
    page = promote(client, world["member"]).content.decode()
    assert "Promoted revision 1 to prod" in page
    record = PromotionRecord.objects.get(blocked=False, environment=world["envs"]["prod"])
    gate = next(g for g in record.gate_results if g["name"] == "staging-slo")
    assert gate["passed"] and "availability 99.980 % &gt;= target 99.9 %" not in gate["reason"]
    assert "availability 99.980 % >= target 99.9 %" in gate["reason"]
