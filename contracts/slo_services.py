"""Writes around measured SLOs: silences created in a cluster's Alertmanager for a rollout
window, and an SRE's override of the prod promotion's staging-SLO gate. Both audited."""

from datetime import timedelta

import pghistory
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from clusters.alertmanager_api import AlertmanagerClient, AlertmanagerError
from portal import roles
from portal.domain_errors import DomainError
from workloads import selectors as workload_selectors
from workloads.models import WorkloadEnvironment

from .models import AlertSilence, SloGateOverride


def _can_silence(actor, tenant) -> bool:
    return roles.is_sre(actor) or workload_selectors.can_write_tenant(actor, tenant)


def create_rollout_silence(
    *, workload, environment_name: str, minutes: int, comment: str, actor
) -> AlertSilence:
    """Silence the workload's alerts in one environment for a rollout window: created in the
    environment's cluster Alertmanager, then recorded (who, why, until when)."""
    if not _can_silence(actor, workload.tenant):
        raise PermissionDenied(
            f"Only owners and members of {workload.tenant.slug} and SREs silence its alerts."
        )
    limit = settings.CONTRACTS_SILENCE_MAX_MINUTES
    if not 1 <= minutes <= limit:
        raise DomainError(
            f"A rollout silence lasts 1 to {limit} minutes; a longer quiet needs a fix instead.",
            field="minutes",
        )
    comment = (comment or "").strip()
    if not comment:
        raise DomainError("Say why (e.g. the rollout it covers).", field="comment")
    environment = (
        workload.tenant.environments.select_related("cluster").filter(name=environment_name).first()
    )
    if environment is None:
        raise DomainError(
            f"{workload.tenant.slug} has no {environment_name} environment.", field="environment"
        )
    cluster = environment.cluster
    if not cluster.alertmanager_url:
        raise DomainError(
            f"Cluster {cluster.name} has no Alertmanager URL: a platform admin sets it on the "
            "cluster page.",
            field="environment",
        )
    matchers = {
        "tenant": workload.tenant.slug,
        "workload": workload.name,
        "environment": environment.name,
    }
    starts = timezone.now()
    ends = starts + timedelta(minutes=minutes)
    try:
        silence_id = AlertmanagerClient.for_cluster(
            cluster, timeout=settings.CONTRACTS_ALERTMANAGER_TIMEOUT
        ).create_silence(
            matchers,
            starts_at=starts,
            ends_at=ends,
            created_by=f"{actor.username} via gpu-portal",
            comment=comment,
        )
    except AlertmanagerError as exc:
        raise DomainError(
            f"Alertmanager of {cluster.name} did not take the silence: {exc}. Try again.",
            field="environment",
        ) from exc
    with transaction.atomic(), pghistory.context(user=actor.pk, action="silence"):
        return AlertSilence.objects.create(
            workload=workload,
            environment=environment,
            silence_id=silence_id,
            matchers=matchers,
            starts_at=starts,
            ends_at=ends,
            comment=comment[:500],
            created_by=actor,
        )


def override_slo_gate(*, workload, reason: str, evidence: str, actor) -> SloGateOverride:
    """An SRE lets the revision staging runs now go to prod despite its staging SLO, for a
    day. The gate's numbers at that moment are kept with the reason."""
    if not roles.is_sre(actor):
        raise PermissionDenied("Only SREs override the staging SLO gate.")
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise DomainError(
            "Give the reason the staging SLO may be ignored (at least 10 characters).",
            field="reason",
        )
    staging = (
        WorkloadEnvironment.objects.filter(workload=workload, environment__name="staging")
        .select_related("current_revision")
        .first()
    )
    if staging is None:
        raise DomainError(f"{workload.name} does not run in staging yet.", field="reason")
    with transaction.atomic(), pghistory.context(user=actor.pk, action="slo-gate-override"):
        return SloGateOverride.objects.create(
            workload=workload,
            revision_number=staging.current_revision.number,
            reason=reason[:500],
            evidence=evidence[:500],
            created_by=actor,
            expires_at=timezone.now() + timedelta(hours=24),
        )
