"""Fixtures of the workloads tests: a tenant with dev/staging/prod, its team and GPU profiles."""

from decimal import Decimal

import pytest

from tenants.models import GpuProfile, TenantMembership
from tenants.tests.factories import (
    EnvironmentFactory,
    GpuProfileFactory,
    MembershipFactory,
    TenantFactory,
    UserFactory,
    mig_profile,
    time_sliced_profile,
)


def mps_profile(**kwargs) -> GpuProfile:
    defaults = dict(
        name="l4-24gb-mps",
        display_name="L4 24GB MPS x2",
        gpu_model="NVIDIA L4",
        gpu_product="NVIDIA-L4",
        partition=GpuProfile.Partition.MPS,
        resource_name="nvidia.com/gpu.shared",
        gpu_fraction=Decimal("0.5"),
        replicas=2,
        memory_gb=24,
    )
    defaults.update(kwargs)
    return GpuProfileFactory(**defaults)


@pytest.fixture
def profiles(db):
    return {
        "dedicated": GpuProfileFactory(),
        "mig": mig_profile(),
        "time-sliced": time_sliced_profile(),
        "mps": mps_profile(),
    }


@pytest.fixture
def tenant(db):
    tenant = TenantFactory(slug="search", name="Search")
    for name in ("dev", "staging", "prod"):
        EnvironmentFactory(tenant=tenant, name=name)
    return tenant


@pytest.fixture
def envs(tenant):
    return {e.name: e for e in tenant.environments.all()}


@pytest.fixture
def member(tenant):
    user = UserFactory(username="mia")
    user.save()  # the factory skips saving the password it sets; sessions check its hash
    MembershipFactory(tenant=tenant, user=user, role=TenantMembership.Role.MEMBER)
    return user


@pytest.fixture
def viewer(tenant):
    user = UserFactory(username="vic")
    user.save()
    MembershipFactory(tenant=tenant, user=user, role=TenantMembership.Role.VIEWER)
    return user
