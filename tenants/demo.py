"""Demo data for tenancy: the GPU catalog, three tenants with environments, members, approved
grants, and a pending onboarding plus a pending quota request for the approvals queue.

Tenants are onboarded, approved and granted through tenants.services, so the demo obeys the same
rules (capacity, state machines, audit, outbox) as the UI. Idempotent: a tenant that exists is
left alone, so a second run (or one after someone decided the pending requests) changes nothing.
"""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from clusters.demo import DEMO_CLUSTER
from clusters.models import Cluster

from . import decisions, services
from .models import GpuProfile, Tenant

P = GpuProfile.Partition
H100 = ("NVIDIA H100 80GB HBM3", "NVIDIA-H100-80GB-HBM3")
A100 = ("NVIDIA A100-SXM4-40GB", "NVIDIA-A100-SXM4-40GB")

CATALOG = [
    dict(
        name="h100-80gb",
        display_name="H100 80GB (dedicated)",
        gpu_model=H100[0],
        gpu_product=H100[1],
        partition=P.DEDICATED,
        resource_name="nvidia.com/gpu",
        gpu_fraction=Decimal("1"),
        memory_gb=80,
    ),
    dict(
        name="h100-80gb-mig-1g-10gb",
        display_name="H100 80GB MIG 1g.10gb (1/7 GPU)",
        gpu_model=H100[0],
        gpu_product=H100[1],
        partition=P.MIG,
        mig_profile="1g.10gb",
        resource_name="nvidia.com/mig-1g.10gb",
        gpu_fraction=Decimal("0.1429"),
        memory_gb=10,
    ),
    dict(
        name="h100-80gb-mig-3g-40gb",
        display_name="H100 80GB MIG 3g.40gb (3/7 GPU)",
        gpu_model=H100[0],
        gpu_product=H100[1],
        partition=P.MIG,
        mig_profile="3g.40gb",
        resource_name="nvidia.com/mig-3g.40gb",
        gpu_fraction=Decimal("0.4286"),
        memory_gb=40,
    ),
    dict(
        name="a100-40gb",
        display_name="A100 40GB (dedicated)",
        gpu_model=A100[0],
        gpu_product=A100[1],
        partition=P.DEDICATED,
        resource_name="nvidia.com/gpu",
        gpu_fraction=Decimal("1"),
        memory_gb=40,
    ),
    dict(
        name="l4-24gb-ts4",
        display_name="L4 24GB time-sliced x4",
        gpu_model="NVIDIA L4",
        gpu_product="NVIDIA-L4",
        partition=P.TIME_SLICED,
        resource_name="nvidia.com/gpu.shared",
        gpu_fraction=Decimal("0.25"),
        replicas=4,
        memory_gb=24,
    ),
    dict(
        name="a10-24gb-mps4",
        display_name="A10 24GB MPS x4",
        gpu_model="NVIDIA A10",
        gpu_product="NVIDIA-A10",
        partition=P.MPS,
        resource_name="nvidia.com/gpu.shared",
        gpu_fraction=Decimal("0.25"),
        replicas=4,
        memory_gb=24,
    ),
]

# slug -> tenant fields, environments, members {username: role}, grants, pending requests.
# Grants and requests are (environment, profile, guaranteed, burst, justification).
TENANTS = {
    "vision": dict(
        fields=dict(
            name="Computer Vision",
            team="Vision",
            cost_center="CC-4100",
            tier="large",
            description="Image classification and detection models for the product catalogue.",
            contact_email="vision@example.com",
            oncall_contact="#vision-oncall",
        ),
        approve=True,
        environments=["dev", "staging", "prod"],
        members={"mlteam": "owner", "vision-dev": "member"},
        grants=[
            ("prod", "h100-80gb", 4, 2, "Serving the detection model at peak traffic."),
            ("staging", "a100-40gb", 2, 0, "Load tests before each release."),
            ("dev", "h100-80gb-mig-1g-10gb", 4, 4, "Notebooks and small fine-tuning runs."),
        ],
        pending=[
            (
                "staging",
                "h100-80gb-mig-3g-40gb",
                2,
                2,
                "Shadow traffic for the new segmentation model needs 40 GB slices.",
            )
        ],
    ),
    "search-ranking": dict(
        fields=dict(
            name="Search Ranking",
            team="Search",
            cost_center="CC-4200",
            tier="medium",
            description="Learning-to-rank and embedding models behind site search.",
            contact_email="search@example.com",
            oncall_contact="#search-oncall",
        ),
        approve=True,
        environments=["dev", "prod"],
        members={"search-lead": "owner"},
        grants=[
            ("prod", "l4-24gb-ts4", 8, 8, "Embedding inference, latency bound, small models."),
            ("dev", "a10-24gb-mps4", 4, 0, "Experiments with the re-ranker."),
        ],
        pending=[],
    ),
    "speech": dict(
        fields=dict(
            name="Speech Recognition",
            team="Speech",
            cost_center="CC-4300",
            tier="small",
            description="Streaming speech-to-text for the support line.",
            contact_email="speech@example.com",
            oncall_contact="",
        ),
        approve=False,
        environments=["dev", "prod"],
        members={"speech-lead": "owner"},
        grants=[],
        pending=[
            ("dev", "l4-24gb-ts4", 4, 4, "First ASR model: evaluation and fine-tuning."),
        ],
    ),
}


def seed_catalog() -> dict[str, GpuProfile]:
    profiles = {}
    for entry in CATALOG:
        defaults = {k: v for k, v in entry.items() if k != "name"}
        profiles[entry["name"]], _ = GpuProfile.objects.get_or_create(
            name=entry["name"], defaults=defaults
        )
    return profiles


def _user(username: str):
    return get_user_model().objects.get(username=username)


def _request(owner, tenant, profiles, spec):
    env, profile, guaranteed, burst, why = spec
    return services.request_quota(
        actor=owner,
        tenant=tenant,
        environment=tenant.environments.get(name=env),
        profile=profiles[profile],
        guaranteed=guaranteed,
        burst=burst,
        justification=why,
    )


@transaction.atomic
def seed_demo() -> list[Tenant]:
    """Create the catalog and demo tenants. Needs clusters.demo and the demo users first."""
    cluster = Cluster.objects.get(name=DEMO_CLUSTER)
    admin = _user("platform")
    profiles = seed_catalog()
    tenants = []
    for slug, spec in TENANTS.items():
        existing = Tenant.objects.filter(slug=slug).first()
        if existing:
            tenants.append(existing)
            continue
        owner_name, *others = spec["members"]
        owner = _user(owner_name)
        tenant = services.onboard_tenant(
            actor=owner,
            slug=slug,
            cluster=cluster,
            environments=spec["environments"],
            **spec["fields"],
        )
        for username in others:
            services.add_member(
                actor=owner, tenant=tenant, user=_user(username), role=spec["members"][username]
            )
        if spec["approve"]:
            tenant = decisions.approve_tenant(actor=admin, tenant=tenant)
            for grant in spec["grants"]:
                decisions.approve_quota_request(
                    actor=admin, quota_request=_request(owner, tenant, profiles, grant)
                )
        for pending in spec["pending"]:
            _request(owner, tenant, profiles, pending)
        tenants.append(tenant)
    return tenants
