"""Workloads the portal prunes take their pods with them, and Jobs a CronJob creates are never
taken for the portal's own: the real `kubernetes` client against the API emulator, which
garbage-collects dependents by ownerReferences (portal/testing/kube_emulator.py)."""

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


def promoted(tenant, template, name, **spec):
    member = UserFactory(username=f"{name}-dev")
    MembershipFactory(tenant=tenant, user=member, role=TenantMembership.Role.MEMBER)
    workload = services.create_workload(
        tenant=tenant, name=name, template=template, actor=member,
        image=f"registry.example.com/team-a/{name}:1", image_digest=DIGEST,
        profile=tenant.quota_grants.get().profile, replicas=1, **spec,
    )  # fmt: skip
    services.promote(workload=workload, environment_name="dev", actor=member)
    return workload, member


def pod_of(kube_emulator, owner: dict, name: str) -> dict:
    ref = {"apiVersion": owner["apiVersion"], "kind": owner["kind"],
           "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
           "controller": True, "blockOwnerDeletion": True}  # fmt: skip
    labels = owner["spec"]["template"]["metadata"]["labels"]
    return kube_emulator.put(
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": name, "namespace": owner["metadata"]["namespace"],
                      "labels": labels, "ownerReferences": [ref]},
         "spec": {"containers": [{"name": "trainer", "image": "x"}]}},
        manager="kube-controller-manager",
    )  # fmt: skip


def test_a_pruned_training_job_takes_its_pods_with_it(kube_cluster, kube_emulator):
    tenant = approved_tenant(kube_cluster, envs=("dev",), guaranteed=4, burst=0)
    workload, member = promoted(tenant, Template.TRAINING, "trainer")
    assert run_tenant_sync(tenant.pk).applied
    job = kube_emulator.get("batch/v1", "Job", "trainer-r1", "team-a-dev")
    pod_of(kube_emulator, job, "trainer-r1-abcde")  # what the Job controller creates
    services.create_revision(workload=workload, actor=member, image_digest=V2_DIGEST)
    services.promote(workload=workload, environment_name="dev", actor=member)

    run = run_tenant_sync(tenant.pk).runs[0]

    pruned = {(r.kind, r.name) for r in run.results.all() if r.action == "pruned"}
    assert ("Job", "trainer-r1") in pruned
    assert kube_emulator.get("v1", "Pod", "trainer-r1-abcde", "team-a-dev") is None
    assert kube_emulator.get("batch/v1", "Job", "trainer-r2", "team-a-dev")


def test_templates_that_controllers_stamp_out_never_carry_the_prune_label(
    kube_cluster, kube_emulator
):
    tenant = approved_tenant(kube_cluster, envs=("dev",), guaranteed=4, burst=0)
    promoted(tenant, Template.BATCH, "nightly", schedule="0 2 * * *")
    promoted(tenant, Template.TRAINING, "trainer")
    assert run_tenant_sync(tenant.pk).applied

    cron = kube_emulator.get("batch/v1", "CronJob", "nightly", "team-a-dev")
    job = kube_emulator.get("batch/v1", "Job", "trainer-r1", "team-a-dev")
    templates = [
        cron["spec"]["jobTemplate"]["metadata"]["labels"],
        cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"],
        job["spec"]["template"]["metadata"]["labels"],
    ]
    for labels in templates:
        assert "app.kubernetes.io/managed-by" not in labels
        assert labels["gpu-portal.io/tenant"] == "team-a"  # cost attribution still works
    assert "gpu-portal.io/owner" not in str(cron["spec"]) + str(job["spec"])


def test_a_job_its_cronjob_created_survives_the_sync(kube_cluster, kube_emulator):
    tenant = approved_tenant(kube_cluster, envs=("dev",), guaranteed=4, burst=0)
    promoted(tenant, Template.BATCH, "nightly", schedule="0 2 * * *")
    assert run_tenant_sync(tenant.pk).applied
    cron = kube_emulator.get("batch/v1", "CronJob", "nightly", "team-a-dev")
    ref = {"apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly",
           "uid": cron["metadata"]["uid"], "controller": True}  # fmt: skip
    made = kube_emulator.put(
        {"apiVersion": "batch/v1", "kind": "Job",
         "metadata": {"name": "nightly-29118", "namespace": "team-a-dev",
                      "labels": cron["spec"]["jobTemplate"]["metadata"]["labels"],
                      "ownerReferences": [ref]},
         "spec": cron["spec"]["jobTemplate"]["spec"]}, manager="kube-controller-manager",
    )  # fmt: skip

    run_tenant_sync(tenant.pk, trigger="force")

    assert kube_emulator.get("batch/v1", "Job", "nightly-29118", "team-a-dev") == made
