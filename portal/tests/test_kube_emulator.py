"""The Kubernetes API emulator's behaviours the portal's safety rules depend on, each checked
through the real `kubernetes` client over HTTP (portal/testing/kube_emulator.py lists where the
emulator still differs from a real API server)."""

import json

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from portal.testing.kube_emulator import KubeEmulator


@pytest.fixture
def emulator():
    em = KubeEmulator().start()
    yield em
    em.stop()


@pytest.fixture
def dyn(emulator, tmp_path):
    cfg = k8s.Configuration()
    cfg.host = emulator.url
    return DynamicClient(k8s.ApiClient(cfg), cache_file=str(tmp_path / "discovery.json"))


def resource(dyn, api_version, kind):
    return dyn.resources.get(api_version=api_version, kind=kind)


def namespace(name, **labels):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def quota(gpus, *, ns="team-a", name="q"):
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"hard": {"requests.nvidia.com/gpu": str(gpus)}},
    }


def apply(dyn, body, manager="gpu-portal", force=False):
    res = resource(dyn, body["apiVersion"], body["kind"])
    return dyn.server_side_apply(
        res,
        body=body,
        namespace=body["metadata"].get("namespace"),
        field_manager=manager,
        force_conflicts=force,
    ).to_dict()


def managers(obj):
    return {(m["manager"], m["operation"]) for m in obj["metadata"]["managedFields"]}


def error_body(exc: ApiException) -> dict:
    return json.loads(exc.body)


# --- managedFields and server-side apply ------------------------------------------------------
def test_apply_records_the_fields_the_applier_sent_under_its_manager(emulator, dyn):
    apply(dyn, namespace("team-a"))
    applied = apply(dyn, quota(4))

    entry = applied["metadata"]["managedFields"][0]
    assert (entry["manager"], entry["operation"], entry["fieldsType"]) == (
        "gpu-portal",
        "Apply",
        "FieldsV1",
    )
    assert entry["fieldsV1"] == {"f:spec": {"f:hard": {"f:requests.nvidia.com/gpu": {}}}}


def test_an_update_by_another_client_takes_the_fields_it_changed(emulator, dyn):
    apply(dyn, namespace("team-a"))
    apply(dyn, quota(4))
    live = resource(dyn, "v1", "ResourceQuota").get(name="q", namespace="team-a").to_dict()
    live["spec"]["hard"]["requests.nvidia.com/gpu"] = "8"

    updated = (
        resource(dyn, "v1", "ResourceQuota")
        .replace(body=live, namespace="team-a", field_manager="kubectl-edit")
        .to_dict()
    )

    assert managers(updated) == {("kubectl-edit", "Update")}  # gpu-portal lost its only field


def test_apply_without_force_answers_409_naming_each_conflicting_field_and_manager(emulator, dyn):
    apply(dyn, namespace("team-a"))
    apply(dyn, quota(4))
    emulator.apply(quota(8), manager="kubectl", force=True)

    with pytest.raises(ApiException) as caught:
        apply(dyn, quota(4))

    assert caught.value.status == 409
    body = error_body(caught.value)
    assert body["reason"] == "Conflict"
    assert body["details"]["causes"] == [
        {
            "type": "FieldManagerConflict",
            "message": 'conflict with "kubectl" using v1',
            "field": ".spec.hard.requests.nvidia.com/gpu",
        }
    ]
    assert body["message"].startswith("Apply failed with 1 conflict")
    live = emulator.get("v1", "ResourceQuota", "q", "team-a")
    assert live["spec"]["hard"]["requests.nvidia.com/gpu"] == "8"  # nothing written


def test_apply_of_the_same_value_as_another_manager_shares_the_field_without_conflict(
    emulator, dyn
):
    apply(dyn, namespace("team-a"))
    emulator.apply(quota(4), manager="kubectl")

    applied = apply(dyn, quota(4))

    assert managers(applied) == {("kubectl", "Apply"), ("gpu-portal", "Apply")}


def test_forced_apply_takes_the_conflicting_fields_over(emulator, dyn):
    apply(dyn, namespace("team-a"))
    apply(dyn, quota(4))
    emulator.apply(quota(8), manager="kubectl", force=True)

    applied = apply(dyn, quota(4), force=True)

    assert applied["spec"]["hard"]["requests.nvidia.com/gpu"] == "4"
    assert managers(applied) == {("gpu-portal", "Apply")}


def test_a_field_the_applier_no_longer_sends_is_removed(emulator, dyn):
    apply(dyn, namespace("team-a"))
    two = quota(4)
    two["spec"]["hard"]["requests.nvidia.com/mig-1g.10gb"] = "2"
    apply(dyn, two)

    applied = apply(dyn, quota(4))

    assert applied["spec"]["hard"] == {"requests.nvidia.com/gpu": "4"}


