"""The SLI pull task: takes a cluster id, records a permanent failure on the workloads'
snapshots (a broken SLI shows on the pages) instead of retrying it forever."""

from decimal import Decimal

from clusters.tests.factories import ClusterFactory
from contracts.models import InterfaceDocument, SloSnapshot
from tenants.tests.factories import EnvironmentFactory, TenantFactory
from workloads.tests.factories import DeploymentFactory, RevisionFactory, WorkloadFactory


def test_a_cluster_without_prometheus_marks_its_slis_failing_with_the_fix(db):
    # imported here: a task proxy at module level is evaluated by pytest's collection, which
    # finalizes the Celery app before other apps' tasks.py (and their beat entries) are loaded
    from contracts.tasks import pull_cluster_slis

    cluster = ClusterFactory(name="gpu-west", prometheus_url="")
    tenant = TenantFactory(slug="search", cluster=cluster)
    env = EnvironmentFactory(tenant=tenant, name="prod")
    workload = WorkloadFactory(tenant=tenant, name="ranker")
    DeploymentFactory(current_revision=RevisionFactory(workload=workload), environment=env)
    InterfaceDocument.objects.create(workload=workload, availability_pct=Decimal("99.9"))

    pull_cluster_slis.apply(args=[cluster.pk]).get()  # no exception: nothing to retry
    pull_cluster_slis.apply(args=[cluster.pk]).get()  # and again: idempotent

    snapshot = SloSnapshot.objects.get(workload=workload, environment=env)
    assert snapshot.state == "failing"
    assert "has no Prometheus URL: set one on the cluster page" in snapshot.last_error
