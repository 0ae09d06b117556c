"""Fixtures of the guardrails tests: an active tenant with dev/staging/prod, a grant of every
GPU profile in every environment, and the platform's registry allow-list."""

from decimal import Decimal

import pytest

from guardrails.models import ClusterGuardrails, GuardrailSettings
from tenants.models import GpuProfile
from tenants.tests.factories import (
    EnvironmentFactory,
    GpuProfileFactory,
    QuotaGrantFactory,
    TenantFactory,
    mig_profile,
    time_sliced_profile,
)


@pytest.fixture
def profiles(db):
    return {
        "dedicated": GpuProfileFactory(),
        "mig": mig_profile(),
        "time-sliced": time_sliced_profile(),
        "mps": GpuProfileFactory(
            name="l4-24gb-mps",
            display_name="L4 24GB MPS x2",
            gpu_model="NVIDIA L4",
            gpu_product="NVIDIA-L4",
            partition=GpuProfile.Partition.MPS,
            resource_name="nvidia.com/gpu.shared",
            gpu_fraction=Decimal("0.5"),
            replicas=2,
            memory_gb=24,
        ),
    }


@pytest.fixture
def tenant(db, profiles):
    tenant = TenantFactory(slug="search", name="Search")
    for name in ("dev", "staging", "prod"):
        env = EnvironmentFactory(tenant=tenant, name=name)
        for profile in profiles.values():
            QuotaGrantFactory(environment=env, profile=profile, guaranteed=2, burst=1)
    return tenant


@pytest.fixture
def envs(tenant):
    return {e.name: e for e in tenant.environments.all()}


@pytest.fixture
def registries(db):
    return GuardrailSettings.objects.create(pk=1, allowed_registries=["registry.example.com"])


@pytest.fixture
def enforcing(tenant):
    return ClusterGuardrails.objects.create(cluster=tenant.cluster, mode="enforce")
