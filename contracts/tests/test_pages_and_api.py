"""Interface document page and API: role-owned sections, 404 for other tenants, the Markdown
export, the on-call directory and the Alertmanager config endpoints."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from contracts import services
from contracts.document import parse_markdown
from contracts.models import InterfaceDocument, OnCallTeam
from tenants.tests.factories import UserFactory, finance, platform_admin, sre

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def doc_url(workload) -> str:
    return f"/api/v1/workloads/{workload.pk}/interface-document/"


def test_an_sre_patches_slos_over_the_api(workload):
    response = api(sre(username="sam")).patch(
        doc_url(workload),
        {"section": "slos", "p99_latency_ms": 250, "availability_pct": "99.9"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["version"] == 1
    assert body["content"]["slos"]["p99_latency_ms"] == 250


def test_an_ml_member_cannot_patch_slos(workload, member):
    response = api(member).patch(
        doc_url(workload), {"section": "slos", "p99_latency_ms": 1}, format="json"
    )
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


def test_finance_reads_the_document_but_cannot_change_it(workload, teams):
    accountant = finance(username="fin")
    body = api(accountant).get(doc_url(workload)).json()
    assert body["editable_sections"] == []
    response = api(accountant).patch(
        doc_url(workload), {"section": "model", "model_name": "x"}, format="json"
    )
    assert response.status_code == 403


def test_bad_section_values_are_400_with_the_field(workload):
    response = api(sre(username="sam")).patch(
        doc_url(workload), {"section": "slos", "availability_pct": "12"}, format="json"
    )
    assert response.status_code == 400
    assert "availability_pct" in response.json()["errors"]


def test_another_tenants_document_is_404(workload):
    outsider = UserFactory(username="eve")
    assert api(outsider).get(doc_url(workload)).status_code == 404
    md = f"/api/v1/workloads/{workload.pk}/interface-document.md"
    assert api(outsider).get(md).status_code == 404


def test_markdown_export_over_the_api_round_trips(workload, member, teams):
    services.update_section(
        workload=workload, section="ownership", values={"owner_team": "search-ml"}, actor=member
    )
    response = api(member).get(f"/api/v1/workloads/{workload.pk}/interface-document.md")
    assert response["Content-Type"].startswith("text/markdown")
    content = parse_markdown(response.content.decode())
    assert content["ownership"]["owner_team"] == "search-ml"
    assert content["resources"]["gpus_per_replica"] == 1


def test_sign_off_over_the_api_is_for_sres_only(workload, member):
    response = api(member).post(f"/api/v1/workloads/{workload.pk}/interface-document/sign-off/")
    assert response.status_code == 403


def test_oncall_directory_api_is_written_by_sres_read_by_all(db, member):
    body = {"name": "sre-core", "display_name": "SRE core", "email": "sre@example.com"}
    assert api(member).post("/api/v1/oncall/", body, format="json").status_code == 403
    created = api(sre(username="sam")).post("/api/v1/oncall/", body, format="json")
    assert created.status_code == 201
    assert [t["name"] for t in api(member).get("/api/v1/oncall/").json()["results"]] == ["sre-core"]
    patch = api(sre(username="sam")).patch(
        f"/api/v1/oncall/{created.json()['id']}/", {"rotation": "weekly"}, format="json"
    )
    assert patch.json()["rotation"] == "weekly"


def test_a_team_named_in_documents_cannot_be_deleted(workload, member, teams):
    services.update_section(
        workload=workload, section="ownership", values={"owner_team": "search-ml"}, actor=member
    )
    response = api(sre(username="sam")).delete(f"/api/v1/oncall/{teams['search-ml'].pk}/")
    assert response.status_code == 400
    assert OnCallTeam.objects.filter(name="search-ml").exists()


def test_alertmanager_config_endpoint_serves_yaml_to_sres(db, teams, member):
    response = api(sre(username="sam")).get("/api/v1/alertmanager-config/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/yaml"
    assert "receiver: gpu-portal-unrouted" in response.content.decode()
    assert api(member).get("/api/v1/alertmanager-config/").status_code == 403


def test_document_page_renders_the_sections_and_the_forms_of_the_users_role(
    client, workload, member, teams, django_assert_max_num_queries
):
    services.update_section(
        workload=workload, section="ownership", values={"owner_team": "search-ml"}, actor=member
    )
    client.force_login(member)
    url = reverse("contracts:document", kwargs={"slug": "search", "name": "ranker"})
    with django_assert_max_num_queries(25):
        page = client.get(url).content.decode()
    for heading in ("Ownership", "Model", "SLOs", "Resources", "Alerts", "Rollback"):
        assert f"<h2>{heading}</h2>" in page
    assert "<code>search-ml</code> (search-ml@example.com)" in page
    assert 'id="edit-ownership"' in page and 'id="edit-slos"' not in page
    assert "Version 1 — ownership by mia" in page


def test_an_sre_edits_slos_from_the_page_and_sees_the_diff(client, workload):
    client.force_login(sre(username="sam"))
    url = reverse(
        "contracts:edit_section", kwargs={"slug": "search", "name": "ranker", "section": "slos"}
    )
    client.post(url, {"p99_latency_ms": "300", "availability_pct": "99.5"})
    client.post(url, {"p99_latency_ms": "250", "availability_pct": "99.5"})
    page = client.get(
        reverse("contracts:document", kwargs={"slug": "search", "name": "ranker"})
    ).content.decode()
    assert "SLOs › P99 latency: 300 → 250" in page
    assert "<td>P99 latency</td><td>250 ms</td>" in page  # the page shows units, as the export
    assert InterfaceDocument.objects.get().version == 2


def test_an_ml_member_posting_the_slo_form_is_forbidden(client, workload, member):
    client.force_login(member)
    url = reverse(
        "contracts:edit_section", kwargs={"slug": "search", "name": "ranker", "section": "slos"}
    )
    assert client.post(url, {"p99_latency_ms": "1"}).status_code == 403


def test_alertmanager_page_and_download(client, teams):
    client.force_login(platform_admin(username="pat"))
    page = client.get(reverse("contracts:alertmanager")).content.decode()
    assert "receivers:" in page
    download = client.get(reverse("contracts:alertmanager_yaml"))
    assert download["Content-Disposition"] == 'attachment; filename="alertmanager.yml"'


def test_oncall_page_lets_sres_add_a_team(client, db):
    client.force_login(sre(username="sam"))
    response = client.post(
        reverse("contracts:oncall"),
        {"name": "search-ml", "display_name": "Search ML", "email": "ml@example.com"},
    )
    assert response.status_code == 302
    assert OnCallTeam.objects.get().email == "ml@example.com"


def test_document_page_queries_do_not_grow_with_versions(client, workload, teams):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    oncall = sre(username="sam")
    client.force_login(oncall)
    url = reverse("contracts:document", kwargs={"slug": "search", "name": "ranker"})
    counts = []
    for latency in (100, 200):
        for step in range(1 + (latency // 100 - 1) * 5):
            services.update_section(
                workload=workload,
                section="slos",
                values={"p99_latency_ms": latency + step},
                actor=oncall,
            )
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


@pytest.mark.parametrize(
    "body",
    [
        {"section": "alerts", "alerts": "latency"},
        {"section": "alerts", "alerts": [{"signal": "latency", "paged_team": "nobody"}]},
        {"section": "alerts", "alerts": [{"signal": "latency", "window": "5 minutes"}]},
        {"section": "slos", "p99_latency_ms": "fast"},
        {"section": "nope"},
    ],
)
def test_malformed_patches_are_400_problems_not_500(workload, teams, body):
    response = api(sre(username="sam")).patch(doc_url(workload), body, format="json")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"


def test_document_index_shows_every_visible_document_in_constant_queries(
    client, workload, member, teams
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from workloads.tests.factories import RevisionFactory, WorkloadFactory

    services.update_section(
        workload=workload, section="ownership", values={"owner_team": "search-ml"}, actor=member
    )
    oncall = sre(username="sam")
    client.force_login(oncall)
    counts = []
    for extra in (1, 6):
        for i in range(extra):
            other = WorkloadFactory(tenant=workload.tenant, name=f"x{extra}-{i}")
            RevisionFactory(workload=other, number=1)
        with CaptureQueriesContext(connection) as queries:
            page = client.get(reverse("contracts:list")).content.decode()
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert "ranker</a>" in page and "x6-5</a>" in page
    assert "platform contact, SRE contact" in page


def test_document_index_hides_other_tenants_workloads(client, workload):
    outsider = UserFactory(username="eve")
    outsider.save()
    client.force_login(outsider)
    assert "ranker" not in client.get(reverse("contracts:list")).content.decode()


def test_pager_urls_are_shown_only_to_sres_and_platform_admins(client, workload, member):
    team = OnCallTeam.objects.create(
        name="sre-core", display_name="SRE", pager_url="https://pager.example.com/key-123"
    )
    assert "pager_url" not in api(member).get(f"/api/v1/oncall/{team.pk}/").json()
    assert api(sre(username="sam")).get(f"/api/v1/oncall/{team.pk}/").json()["pager_url"]
    client.force_login(member)
    assert "key-123" not in client.get(reverse("contracts:oncall")).content.decode()
    services.update_section(
        workload=workload, section="oncall", values={"sre_contact": "sre-core"}, actor=sre()
    )
    markdown = api(member).get(f"/api/v1/workloads/{workload.pk}/interface-document.md")
    assert "key-123" not in markdown.content.decode()
