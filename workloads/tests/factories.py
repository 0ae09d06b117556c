"""factory_boy factories for workloads, revisions and what runs where."""

import factory

from tenants.tests.factories import GpuProfileFactory, TenantFactory
from workloads.models import Template, Workload, WorkloadEnvironment, WorkloadRevision

DIGEST = "sha256:" + "a1" * 32
MODEL_DIGEST = "sha256:" + "b2" * 32


class WorkloadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workload

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"ranker-{n}")
    template = Template.INFERENCE


class RevisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkloadRevision

    workload = factory.SubFactory(WorkloadFactory)
    number = factory.Sequence(lambda n: n + 1)
    image = "registry.example.com/search/ranker:1.4"
    image_digest = DIGEST
    model_uri = "s3://models/ranker/1.4"
    model_digest = MODEL_DIGEST
    model_memory_gb = 30
    profile = factory.SubFactory(GpuProfileFactory)
    gpus_per_replica = 1
    replicas = 2
    min_replicas = 1
    max_replicas = 4
    scaling_metric = WorkloadRevision.ScalingMetric.QUEUE_DEPTH
    scaling_target = 10
    cold_start_budget_s = 300
    checkpoint_volume_gi = 100
    schedule = "0 2 * * *"


class DeploymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkloadEnvironment

    current_revision = factory.SubFactory(RevisionFactory)
    workload = factory.LazyAttribute(lambda o: o.current_revision.workload)
    environment = None
