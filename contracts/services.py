"""Writes of interface documents (section by section, by the role that owns the section, each
edit an immutable version), the SRE production-readiness sign-off, and the on-call directory."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from portal import roles
from portal.domain_errors import DomainError
from tenants.outbox import bump_desired_generation

from . import selectors
from .models import (
    AlertPolicy,
    InterfaceDocument,
    InterfaceDocumentVersion,
    OnCallTeam,
    Signal,
)

TEAM_FIELDS = {"owner_team", "platform_contact", "sre_contact", "rollback_owner"}
ONCALL_FIELDS = ["display_name", "rotation", "escalation", "pager_url", "email", "chat_channel"]

SRES_MAINTAIN = "The on-call directory is maintained by SREs."


def _first_error(exc: ValidationError) -> DomainError:
    if hasattr(exc, "error_dict"):
        field, messages = next(iter(exc.message_dict.items()))
        return DomainError(" ".join(messages), field=field)
    return DomainError(" ".join(exc.messages))


def _team(name, field: str) -> OnCallTeam | None:
    if name in (None, ""):
        return None
    if isinstance(name, OnCallTeam):
        return name
    team = OnCallTeam.objects.filter(name=str(name)).first()
    if team is None:
        raise DomainError(
            f"No on-call team '{name}' in the directory: ask an SRE to add it first.", field=field
        )
    return team


def ensure_document(workload) -> InterfaceDocument:
    document, _ = InterfaceDocument.objects.get_or_create(workload=workload)
    return document


def _clean_alerts(rows) -> list[dict]:
    if not isinstance(rows, list):
        raise DomainError(
            "alerts is a list of {signal, threshold, window, paged_team}.", field="alerts"
        )
    cleaned, seen = [], set()
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise DomainError(f"alert {i + 1} is not an object.", field="alerts")
        signal = row.get("signal")
        if signal not in Signal.values:
            raise DomainError(
                f"alert {i + 1}: signal must be one of {', '.join(Signal.values)}.", field="alerts"
            )
        if signal in seen:
            raise DomainError(f"alert {i + 1}: {signal} is listed twice.", field="alerts")
        seen.add(signal)
        team = _team(row.get("paged_team"), "alerts")
        if team is None:
            raise DomainError(f"alert {i + 1}: name the paged team.", field="alerts")
        policy = AlertPolicy(
            signal=signal,
            threshold=str(row.get("threshold") or "").strip(),
            window=str(row.get("window") or "5m").strip(),
            paged_team=team,
        )
        try:
            policy.full_clean(exclude=["document"])
        except ValidationError as exc:
            err = _first_error(exc)
            raise DomainError(f"alert {i + 1}: {err}", field="alerts") from None
        if policy.threshold and signal in (Signal.GPU_MEMORY, Signal.ACCURACY_DRIFT):
            _ratio(policy.threshold, i)
        cleaned.append(policy)
    return cleaned


def _ratio(text: str, index: int) -> None:
    try:
        Decimal(text.rstrip("%").strip())
    except InvalidOperation:
        raise DomainError(
            f"alert {index + 1}: threshold '{text}' is not a number or percentage (e.g. 95%).",
            field="alerts",
        ) from None


def update_section(*, workload, section: str, values: dict, actor) -> InterfaceDocumentVersion:
    """Change one section; the result is the document's next immutable version."""
    if section not in selectors.SECTIONS:
        raise DomainError(
            f"Unknown section '{section}': use one of {', '.join(selectors.SECTIONS)}.",
            field="section",
        )
    fields, editors = selectors.SECTIONS[section]
    if not editors & selectors.editor_roles(actor, workload.tenant):
        raise PermissionDenied(f"The {section} section is edited by: {', '.join(sorted(editors))}.")
    unknown = set(values) - set(fields if section != "alerts" else ["alerts"])
    if unknown:
        raise DomainError(
            f"The {section} section has no field(s) {', '.join(sorted(unknown))}; "
            f"it holds {', '.join(fields or ['alerts'])}.",
            field=sorted(unknown)[0],
        )
    with transaction.atomic():
        document = ensure_document(workload)
        document = InterfaceDocument.objects.select_for_update().get(pk=document.pk)
        before = selectors.content_of(selectors.document_of(workload), workload)
        if section == "alerts":
            policies = _clean_alerts(values.get("alerts", []))
            document.alerts.all().delete()
            for policy in policies:
                policy.document = document
            AlertPolicy.objects.bulk_create(policies)
        else:
            for name, value in values.items():
                if name in TEAM_FIELDS:
                    value = _team(value, name)
                elif value is None:
                    value = (
                        ""
                        if name in ("model_name", "accuracy_metric", "rollback_trigger")
                        else None
                    )
                setattr(document, name, value)
            try:
                document.full_clean(exclude=["workload", "signed_off_by"])
            except ValidationError as exc:
                raise _first_error(exc) from None
        document.save()
        after = selectors.content_of(selectors.document_of(workload), workload)
        if after == before:
            raise DomainError(f"Nothing changed in the {section} section.", field="section")
        document.version += 1
        document.save(update_fields=["version", "updated_at"])
        version = InterfaceDocumentVersion.objects.create(
            document=document, number=document.version, section=section, content=after, author=actor
        )
        # SLOs, alerts and contacts become the workload's PrometheusRule in the cluster
        bump_desired_generation(workload.tenant_id)
    return version


def sign_off(*, workload, actor) -> InterfaceDocument:
    """An SRE's production-readiness sign-off on the document's current version."""
    if not selectors.can_sign_off(actor):
        raise PermissionDenied("Only SREs sign off production readiness.")
    with transaction.atomic():
        document = InterfaceDocument.objects.select_for_update().filter(workload=workload).first()
        missing = selectors.missing_fields(document, workload.template)
        if missing:
            raise DomainError("Cannot sign off an incomplete document: " + ", ".join(missing))
        if document.signed_off:
            raise DomainError(f"Version {document.version} is already signed off.")
        document.signed_off_version = document.version
        document.signed_off_by = actor
        document.signed_off_at = timezone.now()
        document.save(update_fields=["signed_off_version", "signed_off_by", "signed_off_at"])
    return document


def create_oncall_team(*, actor, name: str, **fields) -> OnCallTeam:
    roles.require(actor, roles.SRE, message=SRES_MAINTAIN)
    team = OnCallTeam(name=name, **{k: v for k, v in fields.items() if k in ONCALL_FIELDS})
    if not team.display_name:
        team.display_name = name
    try:
        team.full_clean()
    except ValidationError as exc:
        raise _first_error(exc) from None
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError:
        raise DomainError(f"An on-call team named {name} exists already.", field="name") from None
    return team


def update_oncall_team(*, team: OnCallTeam, actor, **fields) -> OnCallTeam:
    """The name is the routing key in generated alerts, so it does not change."""
    roles.require(actor, roles.SRE, message=SRES_MAINTAIN)
    if "name" in fields and fields["name"] != team.name:
        raise DomainError("A team's name is its routing key and cannot change.", field="name")
    for key, value in fields.items():
        if key in ONCALL_FIELDS:
            setattr(team, key, value or "")
    try:
        team.full_clean()
    except ValidationError as exc:
        raise _first_error(exc) from None
    team.save()
    return team


def delete_oncall_team(*, team: OnCallTeam, actor) -> None:
    roles.require(actor, roles.SRE, message=SRES_MAINTAIN)
    try:
        with transaction.atomic():
            team.delete()
    except ProtectedError:
        raise DomainError(
            f"{team.name} is named in interface documents: point them to another team first."
        ) from None
