"""List and dashboard pages run a fixed number of queries, whatever the number of tenants."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clusters.tests.factories import ClusterCapacityFactory, ClusterFactory
from tenants.models import Tenant
from tenants.tests.factories import (
    EnvironmentFactory,
    GpuProfileFactory,
    MembershipFactory,
    QuotaGrantFactory,
    QuotaRequestFactory,
    TenantFactory,
    platform_admin,
)

pytestmark = pytest.mark.django_db


def add_tenants(count: int, cluster, profile, start: int = 0):
    """Tenants with an environment, a live grant, a pending request and a pending onboarding."""
    for i in range(start, start + count):
        env = EnvironmentFactory(tenant__slug=f"t-{i}", tenant__cluster=cluster)
        MembershipFactory(tenant=env.tenant)
        QuotaGrantFactory(environment=env, profile=profile, guaranteed=1)
        QuotaRequestFactory(environment=env, profile=profile, guaranteed=1)
        TenantFactory(slug=f"p-{i}", cluster=cluster, status=Tenant.Status.PENDING)


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.fixture
def grown(client):
    """Count a page's queries with 2 tenants and again with 12: they must be equal."""
    cluster = ClusterFactory()
    ClusterCapacityFactory(cluster=cluster, allocatable=1000)
    profile = GpuProfileFactory()
    admin = platform_admin()
    client.force_login(admin)
    add_tenants(2, cluster, profile)
    client.post("/tenants/p-0/approve/")  # audit events with an actor, as in real use

    def measure(url_for):
        small = queries_for(client, url_for())
        add_tenants(10, cluster, profile, start=100)
        large = queries_for(client, url_for())
        return small, large

    return measure


@pytest.mark.parametrize(
    "url",
    [
        "/tenants/",
        "/tenants/approvals/",
        "/tenants/t-0/",
        "/audit/",
        "/",
        "/api/v1/tenants/",
        "/api/v1/tenants/t-0/",
        "/api/v1/quota-requests/",
    ],
)
def test_page_query_count_does_not_grow_with_tenants(grown, url):
    small, large = grown(lambda: url)
    assert small == large, (url, small, large)


def test_tenant_list_stays_within_its_query_budget(client, django_assert_max_num_queries):
    cluster = ClusterFactory()
    add_tenants(15, cluster, GpuProfileFactory())
    client.force_login(platform_admin())
    with django_assert_max_num_queries(6):
        client.get("/tenants/")


def test_approvals_queue_stays_within_its_query_budget(client, django_assert_max_num_queries):
    cluster = ClusterFactory()
    ClusterCapacityFactory(cluster=cluster, allocatable=100)
    add_tenants(15, cluster, GpuProfileFactory())
    client.force_login(platform_admin())
    with django_assert_max_num_queries(14):
        client.get("/tenants/approvals/")


def test_tenant_detail_stays_within_its_query_budget(client, django_assert_max_num_queries):
    cluster = ClusterFactory()
    add_tenants(15, cluster, GpuProfileFactory())
    client.force_login(platform_admin())
    with django_assert_max_num_queries(12):
        client.get("/tenants/t-3/")


def test_audit_list_stays_within_its_query_budget(client, django_assert_max_num_queries):
    cluster = ClusterFactory()
    add_tenants(15, cluster, GpuProfileFactory())
    client.force_login(platform_admin())
    with django_assert_max_num_queries(8):
        client.get("/audit/")
