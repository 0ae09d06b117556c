"""Interface documents (one per workload, versioned, sections owned by roles), their alert
policies, and the on-call directory the documents refer to instead of copying contacts."""

from decimal import Decimal

import pgtrigger
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from portal.audit import audited
from workloads.models import Workload

dns1123_label = RegexValidator(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
    "Use lowercase letters, digits and '-', starting and ending with a letter or digit.",
)
metric_name = RegexValidator(
    r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", "Use a Prometheus metric name, e.g. model_accuracy_drift."
)
duration = RegexValidator(
    r"^[1-9][0-9]*(s|m|h|d)$", "Use a Prometheus duration such as 30s, 5m, 1h or 1d."
)


@audited()
class OnCallTeam(models.Model):
    """A team that can be paged: the directory SREs maintain."""

    name = models.CharField(max_length=63, unique=True, validators=[dns1123_label])
    display_name = models.CharField(max_length=100)
    rotation = models.CharField(max_length=200, blank=True, help_text="e.g. weekly, Mon 09:00")
    escalation = models.CharField(max_length=500, blank=True, help_text="Who is next, and when")
    pager_url = models.URLField(blank=True, help_text="Webhook that pages the rotation")
    email = models.EmailField(blank=True)
    chat_channel = models.CharField(max_length=100, blank=True, help_text="e.g. #ranking-oncall")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.display_name or self.name

    @property
    def contact(self) -> str:
        """How people reach the team. The pager URL is left out: it is Alertmanager's, and
        such URLs often carry an integration key."""
        return ", ".join(x for x in (self.email, self.chat_channel) if x)


class Signal(models.TextChoices):
    LATENCY = "latency", "P99 latency over SLO"
    AVAILABILITY = "availability", "Error budget burn"
    GPU_MEMORY = "gpu-memory", "GPU memory exhaustion"
    XID = "xid", "GPU Xid errors"
    ACCURACY_DRIFT = "accuracy-drift", "Accuracy drift"


