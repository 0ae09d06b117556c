"""The demo seeds workloads of every template, deployed to dev, with complete documents."""

import pytest

from clusters.registry import desired_objects
from contracts import demo as contracts_demo
from contracts.models import InterfaceDocument
from portal.management.commands.seed_demo import seed_users
from workloads import demo as workloads_demo
from workloads.models import Workload, WorkloadEnvironment

from .schemas import validate_object

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_tenants(db):
    from clusters import demo as clusters_demo
    from tenants import demo as tenants_demo

    seed_users()
    clusters_demo.seed_demo()
    tenants_demo.seed_demo()


def test_demo_seeds_valid_workloads_and_documents_idempotently(demo_tenants):
    workloads_demo.seed_demo()
    contracts_demo.seed_demo()
    assert workloads_demo.seed_demo() == []
    contracts_demo.seed_demo()
    templates = set(Workload.objects.values_list("template", flat=True))
    assert templates == {"inference", "training", "batch"}
    assert WorkloadEnvironment.objects.filter(environment__name="dev").count() >= 3
    inference_docs = InterfaceDocument.objects.filter(workload__template="inference")
    assert inference_docs and all(d.signed_off for d in inference_docs)
    # and everything it renders is valid
    tenant_ids = set(Workload.objects.values_list("tenant_id", flat=True))
    kinds = set()
    for tenant_id in tenant_ids:
        for obj in desired_objects(tenant_id):
            if obj.manifest["metadata"].get("labels", {}).get("gpu-portal.io/workload"):
                validate_object(obj.manifest)
                kinds.add(obj.manifest["kind"])
    assert {"Deployment", "Job", "CronJob", "PrometheusRule"} <= kinds
