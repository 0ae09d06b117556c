"""Demo on-call directory and interface documents for the demo workloads, written section by
section by the role that owns each section; the inference documents are signed off by the SRE.
Idempotent: teams and filled sections are left alone."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from portal import roles
from tenants.models import TenantMembership
from workloads.models import Template, Workload

from . import services
from .models import InterfaceDocument, OnCallTeam

TEAMS = [
    dict(
        name="sre-core",
        display_name="SRE core",
        rotation="weekly, Monday 09:00 UTC",
        escalation="secondary after 10 min, then the SRE manager",
        pager_url="https://pager.example.com/hooks/sre-core",
        email="sre-oncall@example.com",
        chat_channel="#sre-oncall",
    ),
    dict(
        name="gpu-platform",
        display_name="GPU platform",
        rotation="weekly, Wednesday 09:00 UTC",
        escalation="platform lead after 15 min",
        pager_url="https://pager.example.com/hooks/gpu-platform",
        email="gpu-platform@example.com",
        chat_channel="#gpu-platform",
    ),
]


def _first_in_group(group: str):
    group_obj = Group.objects.filter(name=group).first()
    if group_obj is None:
        return None
    return group_obj.user_set.order_by("pk").first()


def _team_for_tenant(tenant, sre) -> OnCallTeam:
    name = f"{tenant.slug}-ml"[:63]
    team = OnCallTeam.objects.filter(name=name).first()
    return team or services.create_oncall_team(
        actor=sre,
        name=name,
        display_name=f"{tenant.team} ML on-call",
        rotation="weekly",
        email=tenant.contact_email,
        chat_channel=tenant.oncall_contact,
    )


def seed_demo() -> list[InterfaceDocument]:
    sre = _first_in_group(roles.SRE)
    admin = (
        _first_in_group(roles.PLATFORM_ADMIN)
        or get_user_model().objects.filter(is_superuser=True).first()
    )
    if sre is None or admin is None:
        return []
    for spec in TEAMS:
        if not OnCallTeam.objects.filter(name=spec["name"]).exists():
            services.create_oncall_team(actor=sre, **spec)
    documents = []
    for workload in Workload.objects.select_related("tenant").order_by("tenant__slug", "name"):
        owner = (
            TenantMembership.objects.filter(tenant=workload.tenant, role="owner")
            .select_related("user")
            .first()
        )
        if owner is None:
            continue
        document = InterfaceDocument.objects.filter(workload=workload).first()
        if document is not None and document.version:
            documents.append(document)
            continue
        ml_team = _team_for_tenant(workload.tenant, sre)
        inference = workload.template == Template.INFERENCE
        edits = [
            ("ownership", {"owner_team": ml_team.name}, owner.user),
            ("platform", {"platform_contact": "gpu-platform"}, admin),
            ("oncall", {"sre_contact": "sre-core"}, sre),
            (
                "model",
                {
                    "model_name": f"{workload.name} v1.0",
                    "accuracy_metric": "model_accuracy_drift_ratio" if inference else "",
                    "accuracy_drift_pct": "5" if inference else None,
                },
                owner.user,
            ),
        ]
        if inference:
            edits.append(
                (
                    "slos",
                    {"p99_latency_ms": 250, "availability_pct": "99.9", "max_cold_start_s": 240},
                    sre,
                )
            )
        alerts = [
            {
                "signal": "gpu-memory",
                "threshold": "95%",
                "window": "5m",
                "paged_team": "gpu-platform",
            }
        ]
        if inference:
            alerts += [
                {"signal": "latency", "threshold": "", "window": "5m", "paged_team": "sre-core"},
                {
                    "signal": "accuracy-drift",
                    "threshold": "5%",
                    "window": "1h",
                    "paged_team": ml_team.name,
                },
            ]
        edits.append(("alerts", {"alerts": alerts}, sre))
        edits.append(
            (
                "rollback",
                {
                    "rollback_trigger": "error budget burn 14.4x over 1h and 5m"
                    if inference
                    else "job fails twice in a row",
                    "rollback_owner": ml_team.name,
                },
                owner.user,
            )
        )
        for section, values, actor in edits:
            services.update_section(workload=workload, section=section, values=values, actor=actor)
        if inference:
            services.sign_off(workload=workload, actor=sre)
        documents.append(InterfaceDocument.objects.get(workload=workload))
    seed_slo_demo()
    return documents


def _demo_day(index: int, day: int, incident: bool, ongoing: bool) -> tuple[float, float, dict]:
    """Requests, errors and latency buckets of one demo day (deterministic)."""
    requests = 80_000.0 + 7_000 * ((index * 7 + day * 3) % 5)
    ratio = 0.0003 + 0.0001 * ((index + day) % 3)
    slow = (incident and day in (3, 4)) or (ongoing and day == 0)
    if slow:  # an incident three days ago that burned the budget (staging: still today)
        ratio = 0.006
    shares = [0.6, 0.93, 0.985, 0.996, 1.0] if slow else [0.7, 0.96, 0.995, 0.999, 1.0]
    buckets = {
        le: requests * share
        for le, share in zip(["0.05", "0.1", "0.25", "0.5", "+Inf"], shares, strict=True)
    }
    return requests, requests * ratio, buckets


def seed_slo_demo() -> int:
    """28 days of SLI rollups for the demo serving workloads: the first one (and any staging)
    had an incident; on a first seeding the last one has no data, a broken SLI to find.
    Skips the ones already measured."""
    from datetime import timedelta

    from django.utils import timezone

    from workloads.models import WorkloadEnvironment

    from .models import SliDaily, SloSnapshot

    now = timezone.now()
    deployments = list(
        WorkloadEnvironment.objects.filter(
            workload__template=Template.INFERENCE, workload__interface_document__isnull=False
        )
        .select_related("workload", "environment")
        .order_by("workload__tenant__slug", "workload__name", "environment__name")
    )
    created = 0
    fresh = not SloSnapshot.objects.exists()
    for index, dep in enumerate(deployments):
        if SloSnapshot.objects.filter(workload=dep.workload, environment=dep.environment).exists():
            continue
        if fresh and index == len(deployments) - 1 and index > 0:
            SloSnapshot.objects.create(
                workload=dep.workload, environment=dep.environment, state="no-data", as_of=now
            )
            continue
        incident = index == 0 or dep.environment.name == "staging"
        ongoing = dep.environment.name == "staging"
        for day in range(28):
            requests, errors, buckets = _demo_day(index, day, incident, ongoing)
            SliDaily.objects.create(
                workload=dep.workload,
                environment=dep.environment,
                day=now.date() - timedelta(days=day),
                requests=requests,
                errors=errors,
                latency_buckets=buckets,
                complete=day > 0,
                pulled_at=now,
            )
            created += 1
        requests, errors, _ = _demo_day(index, 0, incident, ongoing)
        ratio = errors / requests
        SloSnapshot.objects.create(
            workload=dep.workload,
            environment=dep.environment,
            state="ok",
            as_of=now,
            error_ratio_1h=ratio * (3 if incident else 1),
            error_ratio_6h=ratio * (2 if incident else 1),
            error_ratio_24h=ratio,
            p99_latency_24h_ms=310.0 if ongoing else 210.0,
        )
    return created
