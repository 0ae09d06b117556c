"""The Cluster registry: where tenants land, how to reach each cluster, and its GPU capacity.

`clusters` imports no domain app: capacity is keyed by the node label value
(`nvidia.com/gpu.product`) and the Kubernetes resource name, which GPU profiles also carry.
"""

from django.core.validators import RegexValidator
from django.db import models

from portal.audit import audited

from .crypto import EncryptedTextField

dns_label = RegexValidator(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
    "Use lowercase letters, digits and '-', starting and ending with a letter or digit.",
)


@audited(
    exclude=[
        "api_token",
        "ca_cert",
        "kubeconfig",
        "prometheus_token",
        "gitops_credentials",
        "alertmanager_token",
    ],  # fmt: skip
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

    # firing alerts and silences (contracts reads them), and where the dashboards are
    alertmanager_url = models.URLField(blank=True)
    alertmanager_token = EncryptedTextField(blank=True, default="")
    grafana_url = models.URLField(blank=True, help_text="Grafana base URL: dashboard links")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.display_name or self.name

    @property
    def has_credentials(self) -> bool:
        return bool(self.api_token or self.kubeconfig)


@audited()
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


@audited()
class SyncRun(models.Model):
    """One attempt to bring one tenant's objects on one cluster to its desired state.

    `tenant_id` is a plain integer: clusters imports no domain app (design.md).
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        NOOP = "noop", "Unchanged (no writes)"
        RETRYING = "retrying", "Failed, will retry"
        FAILED = "failed", "Failed"
        WAITING = "waiting", "Waiting for confirmation"
        BLOCKED = "blocked", "Blocked: object not ours"
        CONFLICT = "conflict", "Conflict with another field manager"

    class Trigger(models.TextChoices):
        CHANGE = "change", "Desired state changed"
        RECONCILE = "reconcile", "Reconcile"
        FORCE = "force", "Forced by an admin"
        DRIFT = "drift", "Drift repair"
        DELETE = "delete", "Confirmed deletion"

    DONE = {
        Status.SUCCEEDED,
        Status.NOOP,
        Status.FAILED,
        Status.WAITING,
        Status.RETRYING,
        Status.BLOCKED,
        Status.CONFLICT,
    }

    tenant_id = models.BigIntegerField(db_index=True)
    tenant_slug = models.CharField(max_length=63)
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="sync_runs")
    generation = models.PositiveBigIntegerField(default=0)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.CHANGE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    message = models.TextField(blank=True)
    desired_hash = models.CharField(max_length=64, blank=True)
    object_count = models.PositiveIntegerField(default=0)
    actor = models.CharField(max_length=150, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["tenant_id", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.tenant_slug}@{self.cluster_id} g{self.generation}: {self.status}"

    @property
    def is_done(self) -> bool:
        return self.status in self.DONE


class SyncObjectResult(models.Model):
    """What happened to one object in a run. Append-only log rows: not audit-tracked (the run
    and the tenant generation they belong to are)."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        CONFIGURED = "configured", "Configured"
        UNCHANGED = "unchanged", "Unchanged"
        PRUNED = "pruned", "Pruned"
        FAILED = "failed", "Failed"
        DRIFTED = "drifted", "Drifted (re-applied)"
        BLOCKED = "blocked", "Blocked (not applied)"
        CONFLICT = "conflict", "Conflict (another manager owns a field)"
        ADOPTED = "adopted", "Adopted"

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="results")
    api_version = models.CharField(max_length=100)
    kind = models.CharField(max_length=100)
    namespace = models.CharField(max_length=63, blank=True)
    name = models.CharField(max_length=253)
    action = models.CharField(max_length=16, choices=Action.choices)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}: {self.action}"


@audited()
class SyncState(models.Model):
    """Per (tenant, cluster): hash and keys of the last successful sync, and drift findings."""

    tenant_id = models.BigIntegerField()
    tenant_slug = models.CharField(max_length=63)
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="sync_states")
    last_success_hash = models.CharField(max_length=64, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_success_generation = models.PositiveBigIntegerField(default=0)
    applied_keys = models.JSONField(default=list, blank=True)
    # object key -> content hash of what the last successful sync applied: an object whose
    # desired content is unchanged and whose live copy still matches is not written again
    applied_hashes = models.JSONField(default=dict, blank=True)
    drift_checked_at = models.DateTimeField(null=True, blank=True)
    drifted_objects = models.JSONField(default=list, blank=True)
    drift_error = models.TextField(blank=True)
    # live objects the portal wanted to write but did not create (ownership.ForeignObject)
    blocked_objects = models.JSONField(default=list, blank=True)
    # objects whose apply met fields owned by another field manager: {kind, namespace, name,
    # message, conflicts: [{field, manager}]}
    conflicts = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "cluster"], name="uniq_sync_state")
        ]

    def __str__(self) -> str:
        return f"{self.tenant_slug}@{self.cluster_id}"


@audited()
class NamespaceDeletion(models.Model):
    """An admin's explicit confirmation that an archived tenant's namespaces may be deleted."""

    tenant_id = models.BigIntegerField(unique=True)
    tenant_slug = models.CharField(max_length=63)
    confirmed_by = models.ForeignKey(
        "auth.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"delete namespaces of {self.tenant_slug}"


@audited()
class ObjectAdoption(models.Model):
    """A platform admin's confirmed decision that the portal may take over one live object it
    did not create. Bound to the object's uid: a re-created object needs a new decision."""

    tenant_id = models.BigIntegerField(db_index=True)
    tenant_slug = models.CharField(max_length=63)
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="adoptions")
    api_version = models.CharField(max_length=100)
    kind = models.CharField(max_length=100)
    namespace = models.CharField(max_length=63, blank=True)
    name = models.CharField(max_length=253)
    uid = models.CharField(max_length=64)
    # what the preview showed when the admin confirmed: {field: [live, desired]}
    diff = models.JSONField(default=dict, blank=True)
    confirmed_by = models.ForeignKey(
        "auth.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-confirmed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "cluster", "api_version", "kind", "namespace", "name", "uid"],
                name="uniq_object_adoption",
            )
        ]

    def __str__(self) -> str:
        return f"adopt {self.kind} {self.namespace}/{self.name} for {self.tenant_slug}"

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.api_version, self.kind, self.namespace, self.name)
