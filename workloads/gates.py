"""Promotion gates: what a revision must pass before it runs in an environment (quota, image
pinned by digest, a complete interface document, the SRE sign-off for prod), and the previews
the workload page shows. Reads only; the promotion itself is in services.py.

The document gates read a `DocumentReadiness`. Interface documents live in `contracts`, which
builds on this app, so contracts registers where readiness comes from
(`register_readiness_source`, in its AppConfig.ready) instead of this app importing it.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from tenants.models import ENVIRONMENT_ORDER, Environment, EnvironmentName, GpuProfile

from . import selectors
from .models import Workload, WorkloadEnvironment, WorkloadRevision

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


@dataclass
class DocumentReadiness:
    """How far a workload's interface document is from passing the document gates."""

    version: int = 0
    missing: list[str] = field(default_factory=list)
    signed_off: bool = False
    signed_off_version: int | None = None
    signed_off_by: str = ""


ReadinessSource = Callable[[Workload], DocumentReadiness]
_readiness_source: ReadinessSource | None = None


def register_readiness_source(source: ReadinessSource) -> None:
    """Called once by the app that owns interface documents (contracts/apps.py)."""
    global _readiness_source
    _readiness_source = source


@dataclass(frozen=True)
class SloEvidence:
    """The staging SLO over the last 24 h, measured by contracts: `summary` carries the numbers
    for the gate's message; `override` names the SRE and reason when one let the revision that
    staging runs through anyway."""

    below_target: bool
    summary: str
    override: str = ""


SloSource = Callable[[Workload], SloEvidence | None]
_slo_source: SloSource | None = None


def register_slo_source(source: SloSource) -> None:
    """Called once by the app that measures SLOs (contracts/apps.py)."""
    global _slo_source
    _slo_source = source


def staging_slo(workload: Workload) -> SloEvidence | None:
    """None when nothing measures SLOs or the workload declares none: no SLO gate."""
    return _slo_source(workload) if _slo_source is not None else None


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


def document_readiness(workload: Workload) -> DocumentReadiness:
    if _readiness_source is None:
        # Without a documents app nothing can complete a document: the gates stay closed.
        return DocumentReadiness(missing=["the interface document (no app provides them)"])
    return _readiness_source(workload)


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


def document_gates(environment, readiness: DocumentReadiness) -> list[GateResult]:
    """The interface document is complete, and for prod signed off at its current version."""
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
    *,
    workload,
    environment,
    revision,
    readiness: DocumentReadiness,
    lock=False,
    slo: SloEvidence | None = None,
) -> list[GateResult]:
    """Every gate a promotion of `revision` into `environment` must pass; `lock` holds the
    grants the quota gate reads until the transaction ends; `slo` (staging's, for prod)."""
    results = [quota_gate(workload=workload, revision=revision, environment=environment, lock=lock)]
    if environment.name != EnvironmentName.DEV:
        results.append(pinned_gate(revision))
        results.extend(document_gates(environment, readiness))
    if environment.name == EnvironmentName.PROD and slo is not None:
        results.append(slo_gate(slo))
    return results


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


def preview_promotions(workload) -> list[PromotionPreview]:
    """For each environment of the tenant, in order: what runs there, what a promotion would
    deploy and the gate results it would have now (for pages and dry runs)."""
    environments = selectors.environments_by_name(workload.tenant)
    deployments = {d.environment.name: d for d in selectors.deployments_of(workload)}
    readiness = document_readiness(workload)
    slo = staging_slo(workload)
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
                slo=slo if env_name == EnvironmentName.PROD else None,
            )
        previews.append(PromotionPreview(env, dep, candidate, gates))
    return previews
