"""Firing alerts and rollout silences against a real Alertmanager (Debian's
prometheus-alertmanager 0.25 on 127.0.0.1) started with the configuration the portal generates:
alerts posted to it show on their own tenant's page only, with the team the route pages; a
silence created from the workload page is in Alertmanager (read back with `amtool`)."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from clusters.tests.factories import ClusterFactory
from contracts import selectors
from contracts.alertmanager import receivers_for, to_yaml
from contracts.models import AlertPolicy, AlertSilence, InterfaceDocument, OnCallTeam
from contracts.tests.alertmanager_server import start_alertmanager
from portal.testing.prometheus import free_port
from tenants.tests.factories import (
    EnvironmentFactory,
    MembershipFactory,
    TenantFactory,
    UserFactory,
)
from workloads.tests.factories import DeploymentFactory, RevisionFactory, WorkloadFactory


def _team(name, display):
    return OnCallTeam.objects.create(name=name, display_name=display, email=f"{name}@example.com")


@pytest.fixture
def world(db):
    teams = {
        "search-ml": _team("search-ml", "Search ML"),
        "ads-ml": _team("ads-ml", "Ads ML"),
        "sre-core": _team("sre-core", "SRE core"),
    }
    cluster = ClusterFactory(name="gpu-east")
    out = {"cluster": cluster, "teams": teams, "members": {}}
    for slug, owner in (("search", "search-ml"), ("ads", "ads-ml")):
        tenant = TenantFactory(slug=slug, name=slug.title(), cluster=cluster)
        envs = {n: EnvironmentFactory(tenant=tenant, name=n) for n in ("staging", "prod")}
        workload = WorkloadFactory(tenant=tenant, name="ranker")  # same name in both tenants
        revision = RevisionFactory(workload=workload, number=1)
        DeploymentFactory(current_revision=revision, environment=envs["prod"])
        document = InterfaceDocument.objects.create(
            workload=workload,
            owner_team=teams[owner],
            sre_contact=teams["sre-core"],
            platform_contact=teams["sre-core"],
            p99_latency_ms=300,
            availability_pct=99.9,
        )
        AlertPolicy.objects.create(document=document, signal="latency", paged_team=teams[owner])
        user = UserFactory(username=f"{slug}-member")
        user.save()
        MembershipFactory(tenant=tenant, user=user, role="member")
        out[slug] = workload
        out["members"][slug] = user
    return out


@pytest.fixture
def alertmanager(world, tmp_path):
    server = start_alertmanager(to_yaml(selectors.alertmanager_config()), tmp_path / "am")
    world["cluster"].alertmanager_url = server.url
    world["cluster"].save()
    yield server
    server.stop()


def alert(tenant, team, name, signal, started):
    return {
        "labels": {
            "alertname": name,
            "tenant": tenant,
            "workload": "ranker",
            "environment": "prod",
            "team": team,
            "severity": "critical",
            "signal": signal,
        },
        "annotations": {"summary": f"{name} of {tenant}"},
        "startsAt": started.isoformat(),
    }


def test_routing_pages_the_team_the_document_names(world):
    config = selectors.alertmanager_config()
    labels = alert("search", "search-ml", "WorkloadLatencyOverSLO", "latency", datetime.now(UTC))
    assert receivers_for(config, labels["labels"]) == ["search-ml"]
    assert receivers_for(config, {"team": "nobody"}) == ["gpu-portal-unrouted"]


def test_firing_alerts_show_on_their_own_tenants_page_only_with_the_paged_team(
    world, alertmanager, client
):
    started = datetime.now(UTC) - timedelta(minutes=20)
    alertmanager.post_alerts(
        [
            alert("search", "search-ml", "WorkloadLatencyOverSLO", "latency", started),
            alert("ads", "ads-ml", "WorkloadErrorBudgetBurn1h", "availability", started),
        ]
    )
    client.force_login(world["members"]["search"])
    page = client.get("/contracts/slo/tenants/search/").content.decode()
    assert "WorkloadLatencyOverSLO" in page
    assert "Search ML" in page and "search-ml@example.com" in page
    assert started.strftime("%Y-%m-%d %H:%M") in page
    assert "WorkloadErrorBudgetBurn1h" not in page and "Ads ML" not in page

    workload_page = client.get("/contracts/search/ranker/slo/", HTTP_HX_REQUEST="true")
    text = workload_page.content.decode()
    assert "<html" not in text  # the htmx panel alone
    assert "WorkloadLatencyOverSLO" in text and "WorkloadErrorBudgetBurn1h" not in text

    client.force_login(world["members"]["ads"])
    page = client.get("/contracts/slo/tenants/ads/").content.decode()
    assert "WorkloadErrorBudgetBurn1h" in page and "Ads ML" in page
    assert "WorkloadLatencyOverSLO" not in page and "Search ML" not in page
    # and the other tenant's page is not there for them at all
    assert client.get("/contracts/slo/tenants/search/").status_code == 404


def test_a_silence_created_from_the_workload_page_is_in_alertmanager(world, alertmanager, client):
    client.force_login(world["members"]["search"])
    response = client.post(
        "/contracts/search/ranker/silence/",
        {"environment": "prod", "minutes": "45", "comment": "rollout of revision 2"},
    )
    assert response.status_code == 302
    record = AlertSilence.objects.get()
    silences = json.loads(alertmanager.amtool("silence", "query", "-o", "json"))
    assert [s["id"] for s in silences] == [record.silence_id]
    (silence,) = silences
    assert {(m["name"], m["value"]) for m in silence["matchers"]} == {
        ("tenant", "search"),
        ("workload", "ranker"),
        ("environment", "prod"),
    }
    assert silence["createdBy"] == "search-member via gpu-portal"
    assert silence["comment"] == "rollout of revision 2"
    assert record.ends_at - record.starts_at == timedelta(minutes=45)
    # audited: who, and the row as created
    event = AlertSilence.pgh_event_model.objects.get(pgh_obj=record)
    assert event.pgh_label == "insert" and event.created_by_id == world["members"]["search"].pk


def test_a_silence_longer_than_the_limit_is_refused_and_nothing_is_created(
    world, alertmanager, client, settings
):
    settings.CONTRACTS_SILENCE_MAX_MINUTES = 60
    client.force_login(world["members"]["search"])
    response = client.post(
        "/contracts/search/ranker/silence/",
        {"environment": "prod", "minutes": "90", "comment": "rollout"},
        follow=True,
    )
    assert "1 to 60 minutes" in response.content.decode()
    assert not AlertSilence.objects.exists()
    assert json.loads(alertmanager.amtool("silence", "query", "-o", "json")) == []


def test_an_alertmanager_that_is_down_is_said_on_the_page(world, client):
    world["cluster"].alertmanager_url = f"http://127.0.0.1:{free_port()}"
    world["cluster"].save()
    client.force_login(world["members"]["search"])
    page = client.get("/contracts/slo/tenants/search/").content.decode()
    assert "Could not read alerts from gpu-east" in page
    assert "unreachable" in page
