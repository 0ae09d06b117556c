"""Each section of an interface document is edited by the role that owns it; every edit is a
new immutable version with its author; SRE sign-off is tied to a version."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError

from contracts import selectors, services
from contracts.models import InterfaceDocument
from portal.domain_errors import DomainError
from tenants.models import Tenant
from tenants.tests.factories import finance, platform_admin, sre

pytestmark = pytest.mark.django_db

SLOS = {"p99_latency_ms": 250, "availability_pct": "99.9", "max_cold_start_s": 120}


def fill(workload, member, teams, oncall):
    services.update_section(
        workload=workload, section="ownership", values={"owner_team": "search-ml"}, actor=member
    )
    services.update_section(
        workload=workload,
        section="platform",
        values={"platform_contact": "gpu-platform"},
        actor=platform_admin(username="pat"),
    )
    services.update_section(
        workload=workload, section="oncall", values={"sre_contact": "sre-core"}, actor=oncall
    )
    services.update_section(workload=workload, section="slos", values=SLOS, actor=oncall)
    services.update_section(
        workload=workload,
        section="alerts",
        values={"alerts": [{"signal": "latency", "window": "5m", "paged_team": "sre-core"}]},
        actor=oncall,
    )
    services.update_section(
        workload=workload,
        section="rollback",
        values={"rollback_trigger": "burn 14.4x", "rollback_owner": "search-ml"},
        actor=member,
    )


def test_an_ml_member_cannot_edit_slos(workload, member):
    with pytest.raises(PermissionDenied, match="slos section is edited by: sre"):
        services.update_section(workload=workload, section="slos", values=SLOS, actor=member)


def test_an_sre_edits_slos_and_it_becomes_a_version_with_its_author(workload):
    oncall = sre(username="sam")
    version = services.update_section(workload=workload, section="slos", values=SLOS, actor=oncall)
    assert (version.number, version.section, version.author) == (1, "slos", oncall)
    assert version.content["slos"] == {
        "p99_latency_ms": 250,
        "availability_pct": "99.9",
        "max_cold_start_s": 120,
    }


def test_an_sre_cannot_edit_the_ml_teams_ownership(workload, teams):
    with pytest.raises(PermissionDenied):
        services.update_section(
            workload=workload,
            section="ownership",
            values={"owner_team": "sre-core"},
            actor=sre(username="sam"),
        )


def test_finance_edits_nothing(workload, teams):
    accountant = finance(username="fin")
    assert selectors.editable_sections(accountant, workload.tenant) == []
    with pytest.raises(PermissionDenied):
        services.update_section(
            workload=workload, section="model", values={"model_name": "x"}, actor=accountant
        )


def test_only_a_platform_admin_sets_the_platform_contact(workload, member, teams):
    with pytest.raises(PermissionDenied):
        services.update_section(
            workload=workload,
            section="platform",
            values={"platform_contact": "gpu-platform"},
            actor=member,
        )


def test_a_section_rejects_fields_of_another_section(workload, member):
    with pytest.raises(DomainError, match="ownership section has no field"):
        services.update_section(
            workload=workload, section="ownership", values={"p99_latency_ms": 1}, actor=member
        )


def test_contacts_must_come_from_the_on_call_directory(workload, member):
    with pytest.raises(DomainError, match="No on-call team 'nobody' in the directory"):
        services.update_section(
            workload=workload, section="ownership", values={"owner_team": "nobody"}, actor=member
        )


def test_an_unchanged_section_makes_no_version(workload, member, teams):
    values = {"owner_team": "search-ml"}
    services.update_section(workload=workload, section="ownership", values=values, actor=member)
    with pytest.raises(DomainError, match="Nothing changed"):
        services.update_section(workload=workload, section="ownership", values=values, actor=member)


def test_a_document_edit_bumps_the_tenant_generation(workload, member, teams):
    before = Tenant.objects.get(pk=workload.tenant_id).desired_generation
    services.update_section(
        workload=workload, section="ownership", values={"owner_team": "search-ml"}, actor=member
    )
    assert Tenant.objects.get(pk=workload.tenant_id).desired_generation == before + 1


def test_versions_are_immutable(workload, member, teams):
    version = services.update_section(
        workload=workload, section="ownership", values={"owner_team": "search-ml"}, actor=member
    )
    version.section = "slos"
    with pytest.raises(DatabaseError, match="Cannot update"):
        version.save()


def test_versions_show_a_readable_diff(workload, member, teams):
    oncall = sre(username="sam")
    services.update_section(workload=workload, section="slos", values=SLOS, actor=oncall)
    services.update_section(
        workload=workload, section="slos", values={"p99_latency_ms": 200}, actor=oncall
    )
    document = InterfaceDocument.objects.get(workload=workload)
    newest = selectors.versions_with_diffs(document)[0]
    assert newest["version"].number == 2
    assert newest["changes"] == [
        {"section": "SLOs", "field": "P99 latency", "before": "250", "after": "200"}
    ]


def test_sign_off_requires_a_complete_document(workload, member, teams):
    services.update_section(workload=workload, section="slos", values=SLOS, actor=sre())
    with pytest.raises(DomainError, match="incomplete document: owner team"):
        services.sign_off(workload=workload, actor=sre(username="sam"))


def test_only_an_sre_signs_off(workload, member, teams):
    oncall = sre(username="sam")
    fill(workload, member, teams, oncall)
    with pytest.raises(PermissionDenied):
        services.sign_off(workload=workload, actor=member)
    document = services.sign_off(workload=workload, actor=oncall)
    assert document.signed_off and document.signed_off_version == 6


def test_an_edit_after_sign_off_voids_it(workload, member, teams):
    oncall = sre(username="sam")
    fill(workload, member, teams, oncall)
    services.sign_off(workload=workload, actor=oncall)
    services.update_section(
        workload=workload, section="model", values={"model_name": "ranker-v5"}, actor=member
    )
    readiness = selectors.document_readiness(workload)
    assert readiness.signed_off is False and readiness.signed_off_version == 6


def test_on_call_directory_is_maintained_by_sres(db):
    with pytest.raises(PermissionDenied):
        services.create_oncall_team(actor=platform_admin(username="pat"), name="x")
    team = services.create_oncall_team(
        actor=sre(username="sam"), name="search-ml", email="ml@example.com"
    )
    assert team.display_name == "search-ml"
