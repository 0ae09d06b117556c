"""Demo workloads for every active demo tenant: an inference deployment, a training job and a
batch pipeline, registered and deployed to dev through workloads.services (so the quota gate
applies). Idempotent: a workload that exists is left alone."""

import contextlib
import hashlib

from portal.domain_errors import DomainError
from tenants.models import QuotaGrant, Tenant, TenantMembership

from . import services
from .models import Template, Workload, WorkloadEnvironment


def fake_digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def demo_specs(slug: str) -> list[dict]:
    return [
        dict(
            name="detector" if slug == "vision" else f"{slug.split('-')[0]}-serving",
            template=Template.INFERENCE,
            description="Online inference behind the product API.",
            replicas=2,
            min_replicas=1,
            max_replicas=3,
            model_memory_gb=8,
            cold_start_budget_s=240,
        ),
        dict(
            name="finetune",
            template=Template.TRAINING,
            description="Weekly fine-tuning on fresh labels, with checkpoints.",
            replicas=1,
            checkpoint_volume_gi=200,
        ),
        dict(
            name="nightly-eval",
            template=Template.BATCH,
            description="Nightly offline evaluation against the golden set.",
            replicas=1,
            schedule="30 1 * * *",
        ),
    ]


def _owner(tenant):
    membership = (
        TenantMembership.objects.filter(tenant=tenant, role=TenantMembership.Role.OWNER)
        .select_related("user")
        .first()
    )
    return membership.user if membership else None


def seed_demo() -> list[Workload]:
    created = []
    for tenant in Tenant.objects.filter(status=Tenant.Status.ACTIVE).order_by("slug"):
        owner = _owner(tenant)
        dev = tenant.environments.filter(name="dev").first()
        grant = (
            QuotaGrant.objects.filter(environment=dev, revoked_at__isnull=True)
            .select_related("profile")
            .order_by("-guaranteed")
            .first()
        )
        if owner is None or grant is None:
            continue
        for spec in demo_specs(tenant.slug):
            if Workload.objects.filter(tenant=tenant, name=spec["name"]).exists():
                continue
            name = spec["name"]
            workload = services.create_workload(
                tenant=tenant,
                actor=owner,
                image=f"registry.example.com/{tenant.slug}/{name}:1.0",
                image_digest=fake_digest(f"{tenant.slug}/{name}:1.0"),
                model_uri=f"s3://models/{tenant.slug}/{name}/1.0",
                model_digest=fake_digest(f"model {tenant.slug}/{name}"),
                profile=grant.profile,
                **spec,
            )
            created.append(workload)
            if not WorkloadEnvironment.objects.filter(workload=workload).exists():
                # when the quota is used up the page shows the failing gate instead
                with contextlib.suppress(DomainError):
                    services.promote(workload=workload, environment_name="dev", actor=owner)
    return created
