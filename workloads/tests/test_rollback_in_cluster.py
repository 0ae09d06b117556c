"""Promotion and rollback end to end: the sync engine applies the rendered objects with the real
`kubernetes` client to the API emulator (portal/testing/kube_emulator.py, which tracks field
ownership per manager; its differences from a real API server are listed there)."""

import pytest

from clusters.sync import run_tenant_sync
from clusters.tests.sync_helpers import approved_tenant
from tenants.models import TenantMembership
from tenants.tests.factories import MembershipFactory, UserFactory
from workloads import services
from workloads.models import Template

from .factories import DIGEST

pytestmark = pytest.mark.django_db

V2_DIGEST = "sha256:" + "c3" * 32


def stable(kube_emulator, name="ranker"):
    return kube_emulator.get("apps/v1", "Deployment", name, "team-a-dev")


def test_rollback_restores_the_previous_revisions_objects_in_the_cluster(
    kube_cluster, kube_emulator
):
    tenant = approved_tenant(kube_cluster, envs=("dev",), guaranteed=4, burst=0)
    member = UserFactory(username="mia")
    MembershipFactory(tenant=tenant, user=member, role=TenantMembership.Role.MEMBER)
    profile = tenant.quota_grants.get().profile
    workload = services.create_workload(
        tenant=tenant,
        name="ranker",
        template=Template.INFERENCE,
        actor=member,
        image="registry.example.com/team-a/ranker:1",
        image_digest=DIGEST,
        profile=profile,
        replicas=2,
        min_replicas=1,
        max_replicas=3,
    )
    services.promote(workload=workload, environment_name="dev", actor=member)
    assert run_tenant_sync(tenant.pk).applied
    v1 = stable(kube_emulator)
    assert v1["spec"]["template"]["spec"]["containers"][0]["image"].endswith(DIGEST)
    scaler = kube_emulator.get("keda.sh/v1alpha1", "ScaledObject", "ranker", "team-a-dev")
    assert scaler["spec"]["maxReplicaCount"] == 3

    services.create_revision(
        workload=workload,
        actor=member,
        image="registry.example.com/team-a/ranker:2",
        image_digest=V2_DIGEST,
        scaling_metric="none",
        replicas=1,
    )
    services.promote(workload=workload, environment_name="dev", actor=member)
    assert run_tenant_sync(tenant.pk).applied
    v2 = stable(kube_emulator)
    assert v2["spec"]["template"]["spec"]["containers"][0]["image"].endswith(V2_DIGEST)
    assert v2["spec"]["replicas"] == 1
    # revision 2 scales by a fixed count: the autoscaler is pruned
    assert kube_emulator.get("keda.sh/v1alpha1", "ScaledObject", "ranker", "team-a-dev") is None

    services.rollback(workload=workload, environment_name="dev", actor=member, reason="p99")
    assert run_tenant_sync(tenant.pk).applied
    restored = stable(kube_emulator)
    assert restored["spec"]["template"]["spec"]["containers"][0]["image"].endswith(DIGEST)
    assert restored["metadata"]["labels"]["gpu-portal.io/revision"] == "1"
    assert "replicas" not in restored["spec"]  # the autoscaler owns it again
    scaler = kube_emulator.get("keda.sh/v1alpha1", "ScaledObject", "ranker", "team-a-dev")
    assert scaler is not None and scaler["spec"]["minReplicaCount"] == 1