def test_a_field_another_manager_also_owns_is_kept_when_the_applier_drops_it(emulator, dyn):
    apply(dyn, namespace("team-a"))
    mine = namespace("team-a", team="a", cost="x")
    apply(dyn, mine)
    emulator.apply(namespace("team-a", cost="x"), manager="finance-bot")

    applied = apply(dyn, namespace("team-a", team="a"))

    assert applied["metadata"]["labels"] == {"team": "a", "cost": "x"}


def test_a_no_op_apply_keeps_the_resource_version(emulator, dyn):
    apply(dyn, namespace("team-a"))
    first = apply(dyn, quota(4))

    again = apply(dyn, quota(4))

    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


# --- resourceVersion ------------------------------------------------------------------------
def test_an_update_with_a_stale_resource_version_answers_409(emulator, dyn):
    apply(dyn, namespace("team-a"))
    apply(dyn, quota(4))
    stale = resource(dyn, "v1", "ResourceQuota").get(name="q", namespace="team-a").to_dict()
    emulator.apply(quota(8), manager="kubectl", force=True)
    stale["spec"]["hard"]["requests.nvidia.com/gpu"] = "2"

    with pytest.raises(ApiException) as caught:
        resource(dyn, "v1", "ResourceQuota").replace(body=stale, namespace="team-a")

    assert caught.value.status == 409
    assert "the object has been modified" in error_body(caught.value)["message"]
    live = emulator.get("v1", "ResourceQuota", "q", "team-a")
    assert live["spec"]["hard"]["requests.nvidia.com/gpu"] == "8"


# --- label selectors ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("tier in (gold,silver)", {"a", "b"}),
        ("tier notin (gold)", {"b", "c", "d"}),
        ("tier in (gold, silver),team!=x", {"b"}),
        ("tier", {"a", "b", "c"}),
        ("!tier", {"d"}),
        ("team=x,tier notin (silver,bronze)", {"a"}),
    ],
)
def test_set_based_label_selectors(emulator, dyn, selector, expected):
    emulator.put(namespace("a", tier="gold", team="x"))
    emulator.put(namespace("b", tier="silver", team="y"))
    emulator.put(namespace("c", tier="bronze", team="x"))
    emulator.put(namespace("d", team="y"))

    found = resource(dyn, "v1", "Namespace").get(label_selector=selector).to_dict()

    assert {i["metadata"]["name"] for i in found["items"]} == expected


# --- ownerReferences and garbage collection -------------------------------------------------
def job_with_pod(emulator, ns="team-a"):
    emulator.put(namespace(ns))
    job = emulator.put({"apiVersion": "batch/v1", "kind": "Job",
                        "metadata": {"name": "train", "namespace": ns}, "spec": {}})  # fmt: skip
    ref = {"apiVersion": "batch/v1", "kind": "Job", "name": "train",
           "uid": job["metadata"]["uid"], "controller": True}  # fmt: skip
    emulator.put({"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"name": "train-x1", "namespace": ns, "ownerReferences": [ref]},
                  "spec": {"containers": [{"name": "t", "image": "i"}]}})  # fmt: skip
    return job


def test_background_deletion_removes_the_owner_and_its_dependents(emulator, dyn):
    job_with_pod(emulator)

    resource(dyn, "batch/v1", "Job").delete(
        name="train", namespace="team-a", propagation_policy="Background"
    )

    assert emulator.get("batch/v1", "Job", "train", "team-a") is None
    assert emulator.objects("Pod", "team-a") == []


def test_a_job_deleted_without_a_policy_orphans_its_pods_as_the_batch_default_does(emulator, dyn):
    job_with_pod(emulator)

    resource(dyn, "batch/v1", "Job").delete(name="train", namespace="team-a")

    (pod,) = emulator.objects("Pod", "team-a")
    assert "ownerReferences" not in pod["metadata"]


def test_orphan_deletion_keeps_the_dependents_without_the_reference(emulator, dyn):
    job_with_pod(emulator)

    resource(dyn, "batch/v1", "Job").delete(
        name="train", namespace="team-a", propagation_policy="Orphan"
    )

    assert emulator.get("batch/v1", "Job", "train", "team-a") is None
    (pod,) = emulator.objects("Pod", "team-a")
    assert "ownerReferences" not in pod["metadata"]


