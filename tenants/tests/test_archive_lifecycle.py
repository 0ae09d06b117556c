"""The archive lifecycle against the Kubernetes API emulator (real `kubernetes` client; the
emulator keeps a deleted namespace Terminating while a finalizer holds content, as a real API
server does, see portal/testing/kube_emulator.py): workloads stop after the grace period,
namespaces go after an admin confirms, capacity is released only once the cluster is clear."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clusters import services as cluster_services
from clusters.sync import run_tenant_sync
from clusters.tests.factories import ClusterCapacityFactory
from clusters.tests.sync_helpers import approved_tenant
from portal.domain_errors import DomainError
from tenants import archive, decisions, services
from tenants.models import Tenant
from tenants.selectors import free_capacity
from tenants.tests.factories import GpuProfileFactory, platform_admin

pytestmark = pytest.mark.django_db


def archived(kube_cluster, kube_emulator, admin, *, guaranteed=8):
    ClusterCapacityFactory(cluster=kube_cluster, allocatable=8)
    tenant = approved_tenant(kube_cluster, guaranteed=guaranteed, burst=0)
    run_tenant_sync(tenant.pk)
    services.archive_tenant(actor=admin, tenant=tenant)
    tenant.refresh_from_db()
    return tenant


def free(kube_cluster):
    return free_capacity(cluster=kube_cluster, profile=GpuProfileFactory()).free


def test_archive_keeps_the_capacity_while_the_cluster_holds_the_quota(
    kube_cluster, kube_emulator, django_capture_on_commit_callbacks
):
    admin = platform_admin()
    tenant = archived(kube_cluster, kube_emulator, admin)
    kube_emulator.put({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                       "metadata": {"name": "ckpt", "namespace": "team-a-dev",
                                    "finalizers": ["kubernetes.io/pvc-protection"]}})  # fmt: skip

    assert free(kube_cluster) == 0  # archived, still on the cluster
    with django_capture_on_commit_callbacks(execute=False):
        cluster_services.confirm_namespace_deletion(actor=admin, tenant_id=tenant.pk)
    run_tenant_sync(tenant.pk)
    stage = archive.advance_archive(tenant.pk)

    tenant.refresh_from_db()
    assert stage == "terminating"
    assert tenant.archive_namespaces["team-a-dev"].startswith("Terminating")
    assert "kubernetes.io/pvc-protection" in tenant.archive_namespaces["team-a-dev"]
    assert kube_emulator.get("v1", "ResourceQuota", "gpu-portal-quota", "team-a-dev") is None
    assert free(kube_cluster) == 0  # the namespace is not gone yet: not offered to others

    kube_emulator.remove_finalizers("v1", "PersistentVolumeClaim", "ckpt", "team-a-dev")
    assert archive.advance_archive(tenant.pk) == "released"
    assert free(kube_cluster) == 8
    assert not tenant.quota_grants.filter(revoked_at__isnull=True).exists()


def test_another_tenant_cannot_be_granted_the_capacity_before_it_is_released(
    kube_cluster, kube_emulator
):
    from tenants.tests.factories import EnvironmentFactory, QuotaRequestFactory, TenantFactory

    admin = platform_admin()
    archived(kube_cluster, kube_emulator, admin)
    other = TenantFactory(slug="team-b", cluster=kube_cluster, status=Tenant.Status.ACTIVE)
    env = EnvironmentFactory(tenant=other, name="dev", cluster=kube_cluster)
    request = QuotaRequestFactory(environment=env, profile=GpuProfileFactory(), guaranteed=1,
                                  burst=0)  # fmt: skip

    with pytest.raises(DomainError, match="free"):
        decisions.approve_quota_request(actor=admin, quota_request=request)


def test_workloads_stop_after_the_grace_period_and_not_before(kube_cluster, kube_emulator):
    admin = platform_admin()
    tenant = archived(kube_cluster, kube_emulator, admin, guaranteed=2)
    mine = kube_emulator.get("v1", "Namespace", "team-a-dev")["metadata"]["annotations"]
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "ranker", "namespace": "team-a-dev", "annotations": mine,
                     "labels": {"app.kubernetes.io/managed-by": "gpu-portal",
                                "gpu-portal.io/tenant": "team-a"}},
        "spec": {"replicas": 3},
    }  # fmt: skip
    kube_emulator.apply(deployment, manager="gpu-portal")

    assert archive.advance_archive(tenant.pk) == "grace"
    assert (
        kube_emulator.get("apps/v1", "Deployment", "ranker", "team-a-dev")["spec"]["replicas"] == 3
    )

    Tenant.objects.filter(pk=tenant.pk).update(workloads_stop_at=timezone.now() - timedelta(1))
    assert archive.advance_archive(tenant.pk) == "stopped"
    live = kube_emulator.get("apps/v1", "Deployment", "ranker", "team-a-dev")
    assert live["spec"]["replicas"] == 0
    assert kube_emulator.get("v1", "Namespace", "team-a-dev") is not None  # nothing deleted


def test_an_archived_tenant_cannot_create_or_promote_workloads(kube_cluster, kube_emulator):
    from tenants.models import TenantMembership
    from tenants.tests.factories import MembershipFactory, UserFactory
    from workloads import services as workload_services
    from workloads.models import Template
    from workloads.tests.factories import DIGEST

    admin = platform_admin()
    tenant = archived(kube_cluster, kube_emulator, admin, guaranteed=2)
    member = UserFactory(username="mia")
    MembershipFactory(tenant=tenant, user=member, role=TenantMembership.Role.OWNER)

    with pytest.raises(DomainError, match="only active tenants"):
        workload_services.create_workload(
            tenant=tenant, name="ranker", template=Template.INFERENCE, actor=member,
            image="registry.example.com/a:1", image_digest=DIGEST,
            profile=GpuProfileFactory(), replicas=1,
        )  # fmt: skip
