"""Writes of workloads: create from a template, new revisions, promotion through the gates,
rollback and canary. Every change that must reach a cluster bumps the tenant's generation."""

from dataclasses import asdict, dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from portal.domain_errors import ConflictError, DomainError
from tenants.models import ENVIRONMENT_ORDER, Environment, EnvironmentName, GpuProfile
from tenants.outbox import bump_desired_generation

from . import selectors
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
GATE_QUOTA = "quota"
GATE_PINNED = "image-pinned-by-digest"
GATE_DOCUMENT = "interface-document-complete"
GATE_SIGN_OFF = "sre-production-sign-off"
GATE_STAGING_SLO = "staging-slo"


@dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SloEvidence:
    """The staging SLO over the last 24 h, measured elsewhere (contracts) and passed in by the
    caller: workloads reads no SLIs. `summary` carries the numbers for the gate's message;
    `override` names the SRE and reason when one let this revision through anyway."""

    below_target: bool
    summary: str
    override: str = ""


def slo_gate(evidence: SloEvidence) -> GateResult:
    if not evidence.below_target:
        return GateResult(GATE_STAGING_SLO, True, evidence.summary)
    if evidence.override:
        return GateResult(
            GATE_STAGING_SLO, True, f"{evidence.summary}; overridden by {evidence.override}"
        )
    return GateResult(
        GATE_STAGING_SLO,
        False,
        f"{evidence.summary}: fix staging first, or ask an SRE to override with a reason.",
    )


def _require_writer(actor, tenant, action: str) -> None:
    if not selectors.can_write_tenant(actor, tenant):
        raise PermissionDenied(f"Only owners and members of {tenant.slug} can {action}.")


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


# ---- gates -------------------------------------------------------------------------------


def _profile_quota(*, workload, environment, profile: GpuProfile, needed: int, why: str, lock):
    """None when `needed` units of `profile` fit the environment's grant, else the reason."""
    grant = selectors.live_grant(environment, profile.pk, lock=lock)
    if grant is None:
        return (
            f"{environment.namespace} has no quota grant of {profile.name}: request "
            f"{needed} {profile.resource_name} units there first."
        ), None
    used = selectors.units_used_by_others(environment, profile.pk, workload.pk)
    free = grant.limit - sum(used.values())
    if needed > free:
        by = ", ".join(f"{n} {u}" for n, u in sorted(used.items())) or "nothing else"
        return (
            f"needs {needed} {profile.resource_name} units ({why}) but only {max(free, 0)} of "
            f"the {grant.limit} granted (guaranteed {grant.guaranteed} + burst {grant.burst}) "
            f"in {environment.namespace} are free (used: {by}); request more quota or scale "
            "down."
        ), free
    return None, free


def quota_gate(
    *, workload, revision, environment, keep_canary: WorkloadEnvironment | None = None, lock=False
) -> GateResult:
    """The revision's replicas x GPUs (plus a kept canary's) fit each profile's live grant in
    the environment, after what the environment's other workloads hold."""
    needs: dict[int, list] = {}
    if revision.workload_id == workload.pk:
        revision.workload = workload  # saves a query per gate
    if revision.gpu_units:
        if revision.autoscaled:
            why = f"up to {revision.peak_replicas} replicas (autoscaling max)"
        else:
            why = f"{revision.replicas} replicas"
        why += f" x {revision.gpus_per_replica}"
        needs[revision.profile_id] = [revision.profile, revision.gpu_units, why]
    if keep_canary is not None and keep_canary.canary_revision_id:
        canary = keep_canary.canary_revision
        units = keep_canary.canary_units()
        if units:
            entry = needs.setdefault(canary.profile_id, [canary.profile, 0, ""])
            entry[1] += units
            entry[2] = (entry[2] + " + " if entry[2] else "") + (
                f"canary {keep_canary.canary_replicas} x {canary.gpus_per_replica}"
            )
    if not needs:
        return GateResult(GATE_QUOTA, True, "Scaled to zero: needs no GPUs.")
    passed = []
    for profile, needed, why in needs.values():
        problem, free = _profile_quota(
            workload=workload,
            environment=environment,
            profile=profile,
            needed=needed,
            why=why,
            lock=lock,
        )
        if problem:
            return GateResult(GATE_QUOTA, False, problem)
        passed.append(f"{needed} of {free} free {profile.name} units")
    return GateResult(GATE_QUOTA, True, f"{', '.join(passed)} in {environment.namespace}.")


def pinned_gate(revision) -> GateResult:
    if revision.is_pinned:
        return GateResult(GATE_PINNED, True, f"{revision.image_ref}")
    return GateResult(
        GATE_PINNED,
        False,
        f"image {revision.image_ref} is not pinned by digest: set the image digest "
        "(sha256:<64 hex>) in a new revision.",
    )


