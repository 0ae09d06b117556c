"""Writes of the guardrails, each one transaction that the audit trail records (pghistory) and
that hands the new desired state to the sync engine (tenants' outbox) on commit.

Only platform admins change guardrails: settings, a cluster's mode, exceptions.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pghistory
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from clusters.models import Cluster
from portal import roles
from portal.domain_errors import ConflictError, DomainError
from tenants.models import Environment, Tenant, Tier
from tenants.outbox import bump_desired_generation
from workloads.models import Workload

from . import selectors
from .models import (
    ClusterGuardrails,
    GrantedException,
    GuardrailSettings,
    PodSecurityException,
    PodSecurityLevel,
    RuleExemption,
)
from .rules import RULES_BY_ID

# host[:port][/path], lowercase, no scheme, tag or digest: a registry (and repository) prefix
REGISTRY_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9][-a-z0-9._/]*)?$")
MAX_EXCEPTION_DAYS = 180


def _require_admin(actor) -> None:
    if not roles.is_platform_admin(actor):
        raise PermissionDenied("Only platform admins change guardrails.")


def _bump_tenants(tenant_ids) -> None:
    for tenant_id in sorted(set(tenant_ids)):
        bump_desired_generation(tenant_id)


def _tenants_on_cluster(cluster_id: int) -> list[int]:
    return list(
        Environment.objects.filter(cluster_id=cluster_id, tenant__status=Tenant.Status.ACTIVE)
        .values_list("tenant_id", flat=True)
        .distinct()
    )


def _active_tenants() -> list[int]:
    return list(Tenant.objects.filter(status=Tenant.Status.ACTIVE).values_list("pk", flat=True))


def clean_registries(entries: list[str]) -> list[str]:
    cleaned = []
    for raw in entries:
        entry = raw.strip().rstrip("/")
        if not entry:
            continue
        if not REGISTRY_RE.match(entry) or ".." in entry:
            raise DomainError(
                f"'{raw.strip()}' is not a registry prefix: write host[:port][/path], e.g. "
                "registry.example.com/ml (no https://, tag or digest).",
                field="allowed_registries",
            )
        if entry not in cleaned:
            cleaned.append(entry)
    return cleaned


@transaction.atomic
def update_settings(
    *, actor, allowed_registries: list[str], baseline_tiers: list[str]
) -> GuardrailSettings:
    _require_admin(actor)
    registries = clean_registries(allowed_registries)
    unknown = [t for t in baseline_tiers if t not in Tier.values]
    if unknown:
        raise DomainError(f"Unknown tier {unknown[0]!r}.", field="baseline_tiers")
    current = GuardrailSettings.objects.select_for_update().filter(pk=selectors.SETTINGS_PK).first()
    if current is None:
        current = GuardrailSettings(pk=selectors.SETTINGS_PK)
    changed = (
        current.allowed_registries != registries
        or sorted(current.baseline_tiers) != sorted(baseline_tiers)
        or current._state.adding
    )
    current.allowed_registries = registries
    current.baseline_tiers = sorted(baseline_tiers)
    current.updated_by = actor
    with pghistory.context(user=actor.pk, action="update guardrail settings"):
        current.save()
    if changed:
        _bump_tenants(_active_tenants())
    return current


@transaction.atomic
def set_cluster_mode(*, actor, cluster: Cluster, mode: str) -> ClusterGuardrails:
    """Audit (report only) or enforce (deny) on one cluster; every tenant there is re-synced."""
    _require_admin(actor)
    if mode not in ClusterGuardrails.Mode.values:
        raise DomainError("Choose audit or enforce.", field="mode")
    Cluster.objects.select_for_update().filter(pk=cluster.pk).first()  # serialises switches
    row = ClusterGuardrails.objects.filter(cluster=cluster).first()
    if row is not None and row.mode == mode:
        return row
    row = row or ClusterGuardrails(cluster=cluster)
    row.mode = mode
    row.changed_by = actor
    with pghistory.context(user=actor.pk, action=f"guardrails {mode} on {cluster.name}"):
        row.save()
    _bump_tenants(_tenants_on_cluster(cluster.pk))
    return row


def _check_exception(reason: str, expires_at: datetime) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Give a reason: it is kept in the audit trail.", field="reason")
    if len(reason) > 2000:
        raise DomainError("Keep the reason under 2000 characters.", field="reason")
    now = timezone.now()
    if expires_at is None or expires_at <= now:
        raise DomainError("Choose an end date in the future.", field="expires_at")
    if expires_at > now + timedelta(days=MAX_EXCEPTION_DAYS):
        raise DomainError(
            f"Exceptions last at most {MAX_EXCEPTION_DAYS} days: choose an earlier end date "
            "and renew it if it is still needed then.",
            field="expires_at",
        )
    return reason


@transaction.atomic
def grant_pod_security_exception(
    *, actor, environment: Environment, reason: str, expires_at: datetime
) -> PodSecurityException:
    _require_admin(actor)
    reason = _check_exception(reason, expires_at)
    Environment.objects.select_for_update().filter(pk=environment.pk).first()
    live = PodSecurityException.objects.filter(
        GrantedException.live_q(timezone.now()), environment=environment
    )
    if live.exists():
        raise ConflictError(
            f"{environment.namespace} already has a live baseline exception: revoke it first.",
            field="environment",
        )
    with pghistory.context(user=actor.pk, action="grant pod security exception"):
        exception = PodSecurityException.objects.create(
            environment=environment,
            level=PodSecurityLevel.BASELINE,
            reason=reason,
            expires_at=expires_at,
            granted_by=actor,
        )
    bump_desired_generation(environment.tenant_id)
    return exception


@transaction.atomic
def grant_rule_exemption(
    *, actor, workload: Workload, environment: Environment, rule: str, reason: str, expires_at
) -> RuleExemption:
    _require_admin(actor)
    reason = _check_exception(reason, expires_at)
    found = RULES_BY_ID.get(rule)
    if found is None or not found.exemptable:
        raise DomainError("Choose one of the rules that can be waived.", field="rule")
    if environment.tenant_id != workload.tenant_id:
        raise DomainError(
            f"{environment.namespace} is not an environment of {workload.name}'s tenant.",
            field="environment",
        )
    Environment.objects.select_for_update().filter(pk=environment.pk).first()
    duplicate = RuleExemption.objects.filter(
        GrantedException.live_q(timezone.now()),
        workload=workload,
        environment=environment,
        rule=rule,
    )
    if duplicate.exists():
        raise ConflictError(
            f"{workload.name} is already exempt from {rule} in {environment.name}: revoke that "
            "exemption first to change its end date.",
            field="rule",
        )
    with pghistory.context(user=actor.pk, action="grant rule exemption"):
        exemption = RuleExemption.objects.create(
            workload=workload,
            environment=environment,
            rule=rule,
            reason=reason,
            expires_at=expires_at,
            granted_by=actor,
        )
    bump_desired_generation(environment.tenant_id)
    return exemption


@transaction.atomic
def revoke_exception(*, actor, exception: GrantedException) -> GrantedException:
    """Ends a pod security exception or a rule exemption now."""
    _require_admin(actor)
    locked = type(exception).objects.select_for_update().get(pk=exception.pk)
    if locked.revoked_at is not None or locked.expires_at <= timezone.now():
        raise ConflictError("This exception has already ended.")
    locked.revoked_at = timezone.now()
    locked.revoked_by = actor
    with pghistory.context(user=actor.pk, action="revoke guardrail exception"):
        locked.save(update_fields=["revoked_at", "revoked_by"])
    bump_desired_generation(locked.environment.tenant_id)
    return locked


def expire_lapsed_exceptions(now=None) -> int:
    """Hand exceptions past their end to the sync engine (their tenants are re-rendered without
    them). Idempotent: each lapse is handed over once."""
    now = now or timezone.now()
    due = selectors.lapsed_exception_ids(now)
    handled = 0
    with transaction.atomic(), pghistory.context(task="expire_guardrail_exceptions"):
        for model, ids in (
            (PodSecurityException, due["pod_security"]),
            (RuleExemption, due["rules"]),
        ):
            rows = list(
                model.objects.select_for_update()
                .filter(pk__in=ids, lapsed_at__isnull=True)
                .select_related("environment")
            )
            for row in rows:
                row.lapsed_at = now
                row.save(update_fields=["lapsed_at"])
            _bump_tenants(row.environment.tenant_id for row in rows)
            handled += len(rows)
    return handled
