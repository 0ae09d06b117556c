"""Objects the cluster removes once they finish (training Jobs past ttlSecondsAfterFinished) are
applied once and never recreated by a later sync or a drift repair: that would rerun a training.
Runs the real `kubernetes` client against portal/testing/kube_emulator.py."""

import pytest

from clusters.backends import object_key
from clusters.kube import KubeBackend
from clusters.registry import RECREATE_ANNOTATION

pytestmark = pytest.mark.django_db


def training_job(*, run_once: bool) -> dict:
    annotations = {RECREATE_ANNOTATION: "false"} if run_once else {}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "finetune",
            "namespace": "team-a-dev",
            "labels": {
                "app.kubernetes.io/managed-by": "gpu-portal",
                "gpu-portal.io/tenant": "team-a",
            },
            "annotations": annotations,
        },
        "spec": {
            "ttlSecondsAfterFinished": 3600,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "train", "image": "trainer:1"}],
                }
            },
        },
    }


def namespace() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": "team-a-dev",
            "labels": {
                "app.kubernetes.io/managed-by": "gpu-portal",
                "gpu-portal.io/tenant": "team-a",
            },
        },
    }


def finish_and_expire(backend: KubeBackend, job: dict) -> None:
    """What the TTL controller does once the Job has finished."""
    backend._delete_one(job)


def test_a_finished_job_removed_by_its_ttl_is_not_recreated(kube_cluster, kube_emulator):
    backend = KubeBackend(kube_cluster)
    job = training_job(run_once=True)
    manifests = [namespace(), job]
    backend.apply(tenant_slug="team-a", manifests=manifests, previous_keys=[])
    finish_and_expire(backend, job)

    outcomes = backend.apply(
        tenant_slug="team-a", manifests=manifests, previous_keys=[object_key(m) for m in manifests]
    )

    assert kube_emulator.get("batch/v1", "Job", "finetune", "team-a-dev") is None
    job_outcome = next(o for o in outcomes if o.kind == "Job")
    assert job_outcome.action == "unchanged"
    assert "not recreated" in job_outcome.message
    assert backend.drifted(tenant_slug="team-a", manifests=manifests) == []


def test_a_run_once_job_never_applied_before_is_created(kube_cluster, kube_emulator):
    backend = KubeBackend(kube_cluster)

    backend.apply(
        tenant_slug="team-a", manifests=[namespace(), training_job(run_once=True)], previous_keys=[]
    )

    assert kube_emulator.get("batch/v1", "Job", "finetune", "team-a-dev") is not None


def test_an_ordinary_missing_object_is_drift_and_is_recreated(kube_cluster, kube_emulator):
    backend = KubeBackend(kube_cluster)
    job = training_job(run_once=False)
    manifests = [namespace(), job]
    backend.apply(tenant_slug="team-a", manifests=manifests, previous_keys=[])
    finish_and_expire(backend, job)

    assert [o.name for o in backend.drifted(tenant_slug="team-a", manifests=manifests)] == [
        "finetune"
    ]
    backend.apply(
        tenant_slug="team-a", manifests=manifests, previous_keys=[object_key(m) for m in manifests]
    )
    assert kube_emulator.get("batch/v1", "Job", "finetune", "team-a-dev") is not None
