"""Cost pages and API: who sees what, constant SQL query counts whatever the number of tenants
and days, CSV export, bad input answered with problem+json."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from clusters.tests.factories import ClusterCapacityFactory, ClusterFactory
from costs.models import PriceBookEntry, Source
from costs.tests.factories import seed_usage
from tenants.tests.factories import (
    EnvironmentFactory,
    GpuProfileFactory,
    MembershipFactory,
    TenantFactory,
    UserFactory,
    finance,
    platform_admin,
    sre,
)

START = date(2026, 3, 1)
RANGE = {"start": "2026-03-01", "end": "2026-03-31"}


@pytest.fixture
def profile(db):
    profile = GpuProfileFactory()
    PriceBookEntry.objects.create(
        gpu_model=profile.gpu_model, hourly_price=Decimal("2.50"), effective_from=date(2026, 1, 1)
    )
    return profile


def _world(profile, *, tenants: int, days: int, prefix="t"):
    cluster = ClusterFactory(name="east")
    if not cluster.capacities.exists():
        ClusterCapacityFactory(cluster=cluster, allocatable=64)
    made = []
    for i in range(tenants):
        tenant = TenantFactory(slug=f"{prefix}{i}", cluster=cluster)
        for env in ("dev", "prod"):
            environment = EnvironmentFactory(tenant=tenant, name=env)
            seed_usage(environment, profile, start=START, days=days, units=2, workload="svc")
        made.append(tenant)
    return made


def _login(client, user):
    # the user factories set the password after creating the row: save it so the session's
    # password hash matches
    user.save()
    client.force_login(user)


def _count_queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or RANGE)
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries)


def test_finance_overview_query_count_does_not_grow_with_tenants_or_days(
    profile, client, django_assert_max_num_queries
):
    _login(client, finance())
    _world(profile, tenants=2, days=2, prefix="a")
    small = _count_queries(client, "/costs/")
    _world(profile, tenants=12, days=9, prefix="b")

    with django_assert_max_num_queries(small):
        large = _count_queries(client, "/costs/")

    assert large == small <= 10


def test_tenant_page_query_count_does_not_grow_with_days_or_environments(
    profile, client, django_assert_max_num_queries
):
    admin = platform_admin()
    _login(client, admin)
    [small_tenant] = _world(profile, tenants=1, days=2, prefix="a")
    small = _count_queries(client, f"/costs/tenants/{small_tenant.slug}/")
    [large_tenant] = _world(profile, tenants=1, days=20, prefix="b")
    EnvironmentFactory(tenant=large_tenant, name="staging")

    with django_assert_max_num_queries(small):
        large = _count_queries(client, f"/costs/tenants/{large_tenant.slug}/")

    assert large == small <= 14


def test_costs_api_query_count_does_not_grow_with_tenants(profile):
    api = APIClient()
    api.force_authenticate(finance())
    _world(profile, tenants=2, days=2, prefix="a")
    api.get("/api/v1/costs/tenants/")  # warm the per-user role cache
    small = _count_queries(api, "/api/v1/costs/tenants/")
    _world(profile, tenants=10, days=5, prefix="b")

    assert _count_queries(api, "/api/v1/costs/tenants/") == small


def test_tenant_page_shows_cost_to_a_member(profile, client):
    [tenant] = _world(profile, tenants=1, days=2)
    member = MembershipFactory(tenant=tenant).user
    _login(client, member)

    response = client.get(f"/costs/tenants/{tenant.slug}/", RANGE)

    assert response.status_code == 200
    # 2 environments x 2 units x 48 hours x 2.50
    assert "480.00 USD" in response.content.decode()


@pytest.mark.parametrize("make_user", [finance, platform_admin])
def test_tenant_page_is_open_to_finance_and_admins(profile, client, make_user):
    [tenant] = _world(profile, tenants=1, days=1)
    _login(client, make_user())

    assert client.get(f"/costs/tenants/{tenant.slug}/").status_code == 200


@pytest.mark.parametrize("make_user", [UserFactory, sre])
def test_tenant_page_is_404_for_non_members(profile, client, make_user):
    [tenant] = _world(profile, tenants=1, days=1)
    _login(client, make_user())

    assert client.get(f"/costs/tenants/{tenant.slug}/").status_code == 404


def test_costs_api_of_another_tenant_is_404(profile):
    a, b = _world(profile, tenants=2, days=1)
    api = APIClient()
    api.force_authenticate(MembershipFactory(tenant=a).user)

    assert api.get(f"/api/v1/costs/tenants/{b.slug}/").status_code == 404


def test_costs_api_lists_only_the_members_own_tenants(profile):
    a, _b = _world(profile, tenants=2, days=1)
    api = APIClient()
    api.force_authenticate(MembershipFactory(tenant=a).user)

    rows = api.get("/api/v1/costs/tenants/", RANGE).json()["results"]

    assert [r["tenant"] for r in rows] == [a.slug]


def test_finance_overview_is_forbidden_to_ml_teams(profile, client):
    _login(client, UserFactory())

    assert client.get("/costs/").status_code == 403


@pytest.mark.parametrize(
    "params",
    [{"start": "2026-13-01"}, {"start": "yesterday"}, {"start": "2026-03-05", "end": "2026-03-01"}],
)
def test_costs_api_bad_dates_are_400_problem_json(profile, params):
    api = APIClient()
    api.force_authenticate(finance())

    response = api.get("/api/v1/costs/tenants/", params)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert "start" in response.json()["errors"]


def test_costs_api_bad_group_by_is_400(profile):
    [tenant] = _world(profile, tenants=1, days=1)
    api = APIClient()
    api.force_authenticate(finance())

    response = api.get(f"/api/v1/costs/tenants/{tenant.slug}/", {**RANGE, "group_by": "pod"})

    assert response.status_code == 400
    assert "group_by" in response.json()["errors"]


def test_costs_api_groups_a_tenant_by_day(profile):
    [tenant] = _world(profile, tenants=1, days=3)
    api = APIClient()
    api.force_authenticate(finance())

    body = api.get(
        f"/api/v1/costs/tenants/{tenant.slug}/",
        {"start": "2026-03-01", "end": "2026-03-03", "group_by": "day"},
    ).json()

    assert [r["day"] for r in body["results"]] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert [r["cost_allocated"] for r in body["results"]] == ["240.00"] * 3


def test_overview_csv_has_a_row_per_tenant_and_totals(profile, client):
    _world(profile, tenants=3, days=1)
    _login(client, finance())

    response = client.get("/costs/export.csv", {"start": "2026-03-01", "end": "2026-03-01"})

    lines = response.content.decode().strip().splitlines()
    assert response["Content-Type"] == "text/csv"
    assert lines[0].startswith("tenant,cost_center,gpu_hours_allocated")
    assert [line.split(",")[0] for line in lines[1:]] == ["t0", "t1", "t2", "TOTAL"]
    assert lines[-1].split(",")[5] == "720.00"  # 3 tenants x 2 envs x 2 units x 24h x 2.50


def test_overview_sorts_by_cost_descending(profile, client):
    cluster = ClusterFactory(name="east")
    for slug, units in (("small", 1), ("big", 8), ("mid", 3)):
        env = EnvironmentFactory(tenant=TenantFactory(slug=slug, cluster=cluster))
        seed_usage(env, profile, start=START, days=1, units=units)
    _login(client, finance())

    response = client.get("/costs/", {**RANGE, "sort": "-cost"})

    assert [r.tenant.slug for r in response.context["rows"]] == ["big", "mid", "small"]


def test_demo_rows_are_marked_as_demo_data_on_the_page(profile, client):
    env = EnvironmentFactory(tenant=TenantFactory(slug="demo-team"))
    seed_usage(env, profile, start=START, days=1, source=Source.DEMO)
    _login(client, finance())

    assert b"Demo data" in client.get("/costs/tenants/demo-team/", RANGE).content
    assert b"Demo data" in client.get("/costs/", RANGE).content


def test_pull_status_partial_is_404_for_ml_teams(db, client):
    cluster = ClusterFactory(name="east")
    _login(client, UserFactory())

    assert client.get(f"/costs/clusters/{cluster.name}/pull-status/").status_code == 404


def test_platform_view_shows_idle_capacity_per_resource(profile, client):
    [tenant] = _world(profile, tenants=1, days=1)
    _login(client, platform_admin())

    response = client.get("/costs/platform/", {"start": "2026-03-01", "end": "2026-03-01"})

    [usage] = response.context["usage"]
    assert usage.capacity == 64
    assert usage.allocated_gpu_hours == pytest.approx(2 * 2 * 24)
    assert usage.idle_gpu_hours == pytest.approx(2 * 2 * 24 * 0.5)


def test_overview_sort_over_htmx_swaps_only_the_table(profile, client):
    _world(profile, tenants=2, days=1)
    _login(client, finance())

    response = client.get("/costs/", {**RANGE, "sort": "tenant"}, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert "<h1>" not in body
    assert "<table" in body and "t0" in body


def test_rows_stored_before_their_environment_existed_are_attributed_later(profile):
    from costs.models import DailyUsage, HourlyUsage
    from costs.services import reattribute_namespaces

    env = EnvironmentFactory(tenant=TenantFactory(slug="late"), name="dev")
    seed_usage(env, profile, start=START, days=1)
    HourlyUsage.objects.update(tenant=None, environment=None)
    DailyUsage.objects.update(tenant=None, environment=None)

    reattribute_namespaces()

    assert set(HourlyUsage.objects.values_list("environment_id", flat=True)) == {env.pk}
    assert set(DailyUsage.objects.values_list("tenant_id", flat=True)) == {env.tenant_id}


def test_pruning_hourly_rows_keeps_the_daily_costs(profile):
    from datetime import UTC, datetime

    from costs.models import DailyUsage, HourlyUsage
    from costs.services import prune_hourly

    env = EnvironmentFactory(tenant=TenantFactory(slug="old"), name="dev")
    seed_usage(env, profile, start=START, days=3)

    deleted = prune_hourly(keep_days=1, now=datetime(2026, 3, 3, 12, tzinfo=UTC))

    assert deleted == 24  # March 1; from March 2 00:00 (a day before "now", whole days) kept
    assert HourlyUsage.objects.count() == 48
    assert DailyUsage.objects.count() == 3