def document_gates(workload, environment, readiness=None) -> list[GateResult]:
    if readiness is None:
        from contracts.selectors import document_readiness  # contracts builds on workloads

        readiness = document_readiness(workload)
    results = []
    if readiness.missing:
        results.append(
            GateResult(
                GATE_DOCUMENT,
                False,
                "interface document is incomplete: " + ", ".join(readiness.missing) + ".",
            )
        )
    else:
        results.append(GateResult(GATE_DOCUMENT, True, f"complete at version {readiness.version}."))
    if environment.name == EnvironmentName.PROD:
        if readiness.signed_off:
            results.append(
                GateResult(
                    GATE_SIGN_OFF,
                    True,
                    f"signed off by {readiness.signed_off_by} on version {readiness.version}.",
                )
            )
        elif readiness.signed_off_version:
            results.append(
                GateResult(
                    GATE_SIGN_OFF,
                    False,
                    f"the SRE sign-off was given on version {readiness.signed_off_version}, the "
                    f"document is now at version {readiness.version}: an SRE must sign off again.",
                )
            )
        else:
            results.append(
                GateResult(
                    GATE_SIGN_OFF,
                    False,
                    "no SRE production-readiness sign-off: ask an SRE to review and sign off "
                    "the interface document.",
                )
            )
    return results


def source_revision(workload, environment_name: str) -> WorkloadRevision | None:
    """What a promotion to an environment deploys: the latest revision into dev, otherwise
    what the environment before it runs."""
    index = ENVIRONMENT_ORDER.index(EnvironmentName(environment_name))
    if index == 0:
        return selectors.latest_revision(workload)
    before = ENVIRONMENT_ORDER[index - 1]
    dep = (
        WorkloadEnvironment.objects.filter(workload=workload, environment__name=before)
        .select_related("current_revision__profile")
        .first()
    )
    return dep.current_revision if dep else None


def evaluate_gates(
    *, workload, environment, revision, lock=False, readiness=None, slo=None
) -> list[GateResult]:
    results = [quota_gate(workload=workload, revision=revision, environment=environment, lock=lock)]
    if environment.name != EnvironmentName.DEV:
        results.append(pinned_gate(revision))
        results.extend(document_gates(workload, environment, readiness))
    if environment.name == EnvironmentName.PROD and slo is not None:
        results.append(slo_gate(slo))
    return results


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


@dataclass
class PromotionPreview:
    environment: Environment
    deployment: WorkloadEnvironment | None
    candidate: WorkloadRevision | None
    gates: list

    @property
    def up_to_date(self) -> bool:
        return (
            self.deployment is not None
            and self.candidate is not None
            and self.deployment.current_revision_id == self.candidate.pk
        )


def preview_promotions(workload, slo: SloEvidence | None = None) -> list[PromotionPreview]:
    """For each environment of the tenant, in order: what runs there, what a promotion would
    deploy and the gate results it would have now (for pages and dry runs)."""
    from contracts.selectors import document_readiness  # contracts builds on workloads

    environments = selectors.environments_by_name(workload.tenant)
    deployments = {d.environment.name: d for d in selectors.deployments_of(workload)}
    readiness = document_readiness(workload)
    previews = []
    for index, env_name in enumerate(ENVIRONMENT_ORDER):
        env = environments.get(env_name)
        if env is None:
            continue
        if index == 0:
            candidate = selectors.latest_revision(workload)
        else:
            before = deployments.get(ENVIRONMENT_ORDER[index - 1])
            candidate = before.current_revision if before else None
        dep = deployments.get(env_name)
        gates = []
        if candidate is not None and not (dep and dep.current_revision_id == candidate.pk):
            gates = evaluate_gates(
                workload=workload,
                environment=env,
                revision=candidate,
                readiness=readiness,
                slo=slo,
            )
        previews.append(PromotionPreview(env, dep, candidate, gates))
    return previews


def promote(
    *, workload: Workload, environment_name: str, actor, slo: SloEvidence | None = None
) -> PromotionRecord:
    """Deploy into an environment what the one before it runs, if every gate passes. `slo`:
    the staging SLO evidence for a prod promotion, from the caller (see SloEvidence)."""
    _require_writer(actor, workload.tenant, "promote workloads")
    env = _target_environment(workload, environment_name)
    with transaction.atomic():
        Workload.objects.select_for_update().get(pk=workload.pk)
        revision = source_revision(workload, environment_name)
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
        results = evaluate_gates(
            workload=workload, environment=env, revision=revision, lock=True, slo=slo
        )
        failed = [r for r in results if not r.passed]
        from_revision = dep.current_revision if dep else None
        if not failed:
            record = _promote(workload, env, dep, from_revision, revision, results, actor)
    if failed:
        # the blocked attempt is recorded on its own (who tried what, and which gates said no)
        PromotionRecord.objects.create(
            workload=workload,
            environment=env,
            from_revision=from_revision,
            to_revision=revision,
            gate_results=[r.as_dict() for r in results],
            blocked=True,
            actor=actor,
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
        gate = quota_gate(workload=workload, revision=target, environment=env, lock=True)
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
            gate = quota_gate(
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
