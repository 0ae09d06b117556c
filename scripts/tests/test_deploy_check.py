"""The Helm chart (deploy/helm/gpu-portal) through scripts/deploy_check.py, the script
`make deploy-check` runs: Helm's own engine renders and lints it (helm-python-sdk), every object
is validated strictly for Kubernetes 1.29/1.31/1.33 and the CRDs, for the default values and
ci/all-on-values.yaml; broken values must fail it."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from clusters.kube import PRUNABLE_KINDS
from scripts import deploy_check

ROOT = Path(__file__).resolve().parents[2]
ALL_ON = deploy_check.CHART / "ci" / "all-on-values.yaml"

# (apiGroup, resource) the sync engine writes when the portal manages its own cluster.
WRITTEN = {
    ("", "namespaces"),
    ("", "resourcequotas"),
    ("", "limitranges"),
    ("", "services"),
    ("", "persistentvolumeclaims"),
    ("", "configmaps"),
    ("rbac.authorization.k8s.io", "rolebindings"),
    ("networking.k8s.io", "networkpolicies"),
    ("kueue.x-k8s.io", "resourceflavors"),
    ("kueue.x-k8s.io", "clusterqueues"),
    ("kueue.x-k8s.io", "localqueues"),
    ("apps", "deployments"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("autoscaling", "horizontalpodautoscalers"),
    ("keda.sh", "scaledobjects"),
    ("monitoring.coreos.com", "prometheusrules"),
}
PLURAL = {
    "ResourceQuota": "resourcequotas",
    "LimitRange": "limitranges",
    "RoleBinding": "rolebindings",
    "NetworkPolicy": "networkpolicies",
    "ClusterQueue": "clusterqueues",
    "LocalQueue": "localqueues",
    "Namespace": "namespaces",
}


def run_script(*args):
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "deploy_check.py"), *args],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def all_on():
    result = deploy_check.check(yaml.safe_load(ALL_ON.read_text()), "all-on")
    assert result.ok, "\n".join(result.problems)
    return result.objects


@pytest.fixture(scope="module")
def defaults():
    result = deploy_check.check({}, "defaults")
    assert result.ok, "\n".join(result.problems)
    return result.objects


def by(objects, kind, component=None):
    found = [o for o in objects if o["kind"] == kind]
    if component:
        label = "app.kubernetes.io/component"
        found = [o for o in found if o["metadata"]["labels"].get(label) == component]
    return found


def test_make_deploy_check_passes_for_default_and_all_on_values():
    """The script exactly as `make deploy-check` runs it."""
    result = run_script()
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("ok   default values: 10 objects") for line in lines)
    assert any(
        line.startswith("ok   deploy/helm/gpu-portal/ci/all-on-values.yaml: 18 objects")
        for line in lines
    ), result.stdout
    assert any(
        line.startswith("ok   deploy/helm/gpu-portal/examples/external-postgresql-redis.yaml: ")
        for line in lines
    ), result.stdout


def test_invalid_objects_fail_the_check(tmp_path):
    """Values the chart's values.schema.json lets through (free-form Kubernetes fields) but
    that render invalid objects: kubernetes-validate and the CRD schema must catch them."""
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        yaml.safe_dump(
            {
                "extraEnv": [{"name": "X", "value": "1", "bogusField": True}],
                "podSecurityContext": {"runAsNonRoot": True, "runAsUser": "ten"},
                "metrics": {"serviceMonitor": {"enabled": True, "interval": "soon"}},
            }
        )
    )
    result = run_script(str(broken))
    assert result.returncode == 1, result.stdout
    out = result.stdout
    assert "FAIL" in out and "helm lint" not in out and "helm template" not in out
    for version in ("1.29", "1.31", "1.33"):
        for ref in ("Deployment gpu-portal/gpu-portal-web", "Job gpu-portal/gpu-portal-migrate"):
            assert (
                f"[{version}] {ref}: spec.template.spec.securityContext.runAsUser: 'ten' is not "
                "of type 'integer'" in out
            )
        # the custom resource, against the ServiceMonitor CRD
        assert (
            f"[{version}] ServiceMonitor gpu-portal/gpu-portal: spec.endpoints.0.interval: 'soon' "
            "does not match" in out
        )
    assert "'bogusField' was unexpected" in out


def test_values_outside_the_schema_fail_lint_and_render():
    result = deploy_check.check({"web": {"replicas": "two"}, "replicaCount": 3}, "bad values")
    assert not result.ok
    lint = [p for p in result.problems if p.startswith("helm lint (1.29/1.31/1.33)")]
    assert any("at '/web/replicas': got string, want integer" in p for p in lint), result.problems
    assert any("replicaCount" in p for p in lint), result.problems
    assert any(p.startswith("helm template: ") for p in result.problems)
    assert result.objects == []


def test_broken_promises_fail_the_check():
    result = deploy_check.check(
        {"securityContext": {"readOnlyRootFilesystem": False, "allowPrivilegeEscalation": False}},
        "writable",
    )
    assert not result.ok
    assert "Deployment gpu-portal/gpu-portal-web: container web root filesystem is writable" in (
        result.problems
    )


def test_template_error_is_reported_not_raised():
    result = deploy_check.check({"secrets": {"existingSecret": ""}}, "no secret")
    assert not result.ok
    assert any(
        "secrets.existingSecret or a name for SECRET_KEY is required" in p for p in result.problems
    ), result.problems


def test_one_beat_recreated_never_two(defaults):
    (beat,) = by(defaults, "Deployment", "beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    args = beat["spec"]["template"]["spec"]["containers"][0]["command"]
    assert args[:3] == ["celery", "--app=portal", "beat"]
    assert not by(defaults, "HorizontalPodAutoscaler")


def test_same_image_runs_every_component_by_command(all_on):
    pods = {
        o["metadata"]["labels"]["app.kubernetes.io/component"]: o["spec"]["template"]["spec"]
        for o in all_on
        if o["kind"] in {"Deployment", "Job"}
    }
    assert set(pods) == {"web", "worker", "beat", "migrate"}
    images = {p["containers"][0]["image"] for p in pods.values()}
    assert images == {
        "registry.example.com/platform/gpu-portal@sha256:"
        "4b1e2ba4b3a0c4b5e3f1d3b7c9f4a3e2d1c0b9a8f7e6d5c4b3a2918273645566"
    }
    assert pods["web"]["containers"][0]["command"][0] == "gunicorn"
    assert pods["worker"]["containers"][0]["command"][:3] == ["celery", "--app=portal", "worker"]
    assert pods["migrate"]["containers"][0]["command"] == [
        "python",
        "manage.py",
        "migrate",
        "--noinput",
    ]


def test_migrations_are_a_pre_install_pre_upgrade_hook(defaults):
    (job,) = by(defaults, "Job")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    # runs before the chart's ServiceAccount exists, and needs no API access
    assert "serviceAccountName" not in job["spec"]["template"]["spec"]
    assert job["spec"]["template"]["spec"]["automountServiceAccountToken"] is False


def test_secrets_are_referenced_never_created(all_on):
    assert not by(all_on, "Secret")
    (web,) = by(all_on, "Deployment", "web")
    env = {e["name"]: e for e in web["spec"]["template"]["spec"]["containers"][0]["env"]}
    refs = {
        name: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for name, e in env.items()
        if "valueFrom" in e
    }
    assert refs == {
        "SECRET_KEY": ("portal-app", "SECRET_KEY"),
        "PORTAL_ENCRYPTION_KEY": ("portal-app", "PORTAL_ENCRYPTION_KEY"),
        "DATABASE_URL": ("portal-postgres", "uri"),
        "REDIS_URL": ("portal-redis", "url"),
        "PORTAL_METRICS_TOKEN": ("portal-metrics", "token"),
        "PORTAL_CHAT_WEBHOOK_URL": ("portal-chat", "webhook"),
    }
    assert env["DEBUG"]["value"] == "0"


def test_probes_on_healthz_and_readyz_with_the_allowed_host(defaults, all_on):
    (web,) = by(defaults, "Deployment", "web")
    c = web["spec"]["template"]["spec"]["containers"][0]
    proto = {"name": "X-Forwarded-Proto", "value": "https"}
    for probe, path in (("livenessProbe", "/healthz"), ("startupProbe", "/healthz")):
        assert c[probe]["httpGet"] == {"path": path, "port": "http", "httpHeaders": [proto]}
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    (web,) = by(all_on, "Deployment", "web")
    probe = web["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]
    assert probe["httpHeaders"] == [proto, {"name": "Host", "value": "gpu-portal.example.com"}]


def test_pdb_and_hpa_for_web_and_worker(all_on):
    assert {o["metadata"]["name"] for o in by(all_on, "PodDisruptionBudget")} == {
        "portal-web",
        "portal-worker",
    }
    hpas = {o["spec"]["scaleTargetRef"]["name"] for o in by(all_on, "HorizontalPodAutoscaler")}
    assert hpas == {"portal-web", "portal-worker"}
    for deployment in by(all_on, "Deployment"):
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        # an HPA owns replicas: the Deployment must not fight it
        assert ("replicas" in deployment["spec"]) == (component == "beat")


def test_prometheus_rule_is_the_portal_rules_file(all_on):
    (rule,) = by(all_on, "PrometheusRule")
    expected = yaml.safe_load((deploy_check.CHART / "files" / "portal-rules.yaml").read_text())
    assert rule["spec"] == {"groups": expected["groups"]}
    (monitor,) = by(all_on, "ServiceMonitor")
    endpoint = monitor["spec"]["endpoints"][0]
    assert endpoint["path"] == "/metrics"
    assert endpoint["authorization"]["credentials"] == {"name": "portal-metrics", "key": "token"}


def test_portal_rules_file_passes_promtool(tmp_path):
    """The chart ships files/portal-rules.yaml as it is: Prometheus must accept it."""
    rules = deploy_check.CHART / "files" / "portal-rules.yaml"
    result = subprocess.run(
        ["promtool", "check", "rules", str(rules)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    broken = tmp_path / "broken-rules.yaml"
    broken.write_text(rules.read_text().replace("== 0", "== == 0"))
    result = subprocess.run(
        ["promtool", "check", "rules", str(broken)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0


def cluster_role_allows(role, group, resource, verb, name=None):
    for rule in role["rules"]:
        if (
            group in rule["apiGroups"]
            and resource in rule["resources"]
            and verb in rule["verbs"]
            and (name is None or "resourceNames" not in rule or name in rule["resourceNames"])
        ):
            return True
    return False


def test_cluster_role_covers_what_the_sync_engine_writes(defaults):
    (role,) = by(defaults, "ClusterRole")
    written = set(WRITTEN)
    for api_version, kind in PRUNABLE_KINDS:
        group = api_version.rpartition("/")[0]
        written.add((group, PLURAL[kind]))
    for group, resource in sorted(written):
        for verb in ("get", "list", "create", "patch", "delete"):
            assert cluster_role_allows(role, group, resource, verb), (group, resource, verb)
    for name in ("admin", "edit", "view"):
        assert cluster_role_allows(role, "rbac.authorization.k8s.io", "clusterroles", "bind", name)
    assert not cluster_role_allows(
        role, "rbac.authorization.k8s.io", "clusterroles", "bind", "cluster-admin"
    )
    for resource in ("selfsubjectaccessreviews", "selfsubjectrulesreviews"):
        assert cluster_role_allows(role, "authorization.k8s.io", resource, "create")
    assert not cluster_role_allows(role, "", "secrets", "get")
    (binding,) = by(defaults, "ClusterRoleBinding")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "gpu-portal", "namespace": "gpu-portal"}
    ]


def test_network_policies_admit_only_the_web_port(all_on, defaults):
    assert not by(defaults, "NetworkPolicy")
    policies = {o["metadata"]["name"]: o["spec"] for o in by(all_on, "NetworkPolicy")}
    web = policies["portal-web"]
    assert web["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "web"
    (rule,) = web["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    assert [p["namespaceSelector"]["matchLabels"] for p in rule["from"]] == [
        {"kubernetes.io/metadata.name": "ingress-nginx"},
        {"kubernetes.io/metadata.name": "monitoring"},
    ]
    background = policies["portal-background"]
    assert background["policyTypes"] == ["Ingress"] and "ingress" not in background
    components = background["podSelector"]["matchExpressions"][1]["values"]
    assert components == ["worker", "beat", "migrate"]


def test_cluster_role_covers_the_permission_preflight(defaults):
    """Everything the cluster permission preflight (clusters/permissions.py) asks the API
    server about, the chart's ClusterRole grants: a portal installed by the chart passes its
    own preflight on the cluster it runs in."""
    permissions = pytest.importorskip("clusters.permissions")
    (role,) = by(defaults, "ClusterRole")
    missing = [
        (need.group, need.resource, verb, name)
        for need, verb, name in permissions.checks()
        if not permissions.covers(role["rules"], need, verb, name)
    ]
    assert missing == []
