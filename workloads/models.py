"""Workloads from paved-road templates: immutable revisions, the revision each environment runs,
and the record of every promotion and rollback."""

import math
import re

import pgtrigger
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from portal.audit import audited
from tenants.models import Environment, GpuProfile, Tenant, dns1123_label

DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
PINNED_IMAGE_RE = re.compile(r"@sha256:[0-9a-f]{64}$")

digest_validator = RegexValidator(
    DIGEST_RE.pattern, "A digest is 'sha256:' followed by 64 lowercase hex characters."
)
# Five cron fields, each made of digits, '*', '/', ',', '-' or names like MON/JAN.
cron_validator = RegexValidator(
    r"^(@(hourly|daily|weekly|monthly|yearly))$|^([\w*/,\-?]+\s+){4}[\w*/,\-?]+$",
    "Use a five-field cron schedule, e.g. '0 2 * * *', or @hourly/@daily/@weekly.",
)

WORKLOAD_NAME_MAX = 40  # leaves room for "-canary" / "-r123" / "-checkpoints" suffixes


def canary_replicas(stable_replicas: int, percent: int) -> int:
    """A canary runs `percent` % of the stable replicas, at least one."""
    if not percent:
        return 0
    return max(1, math.ceil(stable_replicas * percent / 100))


class Template(models.TextChoices):
    INFERENCE = "inference", "Inference deployment"
    TRAINING = "training", "Training job"
    BATCH = "batch", "Batch pipeline"


@audited()
class Workload(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="workloads")
    name = models.CharField(max_length=WORKLOAD_NAME_MAX, validators=[dns1123_label])
    template = models.CharField(max_length=16, choices=Template.choices)
    description = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="uniq_workload_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.tenant.slug}/{self.name}"