@audited()
class InterfaceDocument(models.Model):
    """The current state of a workload's interface document. Every change goes through
    contracts.services, which appends an InterfaceDocumentVersion."""

    workload = models.OneToOneField(
        Workload, on_delete=models.CASCADE, related_name="interface_document"
    )
    # ownership (ML team), platform contact (platform admin), SRE contact (SRE)
    owner_team = models.ForeignKey(
        OnCallTeam, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    platform_contact = models.ForeignKey(
        OnCallTeam, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sre_contact = models.ForeignKey(
        OnCallTeam, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # model (ML team)
    model_name = models.CharField(max_length=200, blank=True)
    accuracy_metric = models.CharField(max_length=200, blank=True, validators=[metric_name])
    accuracy_drift_pct = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )
    # SLOs (SRE)
    p99_latency_ms = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(600_000)]
    )
    availability_pct = models.DecimalField(
        max_digits=6,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("50")), MaxValueValidator(Decimal("99.999"))],
    )
    max_cold_start_s = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(3600)]
    )
    slo_window_days = models.PositiveSmallIntegerField(
        default=28,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text="The SLO window: attainment and error budget are measured over it.",
    )
    # rollback (SRE or the ML team)
    rollback_trigger = models.CharField(max_length=500, blank=True)
    rollback_owner = models.ForeignKey(
        OnCallTeam, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # production readiness (SRE); valid only for the version it was given on
    version = models.PositiveIntegerField(default=0)
    signed_off_version = models.PositiveIntegerField(null=True, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"interface document of {self.workload}"

    @property
    def signed_off(self) -> bool:
        return self.signed_off_version is not None and self.signed_off_version == self.version


@audited()
class AlertPolicy(models.Model):
    """One row of the document's alert table: which signal pages which team, when."""

    document = models.ForeignKey(InterfaceDocument, on_delete=models.CASCADE, related_name="alerts")
    signal = models.CharField(max_length=16, choices=Signal.choices)
    threshold = models.CharField(
        max_length=50, blank=True, help_text="Empty: from the SLO (latency, availability)"
    )
    window = models.CharField(max_length=8, default="5m", validators=[duration])
    paged_team = models.ForeignKey(OnCallTeam, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["document", "signal"]
        constraints = [
            models.UniqueConstraint(fields=["document", "signal"], name="uniq_alert_signal")
        ]

    def __str__(self) -> str:
        return f"{self.signal} -> {self.paged_team.name}"


@audited()
@pgtrigger.register(
    pgtrigger.Protect(name="interface_document_version_append_only", operation=pgtrigger.Update)
)
class InterfaceDocumentVersion(models.Model):
    """An immutable snapshot of the whole document after one section edit."""

    document = models.ForeignKey(
        InterfaceDocument, on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField()
    section = models.CharField(max_length=32)
    content = models.JSONField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="uniq_document_version")
        ]

    def __str__(self) -> str:
        return f"{self.document.workload} v{self.number}"


# --- measured SLOs ----------------------------------------------------------------------------


class SliDaily(models.Model):
    """One UTC day of a workload's SLIs in one environment, pulled from the cluster's
    Prometheus with the same selectors as its alert rules. Derived data (re-pulled, never
    edited), so not audit-tracked; a day without samples has no row."""

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="sli_days")
    environment = models.ForeignKey(
        "tenants.Environment", on_delete=models.CASCADE, related_name="sli_days"
    )
    day = models.DateField()
    requests = models.FloatField(default=0)
    errors = models.FloatField(default=0)
    # cumulative request-duration histogram increases of the day: {"0.1": n, ..., "+Inf": n}
    latency_buckets = models.JSONField(default=dict, blank=True)
    complete = models.BooleanField(default=True, help_text="False for today, still filling")
    pulled_at = models.DateTimeField()

    class Meta:
        ordering = ["workload", "environment", "day"]
        constraints = [
            models.UniqueConstraint(
                fields=["workload", "environment", "day"], name="uniq_sli_daily"
            )
        ]

    def __str__(self) -> str:
        return f"{self.workload} {self.environment.name} {self.day}"


class SloSnapshot(models.Model):
    """The latest pull of one workload environment: the burn rates the alerts compute now, the
    last 24 h, and whether the pull itself worked (a broken SLI is a finding)."""

    class State(models.TextChoices):
        OK = "ok", "Measured"
        NO_DATA = "no-data", "No data"
        FAILING = "failing", "Pull failing"

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="slo_snapshots")
    environment = models.ForeignKey(
        "tenants.Environment", on_delete=models.CASCADE, related_name="slo_snapshots"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.NO_DATA)
    as_of = models.DateTimeField(null=True, blank=True)
    error_ratio_1h = models.FloatField(null=True, blank=True)
    error_ratio_6h = models.FloatField(null=True, blank=True)
    error_ratio_24h = models.FloatField(null=True, blank=True)
    p99_latency_24h_ms = models.FloatField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workload", "environment"], name="uniq_slo_snapshot")
        ]

    def __str__(self) -> str:
        return f"{self.workload} {self.environment.name}: {self.state}"


@audited()
class AlertSilence(models.Model):
    """A silence the portal created in a cluster's Alertmanager (e.g. for a rollout window)."""

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="silences")
    environment = models.ForeignKey(
        "tenants.Environment", on_delete=models.CASCADE, related_name="+"
    )
    silence_id = models.CharField(max_length=64)
    matchers = models.JSONField(default=dict)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    comment = models.CharField(max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"silence {self.silence_id} of {self.workload}"


@audited()
class SloGateOverride(models.Model):
    """An SRE's decision to let a prod promotion through although the staging SLO was below
    target: valid for one revision, for a day."""

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="slo_overrides")
    revision_number = models.PositiveIntegerField()
    reason = models.CharField(max_length=500)
    evidence = models.CharField(max_length=500, help_text="the gate's numbers when overridden")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"SLO gate override of {self.workload} r{self.revision_number}"
