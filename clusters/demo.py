"""Demo data for the Cluster registry: one GitOps cluster with stated GPU capacity.

The cluster has no remote repository, so the GitOps backend keeps a local repository under
`settings.PORTAL_GITOPS_ROOT` and demo syncs really commit. Capacity rows carry `override`
because the portal cannot read node allocatable through a GitOps repository.
"""

from django.conf import settings

from .models import Cluster, ClusterCapacity

DEMO_CLUSTER = "gpu-eu-1"

# (nvidia.com/gpu.product, Kubernetes resource name) -> units the cluster offers
DEMO_CAPACITY = {
    ("NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu"): 16,  # 2 nodes x 8 whole H100s
    ("NVIDIA-H100-80GB-HBM3", "nvidia.com/mig-1g.10gb"): 28,  # 4 H100s x 7 slices
    ("NVIDIA-H100-80GB-HBM3", "nvidia.com/mig-3g.40gb"): 8,  # 4 H100s x 2 slices
    ("NVIDIA-A100-SXM4-40GB", "nvidia.com/gpu"): 8,
    ("NVIDIA-L4", "nvidia.com/gpu.shared"): 32,  # 8 L4s time-sliced x 4
    ("NVIDIA-A10", "nvidia.com/gpu.shared"): 16,  # 4 A10s under MPS x 4
}


def seed_demo() -> Cluster:
    """Create the demo cluster and its capacity; existing rows are left as they are."""
    cluster, _ = Cluster.objects.get_or_create(
        name=DEMO_CLUSTER,
        defaults={
            "display_name": "GPU EU 1 (demo, GitOps)",
            "region": "eu-west",
            "kubernetes_version": "1.31",
            "gpu_pool": "eu-gpu",
            "backend": Cluster.Backend.GITOPS,
            "gitops_repo_url": "",  # local repository under PORTAL_GITOPS_ROOT
            "gitops_branch": "main",
            "prometheus_url": "",  # no Prometheus in the demo: costs come from demo rollups
        },
    )
    for (product, resource), units in DEMO_CAPACITY.items():
        ClusterCapacity.objects.get_or_create(
            cluster=cluster,
            gpu_product=product,
            resource_name=resource,
            defaults={"allocatable": 0, "override": units},
        )
    settings.PORTAL_GITOPS_ROOT.mkdir(parents=True, exist_ok=True)
    return cluster
