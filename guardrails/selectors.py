"""Reads of the guardrails: the platform settings, each cluster's mode, the live exceptions, the
rows the render functions take, and what the pages show. Constant query counts per page."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from clusters.models import Cluster
from clusters.registry import LOCAL_QUEUE_NAME
from tenants.models import Environment, QuotaGrant, Tenant

from .models import (
    ClusterGuardrails,
    GrantedException,
    GuardrailSettings,
    PodSecurityException,
    PodSecurityLevel,
    RuleExemption,
)
from .policies import AUDIT, ExemptionRow, NamespaceRow, supports_policies

SETTINGS_PK = 1


def default_registries() -> list[str]:
    return list(getattr(settings, "PORTAL_GUARDRAILS_ALLOWED_REGISTRIES", []))


def guardrail_settings() -> GuardrailSettings:
    """The saved settings, or (before an admin saved any) the defaults, unsaved."""
    found = GuardrailSettings.objects.filter(pk=SETTINGS_PK).first()
    if found is None:
        found = GuardrailSettings(pk=SETTINGS_PK, allowed_registries=default_registries())
    return found


def cluster_mode(cluster: Cluster) -> str:
    row = ClusterGuardrails.objects.filter(cluster=cluster).first()
    return row.mode if row else AUDIT


def _mode_of(cluster: Cluster) -> str:
    """For a cluster loaded with select_related('guardrails')."""
    try:
        return cluster.guardrails.mode
    except ClusterGuardrails.DoesNotExist:
        return AUDIT


def pod_security_levels(
    tenant: Tenant, envs: list[Environment], baseline_tiers: list[str] | None = None
) -> dict[int, str]:
    """restricted, or baseline for the tenant's tier or a live exception, per environment pk."""
    if baseline_tiers is None:
        baseline_tiers = guardrail_settings().baseline_tiers
    if tenant.tier in baseline_tiers:
        return {env.pk: PodSecurityLevel.BASELINE for env in envs}
    excepted = set(
        PodSecurityException.objects.filter(
            GrantedException.live_q(timezone.now()), environment__in=envs
        ).values_list("environment_id", flat=True)
    )
    return {
        env.pk: PodSecurityLevel.BASELINE if env.pk in excepted else PodSecurityLevel.RESTRICTED
        for env in envs
    }


def namespace_rows(tenant_id: int) -> list[NamespaceRow]:
    """One row per environment of an active tenant (none for pending or archived ones)."""
    tenant = Tenant.objects.filter(pk=tenant_id, status=Tenant.Status.ACTIVE).first()
    if tenant is None:
        return []
    envs = list(
        Environment.objects.filter(tenant=tenant)
        .select_related("cluster__guardrails")
        .order_by("name")
    )
    if not envs:
        return []
    config = guardrail_settings()
    levels = pod_security_levels(tenant, envs, config.baseline_tiers)
    grants: dict[int, set[str]] = defaultdict(set)
    for env_id, resource in QuotaGrant.objects.filter(
        tenant=tenant, revoked_at__isnull=True
    ).values_list("environment_id", "profile__resource_name"):
        grants[env_id].add(resource)
    exemptions: dict[int, list[ExemptionRow]] = defaultdict(list)
    for env_id, rule, workload, expires_at in RuleExemption.objects.filter(
        GrantedException.live_q(timezone.now()), environment__in=envs
    ).values_list("environment_id", "rule", "workload__name", "expires_at"):
        exemptions[env_id].append(ExemptionRow(rule, workload, expires_at))
    return [
        NamespaceRow(
            tenant=tenant.slug,
            cost_center=tenant.cost_center,
            environment=env.name,
            namespace=env.namespace,
            cluster_id=env.cluster_id,
            kubernetes_version=env.cluster.kubernetes_version,
            mode=_mode_of(env.cluster),
            pod_security_level=levels[env.pk],
            local_queue=LOCAL_QUEUE_NAME,
            granted_resources=tuple(sorted(grants[env.pk])),
            allowed_registries=tuple(config.allowed_registries),
            exemptions=tuple(sorted(exemptions[env.pk], key=lambda e: (e.rule, e.workload))),
        )
        for env in envs
    ]


# --- pages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterStatus:
    cluster: Cluster
    mode: str
    enforced: bool  # the cluster's Kubernetes serves ValidatingAdmissionPolicy v1

    @property
    def mode_label(self) -> str:
        return ClusterGuardrails.Mode(self.mode).label


def cluster_status(cluster: Cluster) -> ClusterStatus:
    return ClusterStatus(
        cluster, cluster_mode(cluster), supports_policies(cluster.kubernetes_version)
    )


def cluster_statuses() -> list[ClusterStatus]:
    return [
        ClusterStatus(c, _mode_of(c), supports_policies(c.kubernetes_version))
        for c in Cluster.objects.select_related("guardrails").order_by("name")
    ]


def live_pod_security_exceptions():
    return (
        PodSecurityException.objects.filter(GrantedException.live_q(timezone.now()))
        .select_related("environment__tenant", "granted_by")
        .order_by("expires_at", "pk")
    )


def live_rule_exemptions():
    return (
        RuleExemption.objects.filter(GrantedException.live_q(timezone.now()))
        .select_related("environment__tenant", "workload", "granted_by")
        .order_by("expires_at", "pk")
    )


def lapsed_exception_ids(now=None) -> dict[str, list[int]]:
    """Exceptions past their end whose lapse was not yet handed to the sync engine."""
    now = now or timezone.now()
    due = dict(expires_at__lte=now, lapsed_at__isnull=True, revoked_at__isnull=True)
    return {
        "pod_security": list(
            PodSecurityException.objects.filter(**due).values_list("pk", flat=True)
        ),
        "rules": list(RuleExemption.objects.filter(**due).values_list("pk", flat=True)),
    }


@dataclass(frozen=True)
class EnvironmentGuardrails:
    """What a tenant's team sees of the guardrails of one of its namespaces."""

    environment: Environment
    mode: str
    enforced: bool
    pod_security_level: str
    exemptions: tuple

    @property
    def mode_label(self) -> str:
        return ClusterGuardrails.Mode(self.mode).label


def tenant_guardrails(tenant: Tenant) -> list[EnvironmentGuardrails]:
    """Per environment: the cluster's mode, the Pod Security level and the live exemptions."""
    envs = list(
        Environment.objects.filter(tenant=tenant)
        .select_related("cluster__guardrails")
        .order_by("name")
    )
    levels = pod_security_levels(tenant, envs)
    exemptions: dict[int, list[RuleExemption]] = defaultdict(list)
    for exemption in RuleExemption.objects.filter(
        GrantedException.live_q(timezone.now()), environment__in=envs
    ).select_related("workload"):
        exemptions[exemption.environment_id].append(exemption)
    return [
        EnvironmentGuardrails(
            environment=env,
            mode=_mode_of(env.cluster),
            enforced=supports_policies(env.cluster.kubernetes_version),
            pod_security_level=levels[env.pk],
            exemptions=tuple(exemptions[env.pk]),
        )
        for env in envs
    ]
