"""Tenant isolation and role checks on EVERY URL: the resolver is walked (url_catalog.py) and
each route is called with tenant B's objects by an outsider, SRE, finance and anonymous."""

from datetime import timedelta

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from clusters.models import Cluster, SyncRun
from clusters.tests.factories import ClusterCapacityFactory, ClusterFactory
from contracts import services as contract_services
from contracts.models import InterfaceDocument, OnCallTeam
from costs.models import PriceBookEntry
from costs.tests.factories import seed_usage
from portal import roles
from tenants.models import TenantMembership
from tenants.tests.factories import (
    EnvironmentFactory,
    GpuProfileFactory,
    MembershipFactory,
    QuotaGrantFactory,
    QuotaRequestFactory,
    TenantFactory,
    UserFactory,
    finance,
    platform_admin,
    sre,
)
from workloads.models import REVISION_SPEC_FIELDS
from workloads.tests.factories import DeploymentFactory, RevisionFactory, WorkloadFactory

from .url_catalog import (
    NOT_TENANT_OWNED,
    PUBLIC,
    TENANT_OWNED,
    Route,
    routes_to_probe,
    unclassified,
)

pytestmark = pytest.mark.django_db

B_SLUG = "bravo-secret"
B_WORKLOAD = "ranker-secret"
CLUSTER_SECRET = "c1u5ter5ecret"
PAGER_SECRET = "pag3r1ntegrationkey"
API_WRITES = ("post", "put", "patch", "delete")


