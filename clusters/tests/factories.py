"""factory_boy factories for the cluster registry."""

import factory

from clusters.models import Cluster, ClusterCapacity


class ClusterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cluster
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"gpu-{n}")
    display_name = factory.LazyAttribute(lambda o: o.name.upper())
    kubernetes_version = "1.31"
    gpu_pool = "h100-pool"
    backend = Cluster.Backend.KUBERNETES
    api_server_url = "http://127.0.0.1:1"


class ClusterCapacityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClusterCapacity

    cluster = factory.SubFactory(ClusterFactory)
    gpu_product = "NVIDIA-H100-80GB-HBM3"
    resource_name = "nvidia.com/gpu"
    allocatable = 16