@audited()
@pgtrigger.register(
    pgtrigger.Protect(name="workload_revision_append_only", operation=pgtrigger.Update)
)
class WorkloadRevision(models.Model):
    """The spec of a workload at one point. Never updated: a change creates the next revision."""

    class ScalingMetric(models.TextChoices):
        NONE = "none", "Fixed replicas"
        QUEUE_DEPTH = "queue-depth", "Queue depth"
        LATENCY = "latency", "P99 latency (ms)"

    class Autoscaler(models.TextChoices):
        KEDA = "keda", "KEDA ScaledObject"
        HPA = "hpa", "HorizontalPodAutoscaler (custom metric)"

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    image = models.CharField(
        max_length=300, help_text="Image reference, e.g. registry.example.com/team/server:1.4"
    )
    image_digest = models.CharField(
        max_length=71, blank=True, validators=[digest_validator], help_text="sha256:<64 hex>"
    )
    model_uri = models.CharField(max_length=500, blank=True, help_text="e.g. s3://models/r/1.4")
    model_digest = models.CharField(max_length=71, blank=True, validators=[digest_validator])
    model_memory_gb = models.PositiveIntegerField(
        default=0, help_text="Model size in GPU memory per replica"
    )
    profile = models.ForeignKey(GpuProfile, on_delete=models.PROTECT, related_name="+")
    gpus_per_replica = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(64)]
    )
    replicas = models.PositiveIntegerField(default=1, validators=[MaxValueValidator(1000)])
    min_replicas = models.PositiveIntegerField(default=1, validators=[MaxValueValidator(1000)])
    max_replicas = models.PositiveIntegerField(default=1, validators=[MaxValueValidator(1000)])
    scaling_metric = models.CharField(
        max_length=16, choices=ScalingMetric.choices, default=ScalingMetric.NONE
    )
    scaling_target = models.PositiveIntegerField(
        default=0, help_text="Queue depth per replica, or P99 latency in ms"
    )
    autoscaler = models.CharField(max_length=8, choices=Autoscaler.choices, default=Autoscaler.KEDA)
    container_port = models.PositiveIntegerField(
        default=8080, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    cold_start_budget_s = models.PositiveIntegerField(
        default=300, validators=[MinValueValidator(10), MaxValueValidator(3600)]
    )
    checkpoint_volume_gi = models.PositiveIntegerField(
        default=0, validators=[MaxValueValidator(100_000)]
    )
    schedule = models.CharField(max_length=100, blank=True, validators=[cron_validator])
    ttl_seconds_after_finished = models.PositiveIntegerField(default=86400)
    backoff_limit = models.PositiveIntegerField(default=3, validators=[MaxValueValidator(100)])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workload", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["workload", "number"], name="uniq_revision_number"),
            models.CheckConstraint(
                condition=Q(min_replicas__lte=models.F("max_replicas")),
                name="revision_min_le_max_replicas",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workload} r{self.number}"

    @property
    def image_ref(self) -> str:
        """The reference the cluster pulls: the digest wins over the tag when both are given."""
        if self.image_digest and "@" not in self.image:
            return f"{self.image}@{self.image_digest}"
        return self.image

    @property
    def is_pinned(self) -> bool:
        return bool(PINNED_IMAGE_RE.search(self.image_ref))

    @property
    def autoscaled(self) -> bool:
        return (
            self.workload.template == Template.INFERENCE
            and self.scaling_metric != self.ScalingMetric.NONE
        )

    @property
    def peak_replicas(self) -> int:
        """Replicas it may run: an autoscaled inference deployment may grow to max replicas,
        so quota must cover that (or the extra pods would only sit pending)."""
        if self.autoscaled:
            return max(self.replicas, self.max_replicas)
        return self.replicas

    @property
    def gpu_units(self) -> int:
        """Units of the profile's resource this revision may hold at its peak."""
        return self.peak_replicas * self.gpus_per_replica

    def spec_fields(self) -> dict:
        return {f: getattr(self, f) for f in REVISION_SPEC_FIELDS}


REVISION_SPEC_FIELDS = [
    "image",
    "image_digest",
    "model_uri",
    "model_digest",
    "model_memory_gb",
    "profile",
    "gpus_per_replica",
    "replicas",
    "min_replicas",
    "max_replicas",
    "scaling_metric",
    "scaling_target",
    "autoscaler",
    "container_port",
    "cold_start_budget_s",
    "checkpoint_volume_gi",
    "schedule",
    "ttl_seconds_after_finished",
    "backoff_limit",
]


@audited()
class WorkloadEnvironment(models.Model):
    """Which revision of a workload runs in one environment (and its optional canary)."""

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="deployments")
    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="workload_deployments"
    )
    current_revision = models.ForeignKey(
        WorkloadRevision, on_delete=models.PROTECT, related_name="+"
    )
    previous_revision = models.ForeignKey(
        WorkloadRevision, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    canary_revision = models.ForeignKey(
        WorkloadRevision, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    canary_percent = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(50)])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workload", "environment"], name="uniq_workload_environment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.workload} in {self.environment.name}"

    @property
    def canary_replicas(self) -> int:
        if not (self.canary_revision_id and self.canary_percent):
            return 0
        return canary_replicas(self.current_revision.replicas, self.canary_percent)

    def canary_units(self, profile_id: int | None = None) -> int:
        """GPU units the canary holds (only those of `profile_id` when given)."""
        canary = self.canary_revision if self.canary_revision_id else None
        if canary is None or (profile_id is not None and canary.profile_id != profile_id):
            return 0
        return self.canary_replicas * canary.gpus_per_replica


@audited()
class PromotionRecord(models.Model):
    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="promotions")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    from_revision = models.ForeignKey(
        WorkloadRevision, null=True, on_delete=models.PROTECT, related_name="+"
    )
    to_revision = models.ForeignKey(WorkloadRevision, on_delete=models.PROTECT, related_name="+")
    gate_results = models.JSONField(default=list)
    blocked = models.BooleanField(default=False, help_text="A gate refused; nothing changed")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"promotion of {self.workload_id} to {self.environment_id}"


@audited()
class RollbackRecord(models.Model):
    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="rollbacks")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    from_revision = models.ForeignKey(WorkloadRevision, on_delete=models.PROTECT, related_name="+")
    to_revision = models.ForeignKey(WorkloadRevision, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"rollback of {self.workload_id} in {self.environment_id}"
