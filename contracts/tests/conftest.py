"""Fixtures of the contracts tests: a workload of the 'search' tenant and its on-call teams."""

import pytest

from contracts.models import OnCallTeam
from tenants.tests.factories import (
    EnvironmentFactory,
    MembershipFactory,
    TenantFactory,
    UserFactory,
)
from workloads.tests.factories import RevisionFactory, WorkloadFactory


@pytest.fixture
def tenant(db):
    tenant = TenantFactory(slug="search", name="Search")
    for name in ("dev", "staging", "prod"):
        EnvironmentFactory(tenant=tenant, name=name)
    return tenant


@pytest.fixture
def workload(tenant):
    workload = WorkloadFactory(tenant=tenant, name="ranker")
    RevisionFactory(workload=workload, number=1)
    return workload


@pytest.fixture
def member(tenant):
    user = UserFactory(username="mia")
    user.save()  # the factory skips saving the password it sets; sessions check its hash
    MembershipFactory(tenant=tenant, user=user, role="member")
    return user


@pytest.fixture
def teams(db):
    return {
        name: OnCallTeam.objects.create(
            name=name, display_name=name.title(), email=f"{name}@example.com"
        )
        for name in ("search-ml", "gpu-platform", "sre-core")
    }
