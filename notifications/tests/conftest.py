"""A workload part-way through promotion, for the promotion notifications."""

import pytest

from contracts.models import AlertPolicy, InterfaceDocument, OnCallTeam
from tenants.tests.factories import (
    EnvironmentFactory,
    GpuProfileFactory,
    MembershipFactory,
    QuotaGrantFactory,
    TenantFactory,
    UserFactory,
)
from workloads import services
from workloads.models import Template
from workloads.tests.factories import DIGEST


def _workload():
    tenant = TenantFactory(slug="search")
    profile = GpuProfileFactory()
    for name in ("dev", "staging", "prod"):
        env = EnvironmentFactory(tenant=tenant, name=name)
        QuotaGrantFactory(environment=env, profile=profile, guaranteed=4, burst=0)
    member = MembershipFactory(tenant=tenant, user=UserFactory(username="mia"), role="member").user
    MembershipFactory(tenant=tenant, user=UserFactory(username="olga"), role="owner")
    workload = services.create_workload(
        tenant=tenant,
        name="ranker",
        template=Template.INFERENCE,
        actor=member,
        image="registry.example.com/search/ranker:1.4",
        image_digest=DIGEST,
        profile=profile,
        replicas=1,
        gpus_per_replica=1,
        scaling_metric="none",
    )
    return workload, member


def _document(workload, *, owner=True):
    team = OnCallTeam.objects.get_or_create(name="sre-core", defaults={"display_name": "SRE"})[0]
    doc = InterfaceDocument.objects.create(
        workload=workload,
        owner_team=team if owner else None,
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
    return doc


@pytest.fixture
def promotion_at_staging(db):
    workload, member = _workload()
    _document(workload)
    services.promote(workload=workload, environment_name="dev", actor=member)
    services.promote(workload=workload, environment_name="staging", actor=member)
    return workload, member


@pytest.fixture
def promotion_at_dev(db):
    workload, member = _workload()
    _document(workload, owner=False)
    services.promote(workload=workload, environment_name="dev", actor=member)
    return workload, member