@pytest.fixture
def world():
    """Tenant A with its owner; tenant B with one of every kind of object."""
    cluster = ClusterFactory(
        name="gpu-iso",
        api_token=f"kube-token-{CLUSTER_SECRET}",
        prometheus_token=f"prom-token-{CLUSTER_SECRET}",
        gitops_credentials=f"git-token-{CLUSTER_SECRET}",
    )
    profile = GpuProfileFactory()
    ClusterCapacityFactory(cluster=cluster, allocatable=32)
    a = TenantFactory(slug="alpha-iso", cluster=cluster)
    EnvironmentFactory(tenant=a, name="dev")
    owner_a = UserFactory(username="owner-a")
    MembershipFactory(tenant=a, user=owner_a, role=TenantMembership.Role.OWNER)

    b = TenantFactory(slug=B_SLUG, cluster=cluster)
    envs = {name: EnvironmentFactory(tenant=b, name=name) for name in ("dev", "staging", "prod")}
    owner_b = MembershipFactory(tenant=b, user=UserFactory(username="owner-b"))
    grants = [QuotaGrantFactory(environment=e, profile=profile) for e in envs.values()]
    request_b = QuotaRequestFactory(environment=envs["dev"], profile=profile)
    workload = WorkloadFactory(tenant=b, name=B_WORKLOAD)
    rev1 = RevisionFactory(workload=workload, number=1, profile=profile)
    rev2 = RevisionFactory(workload=workload, number=2, profile=profile)
    DeploymentFactory(
        current_revision=rev2, previous_revision=rev1, environment=envs["dev"], workload=workload
    )
    contract_services.ensure_document(workload)
    SyncRun.objects.create(
        tenant_id=b.pk, tenant_slug=b.slug, cluster=cluster, status=SyncRun.Status.SUCCEEDED
    )
    today = timezone.now().date()
    seed_usage(envs["dev"], profile, start=today - timedelta(days=3), days=2, workload=B_WORKLOAD)
    team = OnCallTeam.objects.create(
        name="sre-core",
        display_name="SRE",
        email="sre@example.com",
        pager_url=f"https://pager.example.com/integration/{PAGER_SECRET}",
    )
    InterfaceDocument.objects.filter(workload=workload).update(owner_team=team, sre_contact=team)
    PriceBookEntry.objects.create(
        gpu_model=profile.gpu_model, hourly_price="4.00", effective_from=today - timedelta(days=30)
    )
    spec = model_to_dict(rev2, fields=REVISION_SPEC_FIELDS)
    spec = {k: ("" if v is None else v) for k, v in spec.items()}
    objects = {
        "tenant": b.slug,
        "workload_name": workload.name,
        "workload": workload.pk,
        "quota_request": request_b.pk,
        "grant": grants[0].pk,
        "membership": owner_b.pk,
        "section": "slos",
        "cluster": cluster.name,
        "profile": profile.name,
        "oncall_team": team.pk,
        "onboard_field": "slug",
        "reset": "x",
        "guide_path": "guides/ml-teams/",
    }
    missing = objects | {
        "tenant": "no-such-tenant",
        "workload_name": "no-such-workload",
        "workload": 999_999,
        "quota_request": 999_999,
        "grant": 999_999,
        "membership": 999_999,
    }
    slos = {"p99_latency_ms": 150, "availability_pct": "99.5", "max_cold_start_s": 60}
    start, end = (today - timedelta(days=7)).isoformat(), today.isoformat()
    payloads = {
        "tenants:quota_capacity": {"profile": profile.pk, "environment": envs["dev"].pk},
        "tenants:request_quota": {
            "environment": envs["dev"].pk,
            "profile": profile.pk,
            "guaranteed": 1,
            "burst": 0,
            "justification": "more",
        },
        "tenants:quota_reject": {"reason": "no"},
        "tenants:reject": {"reason": "no"},
        "tenants:add_member": {"username": owner_a.username, "role": "owner"},
        "workloads:create": {"name": "new-one", "template": "inference", **spec},
        "workloads:revise": spec | {"replicas": 3},
        "workloads:promote": {"environment": "staging"},
        "workloads:rollback": {"environment": "dev", "reason": "bad"},
        "workloads:canary": {"environment": "dev", "revision": 1, "percent": 10},
        "contracts:edit_section": slos,
        "costs:tenant": {"start": start, "end": end},
        "api-tenant-reject": {"reason": "no"},
        "api-quota-request-reject": {"reason": "no"},
        "api-workload-revisions": {"replicas": 3},
        "api-workload-promote": {"environment": "staging"},
        "api-workload-rollback": {"environment": "dev", "reason": "bad"},
        "api-interface-document": {"section": "slos", **slos},
        "costs-tenant": {"start": start, "end": end},
        # writes that take no tenant-owned parameter
        "tenants:onboard": {
            "name": "Grab",
            "slug": "grab",
            "team": "Grab",
            "cost_center": "CC-1",
            "environments": ["dev"],
            "contact_email": "grab@example.com",
            "tier": "small",
            "cluster": cluster.pk,
        },
        "api-tenants": {
            "name": "Grab",
            "slug": "grab",
            "team": "Grab",
            "cost_center": "CC-1",
            "contact_email": "grab@example.com",
            "cluster": cluster.name,
            "environments": ["dev"],
        },
        "api-quota-requests": {
            "tenant": B_SLUG,
            "environment": "dev",
            "profile": profile.name,
            "guaranteed": 1,
            "justification": "more",
        },
        "api-workloads": {
            "tenant": B_SLUG,
            "name": "new-one",
            "template": "inference",
            **(spec | {"profile": profile.name}),
        },
        "clusters:create": {"name": "gpu-grab", "kubernetes_version": "1.31", "backend": "gitops"},
        "clusters:edit": {"name": cluster.name, "kubernetes_version": "1.30", "backend": "gitops"},
        "clusters:capacity_override": {
            "gpu_product": "NVIDIA-H100-80GB-HBM3",
            "resource_name": "nvidia.com/gpu",
            "override": 1,
        },
        "api-clusters": {"name": "gpu-grab", "kubernetes_version": "1.31"},
        "api-cluster": {"kubernetes_version": "1.30"},
        "api-gpu-profiles": {
            "name": "grab-gpu",
            "display_name": "Grab",
            "gpu_model": "X",
            "gpu_product": "X",
            "partition": "dedicated",
            "resource_name": "nvidia.com/gpu",
            "gpu_fraction": "1",
        },
        "api-gpu-profile": {"is_active": False},
        "contracts:oncall": {"name": "grab-team", "display_name": "G", "email": "g@example.com"},
        "contracts:oncall_edit": {"display_name": "Renamed", "email": "r@example.com"},
        "api-oncall": {"name": "grab-team", "display_name": "G", "email": "g@example.com"},
        "api-oncall-item": {"display_name": "Renamed"},
        "costs:price_book": {
            "gpu_model": profile.gpu_model,
            "hourly_price": "9.00",
            "currency": "USD",
            "effective_from": today.isoformat(),
        },
        "price-book": {
            "gpu_model": profile.gpu_model,
            "hourly_price": "9.00",
            "effective_from": today.isoformat(),
        },
    }
    return {
        "owner_a": owner_a,
        "owner_b": owner_b.user,
        "objects": objects,
        "missing": missing,
        "payloads": payloads,
    }


