"""SLO pages and API from stored rollups: the tenant and workload panels, the SREs' list
(lowest error budget first, broken SLIs listed as findings), the two API operations; each page
costs the same number of queries for 2 or 12 workloads."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from contracts.models import InterfaceDocument, SliDaily, SloSnapshot
from tenants.tests.factories import (
    EnvironmentFactory,
    MembershipFactory,
    TenantFactory,
    UserFactory,
    sre,
)
from workloads.tests.factories import DeploymentFactory, RevisionFactory, WorkloadFactory


@pytest.fixture
def tenant(db):
    tenant = TenantFactory(slug="search", name="Search")
    for name in ("staging", "prod"):
        EnvironmentFactory(tenant=tenant, name=name)
    return tenant


@pytest.fixture
def member(tenant):
    user = UserFactory(username="mia")
    user.save()
    MembershipFactory(tenant=tenant, user=user, role="member")
    return user


def serving(tenant, name, *, error_ratio: float | None, days: int = 28):
    """A prod workload with `days` days of 100k requests at `error_ratio` (None: no data)."""
    workload = WorkloadFactory(tenant=tenant, name=name)
    env = tenant.environments.get(name="prod")
    DeploymentFactory(current_revision=RevisionFactory(workload=workload), environment=env)
    InterfaceDocument.objects.create(
        workload=workload, availability_pct=Decimal("99.9"), p99_latency_ms=300
    )
    if error_ratio is None:
        return workload
    today = timezone.now().date()
    for i in range(days):
        SliDaily.objects.create(
            workload=workload,
            environment=env,
            day=today - timedelta(days=i),
            requests=100_000,
            errors=100_000 * error_ratio,
            latency_buckets={"0.1": 90_000, "0.25": 99_500, "+Inf": 100_000},
            pulled_at=timezone.now(),
        )
    SloSnapshot.objects.create(
        workload=workload,
        environment=env,
        state="ok",
        as_of=timezone.now(),
        error_ratio_1h=error_ratio,
        error_ratio_6h=error_ratio,
        error_ratio_24h=error_ratio,
    )
    return workload


def test_tenant_panel_shows_budget_and_burn_with_constant_queries(
    tenant, member, client, django_assert_max_num_queries
):
    serving(tenant, "ranker", error_ratio=0.0005)
    serving(tenant, "embedder", error_ratio=None)
    client.force_login(member)
    with django_assert_max_num_queries(16) as two:
        page = client.get("/contracts/slo/tenants/search/", HTTP_HX_REQUEST="true")
    text = page.content.decode()
    assert "99.950 %" in text  # attainment
    assert "50.0 %" in text  # budget left: half of 0.1 %
    assert "0.5×" in text  # burn rate
    assert "no data" in text and "1 without data" in text
    for i in range(10):
        serving(tenant, f"model-{i}", error_ratio=0.0001 * i)
    with django_assert_max_num_queries(len(two.captured_queries)):
        client.get("/contracts/slo/tenants/search/", HTTP_HX_REQUEST="true")


def test_sre_list_puts_the_lowest_budget_first_and_broken_slis_apart(
    tenant, client, django_assert_max_num_queries
):
    serving(tenant, "healthy", error_ratio=0.0001)
    serving(tenant, "burning", error_ratio=0.002)
    serving(tenant, "silent", error_ratio=None)
    client.force_login(sre(username="sam"))
    with django_assert_max_num_queries(16):
        text = client.get("/contracts/slo/").content.decode()
    broken, measured = text.split("<h2>Measured")
    assert "search/silent" in broken and "search/burning" not in broken
    assert measured.index("search/burning") < measured.index("search/healthy")
    assert "-100.0 %" in measured  # burning spent twice its budget


def test_sre_list_is_for_sres_and_admins(tenant, member, client):
    client.force_login(member)
    assert client.get("/contracts/slo/").status_code == 403


def test_workload_page_loads_the_slo_panel(tenant, member, client):
    serving(tenant, "ranker", error_ratio=0.0005)
    client.force_login(member)
    detail = client.get("/workloads/search/ranker/").content.decode()
    assert 'hx-get="/contracts/search/ranker/slo/"' in detail
    panel = client.get("/contracts/search/ranker/slo/").content.decode()
    assert "SLOs, measured" in panel and "99.950 %" in panel


def test_api_gives_a_workloads_slo_and_a_tenants_roll_up(tenant, member, client):
    workload = serving(tenant, "ranker", error_ratio=0.0005)
    serving(tenant, "embedder", error_ratio=None)
    client.force_login(member)
    (row,) = client.get(f"/api/v1/workloads/{workload.pk}/slo/").json()
    assert row["environment"] == "prod"
    assert row["attainment_pct"] == pytest.approx(99.95)
    assert row["error_budget_remaining_pct"] == pytest.approx(50.0)
    assert row["error_budget_remaining_minutes"] == pytest.approx(0.5 * 0.001 * 28 * 1440)
    assert row["burn_rate_1h"] == pytest.approx(0.5)
    assert row["p99_latency_ms"] == pytest.approx(1000 * (0.1 + 0.15 * 9_000 / 9_500))
    assert row["met"] is True and row["days_with_data"] == 28
    rollup = client.get("/api/v1/tenants/search/slo/").json()
    assert rollup["measured"] == 1 and rollup["without_data"] == 1
    assert rollup["lowest_budget_remaining_pct"] == pytest.approx(50.0)


def test_api_hides_other_tenants(tenant, client):
    workload = serving(tenant, "ranker", error_ratio=0.0005)
    other = TenantFactory(slug="ads")
    outsider = UserFactory(username="oli")
    MembershipFactory(tenant=other, user=outsider, role="member")
    client.force_login(outsider)
    assert client.get(f"/api/v1/workloads/{workload.pk}/slo/").status_code == 404
    assert client.get("/api/v1/tenants/search/slo/").status_code == 404
    assert client.get("/contracts/slo/tenants/search/").status_code == 404


def test_sre_home_loads_the_slo_list_as_a_panel(tenant, client):
    serving(tenant, "burning", error_ratio=0.002)
    client.force_login(sre(username="sam"))
    assert 'hx-get="/contracts/slo/"' in client.get("/").content.decode()
    panel = client.get("/contracts/slo/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in panel and "search/burning" in panel
