"""A Grafana dashboard per workload environment, as a ConfigMap the Grafana sidecar loads
(label CONTRACTS_GRAFANA_DASHBOARD_LABEL = "1"), registered with the sync engine. Three layers:
platform (GPU utilization, framebuffer memory, Xid errors, node), ML runtime (P99 latency,
throughput, errors, queue depth, replicas; the same SLI PromQL as the alerts), and outcome (the
document's accuracy/drift metric where it names one). Rendering is pure."""

import hashlib
import json
from dataclasses import dataclass

from django.conf import settings

from clusters.registry import (
    ENVIRONMENT_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    TENANT_LABEL,
    WORKLOAD_LABEL,
    DesiredObject,
    tenant_manifests,
)
from workloads.manifests import QUEUE_DEPTH_METRIC, deployments_of_tenant
from workloads.models import Template

from . import sli
from .models import InterfaceDocument


@dataclass(frozen=True)
class DashboardInput:
    tenant: str
    workload: str
    environment: str
    namespace: str
    accuracy_metric: str = ""
    p99_latency_ms: int | None = None


def dashboard_uid(tenant: str, workload: str, environment: str) -> str:
    """Stable, at most 40 characters (Grafana's limit), the same for every render."""
    digest = hashlib.sha256(f"{tenant}/{workload}/{environment}".encode()).hexdigest()[:16]
    return f"gpu-portal-{digest}"


def panel_queries(d: DashboardInput) -> list[tuple[str, str, str, str]]:
    """(row, title, unit, PromQL) of every panel, in order."""
    pods = sli.selector(d.namespace, d.workload)
    deployments = f'namespace="{d.namespace}",deployment=~"{d.workload}(-canary)?"'
    queries = [
        ("Platform", "GPU utilization", "percent", f"avg by (pod) (DCGM_FI_DEV_GPU_UTIL{pods})"),
        (
            "Platform",
            "GPU framebuffer used",
            "decmbytes",
            f"max by (pod) (DCGM_FI_DEV_FB_USED{pods})",
        ),
        ("Platform", "Xid errors", "short", f"max by (pod) (DCGM_FI_DEV_XID_ERRORS{pods})"),
        (
            "Platform",
            "Pods per node",
            "short",
            f"count by (node) (kube_pod_info{pods})",
        ),
        ("ML runtime", "P99 latency", "s", sli.p99_latency_seconds(d.namespace, d.workload, "5m")),
        ("ML runtime", "Throughput", "reqps", sli.requests_rate(d.namespace, d.workload, "5m")),
        (
            "ML runtime",
            "Error ratio",
            "percentunit",
            sli.error_ratio(d.namespace, d.workload, "5m"),
        ),
        ("ML runtime", "Queue depth", "short", f"sum({QUEUE_DEPTH_METRIC}{pods})"),
        (
            "ML runtime",
            "Replicas available",
            "short",
            f"sum by (deployment) (kube_deployment_status_replicas_available{{{deployments}}})",
        ),
    ]
    if d.accuracy_metric:
        queries.append(("Outcome", "Accuracy drift", "short", f"max({d.accuracy_metric}{pods})"))
    return queries


def render_dashboard(d: DashboardInput) -> dict:
    panels: list[dict] = []
    y = 0
    current_row = None
    x = 0
    for index, (row, title, unit, expr) in enumerate(panel_queries(d), start=1):
        if row != current_row:
            if current_row is not None:
                y += 8
            panels.append(
                {
                    "type": "row",
                    "title": row,
                    "id": 1000 + len(panels),
                    "collapsed": False,
                    "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                    "panels": [],
                }
            )
            y += 1
            x = 0
            current_row = row
        elif x >= 24:
            x = 0
            y += 8
        panel = {
            "type": "timeseries",
            "title": title,
            "id": index,
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "gridPos": {"h": 8, "w": 6, "x": x, "y": y},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "targets": [{"refId": "A", "expr": expr, "legendFormat": "__auto"}],
        }
        if title == "P99 latency" and d.p99_latency_ms:
            panel["fieldConfig"]["defaults"]["thresholds"] = {
                "mode": "absolute",
                "steps": [
                    {"color": "green", "value": None},
                    {"color": "red", "value": d.p99_latency_ms / 1000},
                ],
            }
        panels.append(panel)
        x += 6
    return {
        "uid": dashboard_uid(d.tenant, d.workload, d.environment),
        "title": f"{d.tenant} / {d.workload} ({d.environment})",
        "tags": ["gpu-portal", f"tenant:{d.tenant}", f"workload:{d.workload}"],
        "timezone": "utc",
        "schemaVersion": 39,
        "editable": False,
        "time": {"from": "now-24h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "type": "datasource",
                    "query": "prometheus",
                    "label": "Prometheus",
                }
            ]
        },
        "panels": panels,
    }


def render_dashboard_configmap(d: DashboardInput) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"{d.workload}-dashboard",
            "namespace": d.namespace,
            "labels": {
                MANAGED_BY_LABEL: MANAGED_BY,
                TENANT_LABEL: d.tenant,
                ENVIRONMENT_LABEL: d.environment,
                WORKLOAD_LABEL: d.workload,
                settings.CONTRACTS_GRAFANA_DASHBOARD_LABEL: "1",
            },
        },
        "data": {f"{d.workload}.json": json.dumps(render_dashboard(d), sort_keys=True)},
    }


def _input(dep, document) -> DashboardInput:
    return DashboardInput(
        tenant=dep.workload.tenant.slug,
        workload=dep.workload.name,
        environment=dep.environment.name,
        namespace=dep.environment.namespace,
        accuracy_metric=(document.accuracy_metric if document else "") or "",
        p99_latency_ms=document.p99_latency_ms if document else None,
    )


@tenant_manifests
def dashboard_objects(tenant_id: int) -> list[DesiredObject]:
    """One dashboard ConfigMap per serving workload environment."""
    deployments = [
        dep
        for dep in deployments_of_tenant(tenant_id)
        if dep.workload.template == Template.INFERENCE
    ]
    documents = {
        d.workload_id: d
        for d in InterfaceDocument.objects.filter(
            workload_id__in={dep.workload_id for dep in deployments}
        )
    }
    return [
        DesiredObject(
            dep.environment.cluster_id,
            render_dashboard_configmap(_input(dep, documents.get(dep.workload_id))),
        )
        for dep in deployments
    ]


def dashboard_links(workload) -> list[dict]:
    """Links to the workload's dashboards on clusters that have a Grafana URL."""
    if workload.template != Template.INFERENCE:
        return []
    links = []
    for dep in workload.deployments.select_related("environment__cluster").order_by(
        "environment__name"
    ):
        cluster = dep.environment.cluster
        if cluster.grafana_url:
            uid = dashboard_uid(workload.tenant.slug, workload.name, dep.environment.name)
            links.append(
                {
                    "environment": dep.environment.name,
                    "url": f"{cluster.grafana_url.rstrip('/')}/d/{uid}",
                }
            )
    return links
