"""Usage rollups pulled from Prometheus (hourly, and daily derived from them), the price book,
and the pull status of each cluster."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from clusters.models import Cluster
from portal.audit import audited
from tenants.models import Environment, GpuProfile, Tenant


class Source(models.TextChoices):
    PROMETHEUS = "prometheus", "Prometheus"
    DEMO = "demo", "Demo data"


class UsageFields(models.Model):
    """What one (cluster, namespace, workload, resource) used over a period.

    `unit_hours` are hours of the Kubernetes resource (MIG slices, shared replicas, GPUs);
    `gpu_hours` are the same in physical-GPU equivalents (unit_hours x profile gpu_fraction).
    `used_*` are those hours weighted by observed utilization. An empty namespace is capacity
    that no pod had (unallocated GPUs / MIG instances).
    """

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+")
    namespace = models.CharField(max_length=63, blank=True)
    workload = models.CharField(max_length=253, blank=True)
    resource_name = models.CharField(max_length=100)
    # Attribution resolved when the row is written (see docs/decisions/0005-cost-attribution.md).
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    environment = models.ForeignKey(
        Environment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    profile = models.ForeignKey(
        GpuProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    unit_hours = models.FloatField(default=0)
    gpu_hours = models.FloatField(default=0)
    used_unit_hours = models.FloatField(default=0)
    used_gpu_hours = models.FloatField(default=0)
    fb_peak_mib = models.FloatField(default=0)
    requests = models.FloatField(default=0, help_text="Inference requests served")
    runs = models.FloatField(default=0, db_default=0, help_text="Jobs (training runs) started")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.PROMETHEUS)

    class Meta:
        abstract = True


class HourlyUsage(UsageFields):
    """One hour [hour, hour+1h) of usage. Written only by the pull (upsert), never partial."""

    hour = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "namespace", "workload", "resource_name", "hour"],
                name="uniq_hourly_usage",
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "hour"]),
            models.Index(fields=["cluster", "hour"]),
            models.Index(
                fields=["namespace"],
                condition=models.Q(environment__isnull=True) & ~models.Q(namespace=""),
                name="hourly_unattributed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.namespace or '(unallocated)'} {self.resource_name} {self.hour:%Y-%m-%d %H}h"


class DailyUsage(UsageFields):
    """Sum of the hourly rows of one UTC day: what dashboards aggregate. Rebuilt from
    HourlyUsage for every day a pull touches, in the pull's transaction."""

    day = models.DateField()
    hours = models.PositiveSmallIntegerField(default=0, help_text="Hourly rows summed")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "namespace", "workload", "resource_name", "day"],
                name="uniq_daily_usage",
            )
        ]
        indexes = [
            models.Index(fields=["day", "tenant"]),
            models.Index(fields=["tenant", "day"]),
            models.Index(
                fields=["namespace"],
                condition=models.Q(environment__isnull=True) & ~models.Q(namespace=""),
                name="daily_unattributed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.namespace or '(unallocated)'} {self.resource_name} {self.day}"


@audited()
class PriceBookEntry(models.Model):
    """Hourly price of one GPU of a model, or of one unit of a profile (override), from a day on.

    Entries are never edited: a new price is a new entry with a later `effective_from`, so the
    cost of past days never changes.
    """

    gpu_model = models.CharField(max_length=100, help_text="GpuProfile.gpu_model")
    profile = models.ForeignKey(
        GpuProfile,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Price one unit of this profile instead of its fraction of the GPU price",
    )
    hourly_price = models.DecimalField(
        max_digits=12, decimal_places=4, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(max_length=3, default="USD")
    effective_from = models.DateField()
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["gpu_model", "effective_from"],
                condition=models.Q(profile__isnull=True),
                name="uniq_model_price_per_day",
            ),
            models.UniqueConstraint(
                fields=["profile", "effective_from"],
                condition=models.Q(profile__isnull=False),
                name="uniq_profile_price_per_day",
            ),
        ]
        ordering = ["gpu_model", "profile", "-effective_from"]

    def __str__(self) -> str:
        what = self.profile.name if self.profile_id else self.gpu_model
        return f"{what}: {self.hourly_price} {self.currency}/h from {self.effective_from}"


@audited()
class ClusterPullStatus(models.Model):
    """Where the usage pull of one cluster stands: hours before `pulled_until` are stored."""

    class State(models.TextChoices):
        NEVER = "never", "Never pulled"
        OK = "ok", "OK"
        FAILING = "failing", "Failing"

    cluster = models.OneToOneField(Cluster, on_delete=models.CASCADE, related_name="pull_status")
    state = models.CharField(max_length=16, choices=State.choices, default=State.NEVER)
    pulled_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    queries_last_pull = models.PositiveIntegerField(default=0)
    rows_last_pull = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.cluster.name}: {self.state}"
