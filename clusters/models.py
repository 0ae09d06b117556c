"""The Cluster registry: where tenants land, how to reach each cluster, and its GPU capacity.

`clusters` imports no domain app: capacity is keyed by the node label value
(`nvidia.com/gpu.product`) and the Kubernetes resource name, which GPU profiles also carry.
"""

import pghistory
from django.core.validators import RegexValidator
from django.db import models

from .crypto import EncryptedTextField

dns_label = RegexValidator(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
    "Use lowercase letters, digits and '-', starting and ending with a letter or digit.",
)


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    exclude=["api_token", "ca_cert", "kubeconfig", "prometheus_token", "gitops_credentials"],
)
class Cluster(models.Model):
    class Backend(models.TextChoices):
        KUBERNETES = "kubernetes", "Kubernetes (server-side apply)"
        GITOPS = "gitops", "GitOps repository"

    name = models.SlugField(max_length=63, unique=True, validators=[dns_label])
    display_name = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=63, blank=True)
    kubernetes_version = models.CharField(
        max_length=8, default="1.31", help_text="Minor version manifests are validated against."
    )
    gpu_pool = models.SlugField(
        max_length=63, default="default", help_text="Kueue cohort shared by this cluster's queues."
    )
    backend = models.CharField(max_length=16, choices=Backend.choices, default=Backend.KUBERNETES)
    is_active = models.BooleanField(default=True)

    # kubernetes backend; credentials are encrypted at rest and never rendered back.
    api_server_url = models.URLField(blank=True)
    api_token = EncryptedTextField(blank=True, default="")
    ca_cert = EncryptedTextField(blank=True, default="")
    kubeconfig = EncryptedTextField(blank=True, default="")
    verify_tls = models.BooleanField(default=True)

    # gitops backend: a remote URL, or empty for a local repository under PORTAL_GITOPS_ROOT.
    gitops_repo_url = models.CharField(max_length=500, blank=True)
    gitops_branch = models.CharField(max_length=100, default="main")
    gitops_credentials = EncryptedTextField(blank=True, default="")

    # usage and cost pulls
    prometheus_url = models.URLField(blank=True)
    prometheus_token = EncryptedTextField(blank=True, default="")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.display_name or self.name

    @property
    def has_credentials(self) -> bool:
        return bool(self.api_token or self.kubeconfig)


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ClusterCapacity(models.Model):
    """Allocatable units of one GPU resource on one GPU product, read from node allocatable.

    `override` lets an admin state capacity for a GitOps cluster the portal cannot read.
    """

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="capacities")
    gpu_product = models.CharField(max_length=100, help_text="nvidia.com/gpu.product node label")
    resource_name = models.CharField(max_length=100, help_text="e.g. nvidia.com/mig-1g.10gb")
    allocatable = models.PositiveIntegerField(default=0)
    override = models.PositiveIntegerField(null=True, blank=True)
    observed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "gpu_product", "resource_name"], name="uniq_cluster_capacity"
            )
        ]
        ordering = ["cluster", "gpu_product", "resource_name"]

    def __str__(self) -> str:
        return f"{self.cluster.name}: {self.gpu_product} {self.resource_name}"

    @property
    def capacity(self) -> int:
        return self.override if self.override is not None else self.allocatable
