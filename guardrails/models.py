"""Admission guardrails: the platform's settings (registry allow-list, baseline tiers), each
cluster's mode (audit first, then enforce), and the exceptions platform admins grant (a tenant
environment at Pod Security `baseline`, one workload exempt from one rule), each with a reason
and an end date. Every row is in the audit trail (pghistory).
"""

import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from clusters.models import Cluster
from tenants.models import Environment, Tenant
from workloads.models import Workload

from .rules import RULE_CHOICES


def audited(**kwargs):
    return pghistory.track(
        pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), **kwargs
    )


class PodSecurityLevel(models.TextChoices):
    RESTRICTED = "restricted", "restricted"
    BASELINE = "baseline", "baseline"


@audited()
class GuardrailSettings(models.Model):
    """The platform-wide settings (one row, pk=1), edited by platform admins."""

    allowed_registries = ArrayField(
        models.CharField(max_length=200),
        default=list,
        blank=True,
        help_text="Registry prefixes prod images must come from, e.g. registry.example.com/ml",
    )
    baseline_tiers = ArrayField(
        models.CharField(max_length=16),
        default=list,
        blank=True,
        help_text="Tenant tiers whose namespaces run at Pod Security 'baseline' (else restricted)",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "guardrail settings"


@audited()
class ClusterGuardrails(models.Model):
    """Per cluster: do the guardrails only report (audit: kubectl warnings and the API audit log)
    or block (enforce)? A cluster without a row is in audit mode."""

    class Mode(models.TextChoices):
        AUDIT = "audit", "Audit (report, never block)"
        ENFORCE = "enforce", "Enforce (deny violations)"

    cluster = models.OneToOneField(Cluster, on_delete=models.CASCADE, related_name="guardrails")
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.AUDIT)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.cluster.name}: {self.mode}"


class GrantedException(models.Model):
    """What both kinds of exception share: who granted it, why, until when, and its end."""

    reason = models.TextField(max_length=2000)
    expires_at = models.DateTimeField(help_text="The exception ends at this time (UTC).")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    # set by the expiry task once the lapse has been handed to the sync engine
    lapsed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @staticmethod
    def live_q(now) -> Q:
        return Q(revoked_at__isnull=True, expires_at__gt=now)


@audited()
class PodSecurityException(GrantedException):
    """One tenant environment's namespace runs at Pod Security `baseline` instead of
    `restricted` until `expires_at`."""

    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="pod_security_exceptions"
    )
    level = models.CharField(
        max_length=16, choices=PodSecurityLevel.choices, default=PodSecurityLevel.BASELINE
    )

    class Meta:
        ordering = ["-granted_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.environment.namespace} at {self.level} until {self.expires_at:%Y-%m-%d}"


@audited()
class RuleExemption(GrantedException):
    """One workload, in one environment, is exempt from one guardrail rule until `expires_at`."""

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="exemptions")
    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="rule_exemptions"
    )
    rule = models.CharField(max_length=32, choices=RULE_CHOICES)

    class Meta:
        ordering = ["-granted_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.workload.name} in {self.environment.namespace}: {self.rule}"

    @property
    def tenant(self) -> Tenant:
        return self.workload.tenant
