"""Reads of interface documents: their content, completeness for the promotion gates, who may
edit which section, versions with diffs, and the on-call directory."""

from portal import roles
from workloads import selectors as workload_selectors
from workloads.gates import DocumentReadiness
from workloads.models import Template

from .document import build_content, diff_contents, render_markdown
from .models import InterfaceDocument, OnCallTeam

# section -> (fields of InterfaceDocument it holds, who edits it)
ML_TEAM, SRE, PLATFORM = "ml-team", "sre", "platform-admin"
SECTIONS = {
    "ownership": (["owner_team"], {ML_TEAM}),
    "model": (["model_name", "accuracy_metric", "accuracy_drift_pct"], {ML_TEAM}),
    "platform": (["platform_contact"], {PLATFORM}),
    "oncall": (["sre_contact"], {SRE}),
    "slos": (["p99_latency_ms", "availability_pct", "max_cold_start_s"], {SRE}),
    "alerts": ([], {SRE}),
    "rollback": (["rollback_trigger", "rollback_owner"], {SRE, ML_TEAM}),
}


def editor_roles(user, tenant) -> set[str]:
    held = set()
    if workload_selectors.can_write_tenant(user, tenant):
        held.add(ML_TEAM)
    if roles.is_sre(user):
        held.add(SRE)
    if roles.is_platform_admin(user):
        held.add(PLATFORM)
    return held


def editable_sections(user, tenant) -> list[str]:
    held = editor_roles(user, tenant)
    return [name for name, (_, editors) in SECTIONS.items() if editors & held]


def can_sign_off(user) -> bool:
    return roles.is_sre(user)


def document_of(workload) -> InterfaceDocument | None:
    return (
        InterfaceDocument.objects.filter(workload=workload)
        .select_related(
            "owner_team",
            "platform_contact",
            "sre_contact",
            "rollback_owner",
            "signed_off_by",
            "workload__tenant",
        )
        .prefetch_related("alerts__paged_team")
        .first()
    )


def content_of(document, workload) -> dict:
    return build_content(document, workload, workload_selectors.latest_revision(workload))


def missing_fields(document: InterfaceDocument | None, template: str) -> list[str]:
    if document is None:
        return ["the whole document (nobody has written it yet)"]
    missing = missing_fields_of_row(document, template)
    if not document.alerts.exists():
        missing.append("at least one alert")
    return missing


def missing_fields_of_row(document: InterfaceDocument, template: str) -> list[str]:
    """The required values the document row lacks (alerts are counted by the caller)."""
    required = {
        "owner team": document.owner_team_id,
        "platform contact": document.platform_contact_id,
        "SRE contact": document.sre_contact_id,
        "rollback trigger": document.rollback_trigger,
        "rollback decision owner": document.rollback_owner_id,
    }
    if template == Template.INFERENCE:
        required |= {
            "P99 latency SLO": document.p99_latency_ms,
            "availability SLO": document.availability_pct,
            "max cold start SLO": document.max_cold_start_s,
        }
    return [name for name, value in required.items() if not value]


def document_readiness(workload) -> DocumentReadiness:
    return readiness_of(document_of(workload), workload.template)


def readiness_of(document: InterfaceDocument | None, template: str) -> DocumentReadiness:
    """Readiness of an already-loaded document (saves re-reading it)."""
    if document is None:
        return DocumentReadiness(missing=missing_fields(None, template))
    return DocumentReadiness(
        version=document.version,
        missing=missing_fields(document, template),
        signed_off=document.signed_off,
        signed_off_version=document.signed_off_version,
        signed_off_by=document.signed_off_by.username if document.signed_off_by else "",
    )


def directory() -> dict[str, OnCallTeam]:
    return {t.name: t for t in OnCallTeam.objects.all()}


def sign_off_text(document: InterfaceDocument) -> str:
    if document.signed_off_version is None:
        return ""
    who = document.signed_off_by.username if document.signed_off_by else "a former SRE"
    when = document.signed_off_at.strftime("%Y-%m-%d %H:%M UTC") if document.signed_off_at else ""
    text = f"Signed off by {who} on version {document.signed_off_version} ({when})."
    if not document.signed_off:
        text += f" The document has changed since (now version {document.version})."
    return text


def markdown_of(document: InterfaceDocument, workload) -> str:
    return render_markdown(
        content_of(document, workload),
        version=document.version,
        directory=directory(),
        sign_off=sign_off_text(document),
    )


def versions_with_diffs(document: InterfaceDocument) -> list[dict]:
    """Newest first; each with the readable changes from the version before it."""
    versions = list(document.versions.select_related("author").order_by("number"))
    out = []
    previous: dict = {}
    for version in versions:
        out.append({"version": version, "changes": diff_contents(previous, version.content)})
        previous = version.content
    return list(reversed(out))


def alertmanager_config() -> dict:
    """The routing tree for every team in the directory, with the signals documents page it for."""
    from .alertmanager import build_config
    from .rules import SIGNAL_DEFAULT_OWNER

    signals_by_team: dict[str, set[str]] = {}
    documents = InterfaceDocument.objects.select_related(
        "owner_team", "platform_contact", "sre_contact"
    ).prefetch_related("alerts__paged_team")
    for document in documents:
        policies = {a.signal: a.paged_team.name for a in document.alerts.all()}
        for signal, owner_field in SIGNAL_DEFAULT_OWNER.items():
            owner = getattr(document, owner_field) or document.sre_contact
            team = policies.get(signal) or (owner.name if owner else None)
            if team:
                signals_by_team.setdefault(team, set()).add(signal)
    return build_config(list(OnCallTeam.objects.order_by("name")), signals_by_team)


def document_index(user) -> list[dict]:
    """Every workload the user can see, with its document's state, in a fixed number of
    queries (completeness from the loaded row and an alert count annotation)."""
    from django.db.models import Count

    workloads = (
        workload_selectors.visible_workloads(user)
        .select_related(
            "interface_document__owner_team",
            "interface_document__sre_contact",
            "interface_document__signed_off_by",
        )
        .annotate(alert_count=Count("interface_document__alerts"))
        .order_by("tenant__slug", "name")
    )
    rows = []
    for workload in workloads:
        document = getattr(workload, "interface_document", None)
        missing = _missing_without_alert_query(document, workload)
        rows.append({"workload": workload, "document": document, "missing": missing})
    return rows


def _missing_without_alert_query(document, workload) -> list[str]:
    if document is None:
        return missing_fields(None, workload.template)
    missing = missing_fields_of_row(document, workload.template)
    if not workload.alert_count:
        missing.append("at least one alert")
    return missing
