"""Permission preflight through SelfSubjectAccessReview (the emulator answers from its `rules`,
as RBAC would), and the minimal ClusterRole in docs/ made from the same list."""

from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from django.conf import settings
from django.urls import reverse
from rest_framework.test import APIClient

from clusters.permissions import NEEDS, checks, cluster_role, cluster_role_yaml, covers
from tenants.tests.factories import platform_admin

DOC = Path(settings.BASE_DIR) / "docs" / "cluster-role.yaml"


@pytest.fixture
def admin_api(db):
    api = APIClient()
    api.force_authenticate(platform_admin())
    return api


def test_preflight_with_the_minimal_cluster_role_finds_nothing_missing(
    kube_cluster, kube_emulator, admin_api
):
    kube_emulator.rules = cluster_role()["rules"]

    body = admin_api.get(f"/api/v1/clusters/{kube_cluster.name}/preflight/").json()

    assert body["ok"] is True
    assert body["missing"] == []
    assert body["checked"] == len(checks()) > 90


def test_preflight_lists_each_missing_verb_with_what_it_is_for(
    kube_cluster, kube_emulator, admin_api
):
    kube_emulator.rules = [
        r for r in cluster_role()["rules"]
        if r["resources"] not in (["clusterroles"], ["networkpolicies"])
    ] + [{"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"],
          "verbs": ["get", "list"]}]  # fmt: skip

    body = admin_api.get(f"/api/v1/clusters/{kube_cluster.name}/preflight/").json()

    missing = {(m["resource"], m["verb"], m["name"]) for m in body["missing"]}
    assert ("clusterroles", "bind", "admin") in missing
    assert ("clusterroles", "escalate", "view") in missing
    assert ("networkpolicies", "delete", "") in missing
    assert ("networkpolicies", "get", "") not in missing
    assert body["ok"] is False


def test_the_cluster_page_shows_the_missing_permissions(client, kube_cluster, kube_emulator):
    kube_emulator.rules = [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["*"]}]
    client.force_login(platform_admin())

    html = client.get(reverse("clusters:preflight", args=[kube_cluster.name])).content.decode()

    assert "permissions missing" in html
    assert "resourcequotas" in html and "docs/cluster-role.yaml" in html


def test_an_unreachable_cluster_is_reported_not_a_500(kube_cluster, kube_emulator, admin_api):
    kube_emulator.fail_next(100, 503)

    body = admin_api.get(f"/api/v1/clusters/{kube_cluster.name}/preflight/").json()

    assert body["reachable"] is False and body["error"]


def test_docs_cluster_role_is_generated_from_the_permission_list():
    assert DOC.read_text() == cluster_role_yaml()


def test_docs_cluster_role_is_a_valid_cluster_role():
    kubernetes_validate.validate(yaml.safe_load(DOC.read_text()), "1.31", strict=True)


def test_the_cluster_role_grants_every_verb_of_every_kind_the_portal_renders():
    from clusters.validation import validate_manifests  # noqa: F401 - the renderers' kinds below

    rendered = {
        ("", "namespaces"), ("", "resourcequotas"), ("", "limitranges"), ("", "services"),
        ("", "persistentvolumeclaims"), ("rbac.authorization.k8s.io", "rolebindings"),
        ("networking.k8s.io", "networkpolicies"), ("apps", "deployments"), ("batch", "jobs"),
        ("batch", "cronjobs"), ("autoscaling", "horizontalpodautoscalers"),
        ("keda.sh", "scaledobjects"), ("kueue.x-k8s.io", "clusterqueues"),
        ("kueue.x-k8s.io", "localqueues"), ("kueue.x-k8s.io", "resourceflavors"),
        ("monitoring.coreos.com", "prometheusrules"), ("", "configmaps"),
        ("admissionregistration.k8s.io", "validatingadmissionpolicies"),
        ("admissionregistration.k8s.io", "validatingadmissionpolicybindings"),
    }  # fmt: skip
    rules = cluster_role()["rules"]
    by_resource = {(n.group, n.resource): n for n in NEEDS}
    for key in rendered:
        for verb in ("get", "list", "create", "patch", "update", "delete"):
            assert covers(rules, by_resource[key], verb), (key, verb)