def test_foreground_deletion_answers_the_owner_as_deleting_and_removes_dependents_first(
    emulator, dyn
):
    job_with_pod(emulator)

    answer = (
        resource(dyn, "batch/v1", "Job")
        .delete(name="train", namespace="team-a", propagation_policy="Foreground")
        .to_dict()
    )

    assert answer["metadata"]["deletionTimestamp"]
    assert answer["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert emulator.objects("Pod", "team-a") == []
    assert emulator.get("batch/v1", "Job", "train", "team-a") is None


def test_a_dependent_with_another_live_owner_survives_its_owners_deletion(emulator, dyn):
    job = job_with_pod(emulator)
    keeper = emulator.put({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "keeper", "namespace": "team-a"}})  # fmt: skip
    pod = emulator.get("v1", "Pod", "train-x1", "team-a")
    pod["metadata"]["ownerReferences"].append(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": "keeper",
            "uid": keeper["metadata"]["uid"],
        }  # fmt: skip
    )
    emulator.put(pod)
    assert job

    resource(dyn, "batch/v1", "Job").delete(
        name="train", namespace="team-a", propagation_policy="Background"
    )

    assert emulator.get("v1", "Pod", "train-x1", "team-a") is not None


# --- finalizers and Terminating namespaces --------------------------------------------------
def test_an_object_with_a_finalizer_stays_deleting_until_the_finalizer_is_removed(emulator, dyn):
    emulator.put(namespace("team-a"))
    emulator.put({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                  "metadata": {"name": "ckpt", "namespace": "team-a",
                               "finalizers": ["kubernetes.io/pvc-protection"]}})  # fmt: skip

    resource(dyn, "v1", "PersistentVolumeClaim").delete(name="ckpt", namespace="team-a")

    held = emulator.get("v1", "PersistentVolumeClaim", "ckpt", "team-a")
    assert held["metadata"]["deletionTimestamp"]
    emulator.remove_finalizers("v1", "PersistentVolumeClaim", "ckpt", "team-a")
    assert emulator.get("v1", "PersistentVolumeClaim", "ckpt", "team-a") is None


def test_a_deleted_namespace_is_terminating_while_content_with_finalizers_remains(emulator, dyn):
    emulator.put(namespace("team-a"))
    emulator.put({"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "plain", "namespace": "team-a"}})  # fmt: skip
    emulator.put({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                  "metadata": {"name": "ckpt", "namespace": "team-a",
                               "finalizers": ["kubernetes.io/pvc-protection"]}})  # fmt: skip

    resource(dyn, "v1", "Namespace").delete(name="team-a")

    ns = resource(dyn, "v1", "Namespace").get(name="team-a").to_dict()
    assert ns["status"]["phase"] == "Terminating"
    assert "kubernetes.io/pvc-protection" in ns["status"]["conditions"][0]["message"]
    assert emulator.get("v1", "ConfigMap", "plain", "team-a") is None
    emulator.remove_finalizers("v1", "PersistentVolumeClaim", "ckpt", "team-a")
    assert emulator.get("v1", "Namespace", "team-a") is None


def test_a_terminating_namespace_refuses_new_content(emulator, dyn):
    emulator.put(namespace("team-a"))
    emulator.put({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                  "metadata": {"name": "ckpt", "namespace": "team-a",
                               "finalizers": ["kubernetes.io/pvc-protection"]}})  # fmt: skip
    resource(dyn, "v1", "Namespace").delete(name="team-a")

    with pytest.raises(ApiException) as caught:
        apply(dyn, quota(4))

    assert caught.value.status == 403
    assert "being terminated" in error_body(caught.value)["message"]


def test_an_empty_namespace_is_gone_after_its_deletion(emulator, dyn):
    emulator.put(namespace("team-a"))

    resource(dyn, "v1", "Namespace").delete(name="team-a")

    assert emulator.get("v1", "Namespace", "team-a") is None


# --- authorization reviews ------------------------------------------------------------------
def test_self_subject_access_review_answers_from_the_rules(emulator, dyn):
    emulator.rules = [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list"]}]
    review = resource(dyn, "authorization.k8s.io/v1", "SelfSubjectAccessReview")

    def allowed(verb, resource_name):
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {"verb": verb, "group": "",
                                                "resource": resource_name}}}  # fmt: skip
        return review.create(body=body).to_dict()["status"]["allowed"]

    assert allowed("get", "namespaces") is True
    assert allowed("delete", "namespaces") is False
    assert allowed("get", "pods") is False


def test_self_subject_rules_review_lists_the_rules(emulator, dyn):
    emulator.rules = [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["*"]}]
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
            "spec": {"namespace": "team-a"}}  # fmt: skip

    answer = (
        resource(dyn, "authorization.k8s.io/v1", "SelfSubjectRulesReview").create(body=body)
    ).to_dict()

    assert answer["status"]["resourceRules"] == emulator.rules
