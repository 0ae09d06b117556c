"""Writes of workloads: create from a template, new revisions, promotion through the gates,
rollback and canary (the gates themselves are in gates.py). Every change that must reach a
cluster bumps the tenant's generation."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from portal.domain_errors import ConflictError, DomainError
from tenants.models import ENVIRONMENT_ORDER, Environment, EnvironmentName
from tenants.outbox import bump_desired_generation

from . import gates, notify, selectors
from .models import (
    REVISION_SPEC_FIELDS,
    PromotionRecord,
    RollbackRecord,
    Template,
    Workload,
    WorkloadEnvironment,
    WorkloadRevision,
)

# Paved-road defaults a new team can use as they are.
TEMPLATE_DEFAULTS = {
    Template.INFERENCE: dict(
        gpus_per_replica=1,
        replicas=2,
        min_replicas=1,
        max_replicas=4,
        scaling_metric=WorkloadRevision.ScalingMetric.QUEUE_DEPTH,
        scaling_target=10,
        autoscaler=WorkloadRevision.Autoscaler.KEDA,
        cold_start_budget_s=300,
    ),
    Template.TRAINING: dict(
        gpus_per_replica=1,
        replicas=1,
        min_replicas=1,
        max_replicas=1,
        checkpoint_volume_gi=100,
        ttl_seconds_after_finished=86400,
        backoff_limit=3,
        cold_start_budget_s=600,
    ),
    Template.BATCH: dict(
        gpus_per_replica=1,
        replicas=1,
        min_replicas=0,
        max_replicas=1,
        schedule="0 2 * * *",
        ttl_seconds_after_finished=86400,
        backoff_limit=2,
        cold_start_budget_s=600,
    ),
}

RESERVED_NAMES = {"new"}


def _require_writer(actor, tenant, action: str) -> None:
    if not selectors.can_write_tenant(actor, tenant):
        raise PermissionDenied(f"Only owners and members of {tenant.slug} can {action}.")
    _require_active(tenant, action)


def _require_active(tenant, action: str) -> None:
    if tenant.status != "active":
        raise DomainError(
            f"Tenant {tenant.slug} is {tenant.status}: only active tenants can {action}."
        )


def _validated_revision(revision: WorkloadRevision, template: str) -> WorkloadRevision:
    if template != Template.INFERENCE:
        revision.scaling_metric = WorkloadRevision.ScalingMetric.NONE
    if template == Template.BATCH and not revision.schedule:
        raise DomainError(
            "A batch pipeline needs a cron schedule, e.g. '0 2 * * *'.", field="schedule"
        )
    if template == Template.INFERENCE and revision.replicas == 0:
        raise DomainError("An inference deployment needs at least one replica.", field="replicas")
    if revision.min_replicas > revision.max_replicas:
        raise DomainError(
            f"min replicas {revision.min_replicas} exceeds max replicas {revision.max_replicas}.",
            field="min_replicas",
        )
    if revision.scaling_metric != WorkloadRevision.ScalingMetric.NONE:
        if not revision.scaling_target:
            raise DomainError("Give the autoscaling target.", field="scaling_target")
        if revision.max_replicas < 1:
            raise DomainError("Autoscaling needs max replicas of at least 1.", field="max_replicas")
    if not revision.profile.is_active:
        raise DomainError(f"GPU profile {revision.profile.name} is retired.", field="profile")
    try:
        revision.full_clean(exclude=["workload", "number", "created_by"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(" ".join(messages), field=field) from None
    return revision


def create_workload(*, tenant, name: str, template: str, actor, description: str = "", **spec):
    """Register a workload from a template and store its first revision."""
    _require_writer(actor, tenant, "register workloads")
    if template not in Template.values:
        raise DomainError(f"Unknown template '{template}'.", field="template")
    if name in RESERVED_NAMES:
        raise DomainError(
            f"'{name}' is reserved by the portal's pages: pick another name.", field="name"
        )
    if name.endswith("-canary"):
        raise DomainError(
            "Names ending in '-canary' are taken by canary deployments: pick another name.",
            field="name",
        )
    workload = Workload(tenant=tenant, name=name, template=template, description=description)
    try:
        workload.full_clean(exclude=["tenant", "created_by"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(" ".join(messages), field=field) from None
    values = dict(TEMPLATE_DEFAULTS[Template(template)])
    values.update({k: v for k, v in spec.items() if v is not None})
    unknown = set(values) - set(REVISION_SPEC_FIELDS)
    if unknown:
        raise DomainError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if "profile" not in values:
        raise DomainError("Choose a GPU profile.", field="profile")
    with transaction.atomic():
        if Workload.objects.filter(tenant=tenant, name=name).exists():
            raise DomainError(f"{tenant.slug} already has a workload named {name}.", field="name")
        workload.created_by = actor
        workload.save()
        revision = WorkloadRevision(workload=workload, number=1, created_by=actor, **values)
        _validated_revision(revision, template)
        revision.save()
    return workload


def create_revision(*, workload: Workload, actor, **changes) -> WorkloadRevision:
    """A change to the spec is a new revision; running environments keep theirs until promoted."""
    _require_writer(actor, workload.tenant, "change the workload's spec (image, model, GPUs)")
    unknown = set(changes) - set(REVISION_SPEC_FIELDS)
    if unknown:
        raise DomainError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        Workload.objects.select_for_update().get(pk=workload.pk)
        latest = selectors.latest_revision(workload)
        values = latest.spec_fields()
        values.update({k: v for k, v in changes.items() if v is not None})
        if values == latest.spec_fields():
            raise DomainError("Nothing changed: the latest revision already has this spec.")
        revision = WorkloadRevision(
            workload=workload, number=latest.number + 1, created_by=actor, **values
        )
        _validated_revision(revision, workload.template)
        revision.save()
    return revision


def _target_environment(workload, environment_name: str) -> Environment:
    if environment_name not in EnvironmentName.values:
        raise DomainError(
            f"Unknown environment '{environment_name}': use dev, staging or prod.",
            field="environment",
        )
    env = selectors.environments_by_name(workload.tenant).get(environment_name)
    if env is None:
        raise DomainError(
            f"{workload.tenant.slug} has no {environment_name} environment.", field="environment"
        )
    return env


def promote(*, workload: Workload, environment_name: str, actor) -> PromotionRecord:
    """Deploy into an environment what the one before it runs, if every gate passes."""
    _require_writer(actor, workload.tenant, "promote workloads")
    env = _target_environment(workload, environment_name)
    with transaction.atomic():
        Workload.objects.select_for_update().get(pk=workload.pk)
        revision = gates.source_revision(workload, environment_name)
        if revision is None:
            prev = ENVIRONMENT_ORDER[ENVIRONMENT_ORDER.index(environment_name) - 1]
            raise DomainError(
                f"Nothing to promote: {workload.name} does not run in {prev} yet.",
                field="environment",
            )
        dep = (
            WorkloadEnvironment.objects.select_for_update(of=("self",))
            .filter(workload=workload, environment=env)
            .first()
        )
        if dep is not None and dep.current_revision_id == revision.pk:
            raise DomainError(
                f"{env.name} already runs revision {revision.number}.", field="environment"
            )
        results = gates.evaluate_gates(
            workload=workload,
            environment=env,
            revision=revision,
            readiness=gates.document_readiness(workload),
            lock=True,
            slo=gates.staging_slo(workload) if env.name == "prod" else None,
        )
        failed = [r for r in results if not r.passed]
        from_revision = dep.current_revision if dep else None
        if not failed:
            record = _promote(workload, env, dep, from_revision, revision, results, actor)
    if failed:
        # the blocked attempt is recorded on its own (who tried what, and which gates said no)
        with transaction.atomic():
            PromotionRecord.objects.create(
                workload=workload,
                environment=env,
                from_revision=from_revision,
                to_revision=revision,
                gate_results=[r.as_dict() for r in results],
                blocked=True,
                actor=actor,
            )
            notify.promotion_blocked(
                workload=workload,
                environment=env,
                revision=revision,
                results=results,
                sign_off_gate=gates.GATE_SIGN_OFF,
                document_gate=gates.GATE_DOCUMENT,
            )
        raise DomainError(
            "Promotion to {} blocked: {}".format(
                env.name, "; ".join(f"gate {r.name} failed: {r.reason}" for r in failed)
            ),
            field="environment",
        )
    return record


def _promote(workload, env, dep, from_revision, revision, results, actor) -> PromotionRecord:
    if dep is None:
        dep = WorkloadEnvironment(workload=workload, environment=env)
    dep.previous_revision = from_revision
    dep.current_revision = revision
    dep.canary_revision = None
    dep.canary_percent = 0
    dep.save()
    record = PromotionRecord.objects.create(
        workload=workload,
        environment=env,
        from_revision=from_revision,
        to_revision=revision,
        gate_results=[r.as_dict() for r in results],
        actor=actor,
    )
    bump_desired_generation(workload.tenant_id)
    return record


def rollback(*, workload: Workload, environment_name: str, actor, reason: str = ""):
    """Put the environment back on the revision it ran before, in one action."""
    if not selectors.can_rollback(actor, workload.tenant):
        raise PermissionDenied("Only the tenant's owners/members or an SRE can roll back.")
    _require_active(workload.tenant, "roll back workloads")
    env = _target_environment(workload, environment_name)
    with transaction.atomic():
        dep = (
            WorkloadEnvironment.objects.select_for_update(of=("self",))
            .select_related("current_revision", "previous_revision__profile")
            .filter(workload=workload, environment=env)
            .first()
        )
        if dep is None:
            raise DomainError(f"{workload.name} does not run in {env.name}.", field="environment")
        if dep.previous_revision is None:
            raise ConflictError(
                f"{env.name} has no previous revision to roll back to: it has only ever run "
                f"revision {dep.current_revision.number}."
            )
        target = dep.previous_revision
        gate = gates.quota_gate(workload=workload, revision=target, environment=env, lock=True)
        if not gate.passed:
            raise DomainError(f"Rollback blocked: gate {gate.name} failed: {gate.reason}")
        record = RollbackRecord.objects.create(
            workload=workload,
            environment=env,
            from_revision=dep.current_revision,
            to_revision=target,
            reason=reason[:500],
            actor=actor,
        )
        dep.previous_revision = dep.current_revision
        dep.current_revision = target
        dep.canary_revision = None
        dep.canary_percent = 0
        dep.save()
        bump_desired_generation(workload.tenant_id)
    return record


def set_canary(
    *, workload: Workload, environment_name: str, revision_number: int | None, percent: int, actor
) -> WorkloadEnvironment:
    """Run a second Deployment of another revision at `percent` % of the replicas (0 clears)."""
    _require_writer(actor, workload.tenant, "run canaries")
    if workload.template != Template.INFERENCE:
        raise DomainError("Only inference deployments have canaries.")
    if not 0 <= percent <= 50:
        raise DomainError(
            "A canary takes 1 to 50 % of the replicas (0 removes it).", field="percent"
        )
    env = _target_environment(workload, environment_name)
    with transaction.atomic():
        dep = (
            WorkloadEnvironment.objects.select_for_update(of=("self",))
            .filter(workload=workload, environment=env)
            .select_related("current_revision__profile")
            .first()
        )
        if dep is None:
            raise DomainError(f"{workload.name} does not run in {env.name}.", field="environment")
        if percent == 0 or revision_number is None:
            dep.canary_revision = None
            dep.canary_percent = 0
        else:
            canary = workload.revisions.select_related("profile").filter(number=revision_number)
            canary = canary.first()
            if canary is None:
                raise DomainError(f"No revision {revision_number}.", field="revision")
            if canary.pk == dep.current_revision_id:
                raise DomainError(
                    f"{env.name} already runs revision {canary.number}.", field="revision"
                )
            dep.canary_revision = canary
            dep.canary_percent = percent
            gate = gates.quota_gate(
                workload=workload,
                revision=dep.current_revision,
                environment=env,
                keep_canary=dep,
                lock=True,
            )
            if not gate.passed:
                raise DomainError(f"Canary blocked: gate {gate.name} failed: {gate.reason}")
        dep.save()
        bump_desired_generation(workload.tenant_id)
    return dep
