"""The tenant list comes in pages of 50, with links that keep the status filter and work without
JavaScript; its query count does not grow with the tenants."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clusters.tests.factories import ClusterFactory
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


def _add_tenants(count: int, *, status=Tenant.Status.ACTIVE, start: int = 0) -> None:
    """Tenants t-000... with an environment, a live grant and a pending request each."""
    cluster, profile = ClusterFactory(), GpuProfileFactory()
    for i in range(start, start + count):
        env = EnvironmentFactory(
            tenant__slug=f"t-{i:03d}", tenant__cluster=cluster, tenant__status=status
        )
        QuotaGrantFactory(environment=env, profile=profile, guaranteed=1)
        QuotaRequestFactory(environment=env, profile=profile, guaranteed=1)


def _slugs(response) -> list[str]:
    return re.findall(r'href="/tenants/(t-\d{3})/"', response.content.decode())


@pytest.fixture
def admin_client(client):
    client.force_login(platform_admin())
    return client


def test_first_page_shows_fifty_tenants_and_links_to_the_next(admin_client):
    _add_tenants(60)
    response = admin_client.get("/tenants/")
    assert _slugs(response) == [f"t-{i:03d}" for i in range(50)]
    assert 'href="?page=2" rel="next"' in response.content.decode()


def test_second_page_shows_the_rest_with_their_counts(admin_client):
    _add_tenants(60)
    response = admin_client.get("/tenants/?page=2")
    assert _slugs(response) == [f"t-{i:03d}" for i in range(50, 60)]
    body = response.content.decode()
    assert "Page 2 of 2 (60 tenants)" in body and 'href="?page=1" rel="prev"' in body
    row = body[body.index('href="/tenants/t-059/"') :].split("</tr>")[0]
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["1", "1", "1"]


def test_page_links_keep_the_status_filter(admin_client):
    _add_tenants(55, status=Tenant.Status.PENDING)
    _add_tenants(5, start=100)
    response = admin_client.get("/tenants/?status=pending")
    assert 'href="?status=pending&amp;page=2" rel="next"' in response.content.decode()
    second = admin_client.get("/tenants/?status=pending&page=2")
    assert _slugs(second) == [f"t-{i:03d}" for i in range(50, 55)]


def test_a_member_pages_only_through_their_own_tenants(client):
    _add_tenants(60)
    mine = MembershipFactory(tenant=TenantFactory(slug="t-500")).user
    client.force_login(mine)
    body = client.get("/tenants/").content.decode()
    assert _slugs(client.get("/tenants/")) == ["t-500"] and "Page 1 of" not in body


def test_a_page_number_out_of_range_shows_the_last_page(admin_client):
    _add_tenants(60)
    response = admin_client.get("/tenants/?page=7")
    assert response.status_code == 200
    assert _slugs(response)[0] == "t-050"


def test_page_queries_do_not_grow_with_the_tenants(admin_client, django_assert_max_num_queries):
    _add_tenants(120)
    with django_assert_max_num_queries(6):
        response = admin_client.get("/tenants/?page=2")
    assert len(_slugs(response)) == 50


def test_list_counts_environments_live_grants_and_pending_requests_per_tenant(admin_client):
    _add_tenants(2)
    env = EnvironmentFactory(tenant=Tenant.objects.get(slug="t-001"), name="prod")
    QuotaGrantFactory(environment=env, guaranteed=1)
    QuotaGrantFactory(environment=env, guaranteed=1, revoked_at=timezone.now())
    QuotaRequestFactory(environment=env, status="approved")
    QuotaRequestFactory(environment=env)
    body = admin_client.get("/tenants/").content.decode()
    counts = {
        slug: re.findall(r'<td class="num">(\d+)</td>', row.split("</tr>")[0])
        for slug, row in re.findall(r'href="/tenants/(t-\d{3})/"(.*?)</tr>', body, re.S)
    }
    assert counts == {"t-000": ["1", "1", "1"], "t-001": ["2", "2", "2"]}


def test_list_counts_only_for_the_page_of_tenants_it_shows(admin_client):
    """Counting through joins + GROUP BY aggregates every tenant before the LIMIT."""
    _add_tenants(3)
    with CaptureQueriesContext(connection) as queries:
        admin_client.get("/tenants/")
    listing = [q["sql"] for q in queries if 'FROM "tenants_tenant"' in q["sql"]]
    assert listing and all("GROUP BY" not in sql for sql in listing), listing
