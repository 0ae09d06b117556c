"""The PrometheusRule of every workload environment that has an interface document, registered
with the sync engine (rendered in contracts/rules.py)."""

from clusters.registry import (
    ENVIRONMENT_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    TENANT_LABEL,
    WORKLOAD_LABEL,
    DesiredObject,
    tenant_manifests,
)
from workloads.manifests import deployments_of_tenant
from workloads.models import WorkloadRevision

from .document import build_content
from .models import InterfaceDocument
from .rules import RuleInput, rules_spec


def rule_input(deployment, content: dict) -> RuleInput:
    return RuleInput(
        tenant=deployment.workload.tenant.slug,
        workload=deployment.workload.name,
        environment=deployment.environment.name,
        namespace=deployment.environment.namespace,
        template=deployment.workload.template,
        content=content,
    )


def render_prometheus_rule(rule_in: RuleInput) -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": f"{rule_in.workload}-alerts",
            "namespace": rule_in.namespace,
            "labels": {
                MANAGED_BY_LABEL: MANAGED_BY,
                TENANT_LABEL: rule_in.tenant,
                ENVIRONMENT_LABEL: rule_in.environment,
                WORKLOAD_LABEL: rule_in.workload,
            },
        },
        "spec": rules_spec(rule_in),
    }


@tenant_manifests
def alert_rule_objects(tenant_id: int) -> list[DesiredObject]:
    deployments = list(deployments_of_tenant(tenant_id))
    documents = {
        d.workload_id: d
        for d in InterfaceDocument.objects.filter(
            workload_id__in={dep.workload_id for dep in deployments}
        )
        .select_related("owner_team", "platform_contact", "sre_contact", "rollback_owner")
        .prefetch_related("alerts__paged_team")
    }
    objects = []
    for dep in deployments:
        document = documents.get(dep.workload_id)
        if document is None:
            continue
        # the resources a running environment has are those of the revision it runs
        revision: WorkloadRevision = dep.current_revision
        content = build_content(document, dep.workload, revision)
        rule_in = rule_input(dep, content)
        manifest = render_prometheus_rule(rule_in)
        if manifest["spec"]["groups"][0]["rules"]:
            objects.append(DesiredObject(dep.environment.cluster_id, manifest))
    return objects


# the Grafana dashboard ConfigMaps register themselves with the sync engine on import
from . import dashboards  # noqa: E402, F401
