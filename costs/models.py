"""Usage rollups pulled from Prometheus (hourly, and daily derived from them), the price book,
and the pull status of each cluster."""

from decimal import Decimal

import pghistory
import pgtrigger
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
    # The device the pods ran on (DCGM modelName, else the node's nvidia.com/gpu.product label,
    # normalized to the label's spelling): profiles are matched by (resource_name, gpu_product).
    # A product with no profile is stored with profile NULL and flagged as unpriced.
    gpu_product = models.CharField(max_length=100, blank=True, default="")
    # What was true when the hours were first stored (docs/decisions/0005): the GPU model priced
    # and the exact share of a GPU one unit is. Editing the profile later never reprices them.
    gpu_model = models.CharField(max_length=100, blank=True, default="")
    gpu_fraction = models.DecimalField(
        max_digits=20, decimal_places=18, null=True, blank=True,
        help_text="Exact share of a GPU per unit (1/7 to 18 decimals); NULL when unpriced",
    )  # fmt: skip
    # Showback: unit-hours above the namespace's guaranteed quota (borrowed from idle capacity),
    # and the price factor burst hours were recorded with (COSTS_BURST_PRICE_FACTOR then).
    burst_unit_hours = models.FloatField(default=0, db_default=0)
    burst_factor = models.DecimalField(
        max_digits=6, decimal_places=4, default=Decimal(1), db_default=Decimal(1)
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
                fields=["cluster", "namespace", "workload", "resource_name", "gpu_product", "hour"],
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
            # one row per day and key, split when the recorded terms changed during the day
            models.UniqueConstraint(
                fields=[
                    "cluster",
                    "namespace",
                    "workload",
                    "resource_name",
                    "gpu_product",
                    "profile",
                    "gpu_model",
                    "gpu_fraction",
                    "burst_factor",
                    "day",
                ],
                name="uniq_daily_usage",
                nulls_distinct=False,
            )  # fmt: skip
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


def default_thresholds() -> list[int]:
    return [50, 80, 100]


@audited()
class Budget(models.Model):
    """A monthly budget of one tenant or one cost center, set by finance. Alerts go out when
    month-to-date cost reaches each threshold (percent) and when the month-end forecast
    crosses the amount, once each per month."""

    tenant = models.OneToOneField(
        Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="budget"
    )
    cost_center = models.CharField(max_length=64, blank=True, default="")
    monthly_amount = models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(max_length=3, default="USD")
    thresholds = models.JSONField(default=default_thresholds, help_text="Percent, e.g. [50, 80]")
    alert_on_forecast = models.BooleanField(default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(tenant__isnull=False) & models.Q(cost_center=""))
                | (models.Q(tenant__isnull=True) & ~models.Q(cost_center="")),
                name="budget_one_scope",
            ),
            models.UniqueConstraint(
                fields=["cost_center"],
                condition=~models.Q(cost_center=""),
                name="uniq_cost_center_budget",
            ),
        ]

    def __str__(self) -> str:
        return f"budget of {self.scope}: {self.monthly_amount} {self.currency}/month"

    @property
    def scope(self) -> str:
        return f"tenant {self.tenant.slug}" if self.tenant_id else f"cost center {self.cost_center}"


@pghistory.track(pghistory.InsertEvent())
class BudgetAlert(models.Model):
    """One alert sent: the unique key makes each threshold (and the forecast) once a month."""

    class Kind(models.TextChoices):
        THRESHOLD = "threshold", "Threshold reached"
        FORECAST = "forecast", "Forecast crosses the budget"

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="alerts")
    month = models.DateField(help_text="First day of the month")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    threshold = models.PositiveSmallIntegerField(help_text="Percent (100 for the forecast)")
    spent = models.DecimalField(max_digits=14, decimal_places=2)
    forecast = models.DecimalField(max_digits=14, decimal_places=2)
    budget_amount = models.DecimalField(max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["budget", "month", "kind", "threshold"], name="uniq_budget_alert"
            )
        ]

    def __str__(self) -> str:
        return f"{self.budget.scope} {self.kind} {self.threshold}% {self.month:%Y-%m}"


@pghistory.track(pghistory.InsertEvent())
class MonthClose(models.Model):
    """Finance closed a month: its chargeback statements are stored lines from then on, and a
    later change to its usage is an adjustment line in the next month that is closed."""

    month = models.DateField(unique=True, help_text="First day of the month")
    currency = models.CharField(max_length=3)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month"]
        # a closed month is never reopened (its closer's user row may still be deleted)
        triggers = [pgtrigger.Protect(name="month_close_not_reopened", operation=pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} closed"


class StatementLine(models.Model):
    """One line of a closed month's chargeback statement of one cost center. Written once when
    the month is closed, never updated or deleted (a database trigger refuses it)."""

    class Kind(models.TextChoices):
        USAGE = "usage", "GPU usage"
        SHARED = "shared", "Share of idle capacity"
        IDLE = "idle", "Idle capacity (not distributed)"
        ADJUSTMENT = "adjustment", "Adjustment of a closed month"

    close = models.ForeignKey(MonthClose, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField()
    cost_center = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    for_month = models.DateField(help_text="The month the usage is from (adjustments: earlier)")
    tenant = models.CharField(max_length=63, blank=True)
    environment = models.CharField(max_length=32, blank=True)
    cluster = models.CharField(max_length=63, blank=True)
    gpu_model = models.CharField(max_length=100, blank=True)
    gpu_product = models.CharField(max_length=100, blank=True)
    resource_name = models.CharField(max_length=100, blank=True)
    unit_hours = models.DecimalField(max_digits=18, decimal_places=4)
    gpu_hours = models.DecimalField(max_digits=18, decimal_places=4)
    burst_gpu_hours = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    used_gpu_hours = models.DecimalField(max_digits=18, decimal_places=4)
    cost_allocated = models.DecimalField(max_digits=14, decimal_places=2)
    cost_idle = models.DecimalField(max_digits=14, decimal_places=2)
    cost = models.DecimalField(max_digits=14, decimal_places=2, help_text="Charged")

    class Meta:
        ordering = ["close", "cost_center", "position"]
        constraints = [
            models.UniqueConstraint(fields=["close", "position"], name="uniq_statement_position")
        ]
        indexes = [models.Index(fields=["cost_center", "close"])]
        triggers = [
            pgtrigger.Protect(
                name="statement_line_immutable", operation=pgtrigger.Update | pgtrigger.Delete
            )
        ]

    def __str__(self) -> str:
        return f"{self.close.month:%Y-%m} {self.cost_center} {self.kind} {self.tenant} {self.cost}"
