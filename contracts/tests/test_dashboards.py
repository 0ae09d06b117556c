"""Grafana dashboards per workload environment, rendered by the sync engine as ConfigMaps:
each parses as JSON, validates as a ConfigMap, carries the configured sidecar label, and every
panel's PromQL evaluates without error on a real Prometheus (its query API)."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from clusters.prometheus import PrometheusClient
from clusters.registry import desired_objects
from clusters.tests.factories import ClusterFactory
from clusters.validation import problems_of
from contracts.dashboards import (
    DashboardInput,
    dashboard_links,
    panel_queries,
    render_dashboard,
    render_dashboard_configmap,
)
from contracts.models import InterfaceDocument
from contracts.tests import sli_dataset as ds
from portal.testing.prometheus import start_prometheus
from tenants.tests.factories import EnvironmentFactory, TenantFactory
from workloads.models import Template
from workloads.tests.factories import DeploymentFactory, RevisionFactory, WorkloadFactory

# A small slice of the SLI dataset: the panels are checked on real series, not only parsed.
WITH_DRIFT = DashboardInput(
    tenant="search",
    workload="ranker",
    environment="staging",
    namespace="search-staging",
    accuracy_metric="model_accuracy_drift",
    p99_latency_ms=250,
)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    from portal.testing.prometheus import OpenMetrics

    metrics = OpenMetrics()
    labels = {"namespace": "search-staging", "pod": "ranker-7d9f8c6b5d-abcde"}
    start = int(ds.END.timestamp()) - 3600
    for i in range(60):
        t = start + 30 + 60 * i
        metrics.add(
            "inference_requests_total", {**labels, "code": "200"}, t, 100.0 * i, kind="counter"
        )
        metrics.add(
            "inference_requests_total", {**labels, "code": "500"}, t, 1.0 * i, kind="counter"
        )
        for le in ds.BOUNDS:
            metrics.add(
                "inference_request_duration_seconds_bucket",
                {**labels, "le": le},
                t,
                50.0 * i,
                kind="counter",
            )
        metrics.add("DCGM_FI_DEV_GPU_UTIL", labels, t, 70.0)
        metrics.add("DCGM_FI_DEV_FB_USED", labels, t, 30000.0)
        metrics.add("DCGM_FI_DEV_XID_ERRORS", labels, t, 0.0)
        metrics.add("inference_queue_depth", labels, t, 3.0)
        metrics.add("model_accuracy_drift", labels, t, 0.01)
        metrics.add("kube_pod_info", {**labels, "node": "gpu-node-1"}, t, 1.0)
        metrics.add(
            "kube_deployment_status_replicas_available",
            {"namespace": "search-staging", "deployment": "ranker"},
            t,
            2.0,
        )
    server = start_prometheus(metrics.text(), tmp_path_factory.mktemp("dash-prometheus"))
    yield server
    server.stop()


def test_dashboard_has_the_three_layers_and_the_documents_drift_metric():
    dashboard = render_dashboard(WITH_DRIFT)
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows == ["Platform", "ML runtime", "Outcome"]
    titles = {p["title"] for p in dashboard["panels"] if p["type"] != "row"}
    assert {"GPU utilization", "GPU framebuffer used", "Xid errors", "Pods per node"} <= titles
    assert {"P99 latency", "Throughput", "Queue depth", "Replicas available"} <= titles
    assert "Accuracy drift" in titles
    without = render_dashboard(DashboardInput("search", "ranker", "prod", "search-prod"))
    assert "Outcome" not in [p["title"] for p in without["panels"]]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_every_panels_promql_evaluates_on_a_real_prometheus(prometheus):
    client = PrometheusClient(base_url=prometheus.url, retries=0)
    at = datetime.fromtimestamp(int(ds.END.timestamp()) - 60, tz=UTC)
    answered = {}
    for _, title, _, expr in panel_queries(WITH_DRIFT):
        answered[title] = client.query(expr, at=at)  # raises on any PromQL Prometheus refuses
    # and on the series of this workload they answer something
    assert all(answered[t] for t in answered), [t for t in answered if not answered[t]]
    assert answered["GPU utilization"][0].points[0][1] == pytest.approx(70.0)
    assert answered["Error ratio"][0].points[0][1] == pytest.approx(1 / 101, rel=1e-3)


@pytest.fixture
def tenant_world(db, settings):
    settings.CONTRACTS_GRAFANA_DASHBOARD_LABEL = "grafana.example.com/dashboard"
    cluster = ClusterFactory(name="gpu-east", grafana_url="https://grafana.example.com/")
    tenant = TenantFactory(slug="search", cluster=cluster)
    envs = {n: EnvironmentFactory(tenant=tenant, name=n) for n in ("staging", "prod")}
    workload = WorkloadFactory(tenant=tenant, name="ranker")
    revision = RevisionFactory(workload=workload, number=1)
    for env in envs.values():
        DeploymentFactory(current_revision=revision, environment=env)
    InterfaceDocument.objects.create(
        workload=workload, accuracy_metric="model_accuracy_drift", p99_latency_ms=250,
        availability_pct=Decimal("99.9"),
    )  # fmt: skip
    trainer = WorkloadFactory(tenant=tenant, name="trainer", template=Template.TRAINING)
    DeploymentFactory(
        current_revision=RevisionFactory(workload=trainer), environment=envs["staging"]
    )
    return tenant, workload


def test_the_sync_engine_renders_one_valid_dashboard_configmap_per_serving_environment(
    tenant_world,
):
    tenant, _ = tenant_world
    maps = [
        o.manifest
        for o in desired_objects(tenant.pk)
        if o.manifest["kind"] == "ConfigMap"
        and o.manifest["metadata"]["name"].endswith("-dashboard")
    ]
    assert sorted(m["metadata"]["namespace"] for m in maps) == ["search-prod", "search-staging"]
    for manifest in maps:
        assert manifest["metadata"]["labels"]["grafana.example.com/dashboard"] == "1"
        assert problems_of(manifest, "1.31") == []
        (text,) = manifest["data"].values()
        dashboard = json.loads(text)
        assert dashboard["uid"] and len(dashboard["uid"]) <= 40
        assert any(p["title"] == "Accuracy drift" for p in dashboard["panels"])


def test_rendering_twice_gives_the_same_configmap(tenant_world):
    assert render_dashboard_configmap(WITH_DRIFT) == render_dashboard_configmap(WITH_DRIFT)


def test_the_workload_page_links_to_the_dashboards_when_the_cluster_has_grafana(tenant_world):
    _, workload = tenant_world
    links = dashboard_links(workload)
    uid = render_dashboard(DashboardInput("search", "ranker", "prod", "search-prod"))["uid"]
    assert {"environment": "prod", "url": f"https://grafana.example.com/d/{uid}"} in links
    workload.tenant.cluster.grafana_url = ""
    workload.tenant.cluster.save()
    assert dashboard_links(workload) == []
