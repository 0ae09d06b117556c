"""Test data for the sync engine: an approved tenant with environments and live grants."""

from django.db import transaction

from tenants.models import Tenant
from tenants.outbox import bump_desired_generation
from tenants.tests.factories import (
    EnvironmentFactory,
    GpuProfileFactory,
    QuotaGrantFactory,
    TenantFactory,
)


def approved_tenant(cluster, *, slug="team-a", envs=("dev",), profile=None, guaranteed=2, burst=1):
    """What approval leaves behind: an active tenant, its environments, a grant per environment,
    and a bumped desired generation (the outbox row)."""
    tenant = TenantFactory(slug=slug, cluster=cluster, status=Tenant.Status.ACTIVE)
    profile = profile or GpuProfileFactory()
    for name in envs:
        env = EnvironmentFactory(tenant=tenant, name=name, cluster=cluster)
        QuotaGrantFactory(environment=env, profile=profile, guaranteed=guaranteed, burst=burst)
    with transaction.atomic():
        bump_desired_generation(tenant.pk)
    tenant.refresh_from_db()
    return tenant