def database_fingerprint() -> dict[str, str]:
    """md5 of every row of every table (sessions aside), in one query."""
    tables = sorted(
        t for t in connection.introspection.django_table_names() if t != "django_session"
    )
    sql = " UNION ALL ".join(
        f"SELECT '{t}', md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) FROM \"{t}\" r"
        for t in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(cursor.fetchall())


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(t for t in before if before[t] != after[t])


def fill(route: Route, values: dict) -> str:
    table = TENANT_OWNED if route.name in TENANT_OWNED else NOT_TENANT_OWNED
    kinds = table[route.name]
    return route.path({p: values[kinds[p]] for p in route.parameters})


def web_client(user=None) -> Client:
    client = Client(raise_request_exception=False)
    if user:
        client.force_login(user)
    return client


def api_client(user=None) -> APIClient:
    client = APIClient(raise_request_exception=False)
    if user:
        client.force_authenticate(user)
    return client


def call(client, route: Route, method: str, url: str, data: dict, htmx: bool = False):
    headers = {"HX-Request": "true"} if htmx else {}
    if route.is_api:
        if method == "get":
            return client.get(url, data, headers=headers)
        return getattr(client, method)(url, data, format="json", headers=headers)
    return getattr(client, method)(url, data, headers=headers)


def tenant_routes() -> list[Route]:
    return [r for r in routes_to_probe() if r.name in TENANT_OWNED]


def web_methods(route: Route) -> tuple[str, ...]:
    return ("get", "post") if not route.is_api else ("get", *API_WRITES)


# --- the catalogue is complete ---------------------------------------------------------------


def test_every_url_pattern_is_classified_with_known_parameter_names():
    routes = routes_to_probe()
    assert len(routes) > 80  # the walker found the whole project, not one include
    assert unclassified(routes) == []


def test_the_catalogue_names_no_route_that_does_not_exist():
    names = {r.name for r in routes_to_probe()}
    assert set(TENANT_OWNED) - names == set()
    assert set(NOT_TENANT_OWNED) - names == set()


def test_the_walker_fails_on_an_unknown_parameter_or_an_uncatalogued_route():
    new = [
        Route("tenants:export", "tenants/<slug:slug>/export.csv", ("slug",)),
        Route("api-grant", "api/v1/grants/<int:grant_id>/", ("grant_id",)),
    ]
    problems = unclassified(new)
    assert any("tenants:export" in p and "neither" in p for p in problems)
    assert any("unknown parameter(s) ['grant_id']" in p for p in problems)


# --- an owner of tenant A against tenant B's URLs ---------------------------------------------


def test_an_owner_of_tenant_a_gets_404_on_every_tenant_b_url_and_nothing_changes(world):
    web, api = web_client(world["owner_a"]), api_client(world["owner_a"])
    failures = []
    before = database_fingerprint()
    # tenant B's objects, and B's objects under A's own slug (a view that checks the slug but
    # loads the pk unscoped would serve them)
    mixed, mixed_missing = (
        world["objects"] | {"tenant": "alpha-iso"},
        world["missing"] | {"tenant": "alpha-iso"},
    )
    calls = [(r, world["objects"], world["missing"]) for r in tenant_routes()]
    calls += [(r, mixed, mixed_missing) for r in tenant_routes() if len(r.parameters) > 1]
    for route, values, missing in calls:
        client = api if route.is_api else web
        url = fill(route, values)
        data = world["payloads"].get(route.name, {})
        for method in web_methods(route):
            for htmx in (False, True) if not route.is_api else (False,):
                response = call(client, route, method, url, data, htmx)
                status = response.status_code
                if status in (403, 405):
                    # refused before any lookup (method not served, or not allowed in tenant A
                    # itself): a missing object gets the same answer, so nothing about B leaks
                    ghost = call(client, route, method, fill(route, missing), data, htmx)
                    if ghost.status_code == status and (status == 405 or values is mixed):
                        continue
                if status != 404:
                    failures.append(f"{method.upper()} {url} htmx={htmx}: {status}")
                elif route.is_api and response["Content-Type"] != "application/problem+json":
                    failures.append(f"{method.upper()} {url}: 404 as {response['Content-Type']}")
                elif B_SLUG.encode() in response.content:
                    failures.append(f"{method.upper()} {url}: 404 page names {B_SLUG}")
    assert failures == []
    assert changed_tables(before, database_fingerprint()) == []


def test_head_and_options_on_tenant_b_urls_answer_as_for_a_missing_object(world):
    """OPTIONS (DRF metadata) and HEAD never run the object lookup on some views: whatever they
    answer must be indistinguishable from the answer for an object that does not exist."""
    web, api = web_client(world["owner_a"]), api_client(world["owner_a"])
    failures = []
    before = database_fingerprint()
    for route in tenant_routes():
        client = api if route.is_api else web
        for method in ("head", "options"):
            response = getattr(client, method)(fill(route, world["objects"]))
            ghost = getattr(client, method)(fill(route, world["missing"]))
            distinguishable = (response.status_code, response.content) != (
                ghost.status_code,
                ghost.content,
            )
            if (
                distinguishable
                or response.status_code >= 500
                or B_SLUG.encode() in response.content
            ):
                failures.append(f"{method.upper()} {route.route}: {response.status_code}")
    assert failures == []
    assert changed_tables(before, database_fingerprint()) == []


def test_tenant_b_named_in_a_request_body_is_refused_and_nothing_changes(world):
    """Shared endpoints that take the tenant (or its environment) in the body, not the URL."""
    web, api = web_client(world["owner_a"]), api_client(world["owner_a"])
    payloads = world["payloads"]
    before = database_fingerprint()
    for url, name in (
        ("/api/v1/quota-requests/", "api-quota-requests"),
        ("/api/v1/workloads/", "api-workloads"),
    ):
        response = api.post(url, payloads[name], format="json")
        assert response.status_code == 404, (url, response.status_code)
        assert response["Content-Type"] == "application/problem+json"
    # B's environment id in tenant A's own quota form
    response = web.post("/tenants/alpha-iso/quota/", payloads["tenants:request_quota"])
    assert response.status_code == 200 and b"environment" in response.content
    assert changed_tables(before, database_fingerprint()) == []


def test_an_owner_of_tenant_a_sees_nothing_of_tenant_b_on_any_other_url(world):
    """Lists, exports and shared pages either refuse or leave tenant B out, even when their
    query string asks for it."""
    web, api = web_client(world["owner_a"]), api_client(world["owner_a"])
    filters = {"tenant": B_SLUG, "slug": B_SLUG, "workload": B_WORKLOAD, "status": "active"}
    failures = []
    for route in routes_to_probe():
        if route.name in TENANT_OWNED or route.name == "logout":
            continue
        url = fill(route, world["objects"])
        response = call(api if route.is_api else web, route, "get", url, filters)
        if response.status_code >= 500:
            failures.append(f"GET {url}: {response.status_code}")
        elif B_SLUG.encode() in response.content or B_WORKLOAD.encode() in response.content:
            failures.append(f"GET {url}: {response.status_code} shows tenant B")
    assert failures == []


def test_the_same_urls_serve_tenant_b_to_its_own_owner(world):
    """Control: the filled URLs are right, so the 404s above come from the isolation."""
    web, api = web_client(world["owner_b"]), api_client(world["owner_b"])
    failures = []
    for route in tenant_routes():
        url = fill(route, world["objects"])
        response = call(api if route.is_api else web, route, "get", url, {})
        if response.status_code not in (200, 405):
            failures.append(f"GET {url}: {response.status_code}")
    assert failures == []


# --- SRE and finance: read everything, write only what their role owns ----------------------

# Tenant-owned web pages that only read (a POST to them writes nothing either).
TENANT_READS = {
    "tenants_sync:panel",
    "tenants:detail",
    "tenants:quota_capacity",
    "workloads:list",
    "workloads:detail",
    "contracts:document",
    "contracts:document_md",
    "costs:tenant",
}
# Writes that take no tenant-owned parameter and are not the user's own account.
SHARED_WRITES = {
    "tenants:onboard",
    "clusters:create",
    "clusters:edit",
    "clusters:capacity_override",
    "contracts:oncall",
    "contracts:oncall_edit",
    "costs:price_book",
    "api-tenants",
    "api-quota-requests",
    "api-workloads",
    "api-gpu-profiles",
    "api-gpu-profile",
    "api-clusters",
    "api-cluster",
    "api-oncall",
    "api-oncall-item",
    "price-book",
}
# What each role may write (issue 4: SREs keep the on-call directory, edit SLOs/alerts/on-call
# and sign off; workloads.services.rollback lets an SRE roll back; issue 5: finance writes the
# price book). Interface-document sections are probed with the ML team's "model" section.
MAY_WRITE = {
    "sre": {
        "contracts:sign_off",
        "api-interface-document-sign-off",
        "workloads:rollback",
        "api-workload-rollback",
        "contracts:oncall",
        "contracts:oncall_edit",
        "api-oncall",
        "api-oncall-item",
    },
    "finance": {"costs:price_book", "price-book"},
    # a viewer of tenant B is an ML team member: onboarding a new tenant of their own is theirs
    "viewer": {"tenants:onboard", "api-tenants"},
}
MODEL_SECTION = {"model_name": "stolen", "accuracy_metric": "x", "accuracy_drift_pct": 1}


def write_calls(world):
    """(route, method, url, data) for every write the walker knows of."""
    objects = world["objects"] | {"section": "model"}
    payloads = world["payloads"] | {"api-interface-document": {"section": "model", **MODEL_SECTION}}
    payloads["contracts:edit_section"] = MODEL_SECTION
    for route in routes_to_probe():
        if route.name not in TENANT_OWNED and route.name not in SHARED_WRITES:
            continue
        url = fill(route, objects)
        for method in API_WRITES if route.is_api else ("post",):
            yield route, method, url, payloads.get(route.name, {})


def user_with_role(role: str, world):
    if role == "viewer":
        user = UserFactory(username="viewer-b", groups=[roles.ML_TEAM])
        tenant = TenantMembership.objects.get(pk=world["objects"]["membership"]).tenant
        MembershipFactory(tenant=tenant, user=user, role=TenantMembership.Role.VIEWER)
        return user
    return {"sre": sre, "finance": finance}[role](username=f"{role}-user")


@pytest.mark.parametrize("role", ["sre", "finance", "viewer"])
def test_sre_finance_and_viewers_get_no_2xx_on_writes_their_role_does_not_own(world, role):
    user = user_with_role(role, world)
    web, api = web_client(user), api_client(user)
    failures = []
    for route, method, url, data in write_calls(world):
        if route.name in MAY_WRITE[role]:
            continue
        before = database_fingerprint()
        response = call(api if route.is_api else web, route, method, url, data)
        status = response.status_code
        if status >= 500 or (200 <= status < 300 and route.name not in TENANT_READS):
            failures.append(f"{method.upper()} {url}: {status}")
        changed = changed_tables(before, database_fingerprint())
        if changed:
            failures.append(f"{method.upper()} {url}: {status}, wrote {changed}")
    assert failures == []


def test_sre_and_finance_may_write_what_their_role_owns(world):
    """Control: the payloads above are valid, so the refusals come from the role checks."""
    sre_web, sre_api = web_client(sre(username="sre-user")), api_client(sre())
    fin_api = api_client(finance(username="finance-user"))
    pk = world["objects"]["workload"]
    slos = world["payloads"]["api-interface-document"]
    assert (
        sre_api.patch(
            f"/api/v1/workloads/{pk}/interface-document/", slos, format="json"
        ).status_code
        == 200
    )
    oncall = world["payloads"]["contracts:oncall"]
    assert sre_web.post("/contracts/oncall/", oncall).status_code == 302
    assert OnCallTeam.objects.filter(name="grab-team").exists()
    price = world["payloads"]["price-book"]
    assert fin_api.post("/api/v1/price-book/", price, format="json").status_code == 201


# --- anonymous ---------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login_or_refused_on_every_url_but_the_public_ones(world):
    web, api = web_client(), api_client()
    failures = []
    before = database_fingerprint()
    for route in routes_to_probe():
        url = fill(route, world["objects"])
        for method in ("get", "post"):
            client = api if route.is_api else web
            response = call(client, route, method, url, world["payloads"].get(route.name, {}))
            status = response.status_code
            if route.name in PUBLIC:
                ok = status < 500
            elif route.is_api:
                ok = status in (401, 403)
            else:
                ok = status == 302 and response["Location"].startswith("/accounts/login/?next=")
            if not ok:
                failures.append(f"{method.upper()} {url}: {status} {response.get('Location', '')}")
    assert failures == []
    assert changed_tables(before, database_fingerprint()) == []


def test_anonymous_and_tenant_members_are_sent_to_the_admin_login(world):
    for client in (web_client(), web_client(world["owner_a"])):
        response = client.get("/admin/")
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


# --- credentials are never rendered back ------------------------------------------------------


def test_no_page_or_endpoint_renders_cluster_credentials_or_pager_keys_to_the_wrong_role(world):
    """Cluster tokens reach nobody; pager URLs (integration keys) only SREs and admins."""
    users = {
        "platform-admin": platform_admin(username="admin-user"),
        "sre": sre(username="sre-user"),
        "finance": finance(username="finance-user"),
        "owner-b": world["owner_b"],
        "owner-a": world["owner_a"],
    }
    # controls: the secrets are there to leak, and a page that may show the pager URL shows it
    assert CLUSTER_SECRET in Cluster.objects.get(name="gpu-iso").api_token
    assert PAGER_SECRET in web_client(users["sre"]).get("/contracts/oncall/").content.decode()
    failures = []
    for who, user in users.items():
        web, api = web_client(user), api_client(user)
        for route in routes_to_probe():
            if route.name == "logout":
                continue
            url = fill(route, world["objects"])
            data = world["payloads"].get(route.name, {})
            for htmx in (False,) if route.is_api else (False, True):
                response = call(api if route.is_api else web, route, "get", url, data, htmx)
                body = b"".join(response) if response.streaming else response.content
                if CLUSTER_SECRET.encode() in body:
                    failures.append(f"{who} GET {url}: cluster credential")
                if PAGER_SECRET.encode() in body and who not in ("platform-admin", "sre"):
                    failures.append(f"{who} GET {url}: pager integration key")
    assert failures == []


# --- cross-site requests -----------------------------------------------------------------------


def test_every_write_without_a_csrf_token_is_refused_for_a_signed_in_owner(world):
    """A signed-in owner's browser carries the session cookie to any site's form: web POSTs and
    session-authenticated API writes need the CSRF token (Django and DRF SessionAuthentication)."""
    web = Client(enforce_csrf_checks=True, raise_request_exception=False)
    web.force_login(world["owner_b"])
    api = APIClient(enforce_csrf_checks=True, raise_request_exception=False)
    api.force_login(world["owner_b"])
    failures = []
    before = database_fingerprint()
    for route, method, url, data in write_calls(world):
        response = call(api if route.is_api else web, route, method, url, data)
        if response.status_code not in (403, 405):
            failures.append(f"{method.upper()} {url}: {response.status_code}")
    assert failures == []
    assert changed_tables(before, database_fingerprint()) == []
