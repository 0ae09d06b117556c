"""Interface document page (section forms per role, versions with diffs, sign-off), its Markdown
export, the on-call directory, and the generated Alertmanager configuration."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal import roles
from portal.domain_errors import DomainError
from portal.form_errors import add_domain_error
from workloads import selectors as workload_selectors

from . import selectors, services
from .alertmanager import to_yaml
from .document import FIELD_LABELS, SECTION_TITLES, UNITS
from .forms import SECTION_FORMS, OnCallTeamForm, section_initial, section_values
from .models import OnCallTeam

SECTION_HEADINGS = {
    "ownership": "Ownership: owner team",
    "model": "Model",
    "platform": "Ownership: platform contact",
    "oncall": "Ownership: SRE contact",
    "slos": "SLOs",
    "alerts": "Alerts",
    "rollback": "Rollback",
}

ROUTING_READERS = "The alert routing is for SREs and platform admins."


def _document_context(request, workload, bound: dict | None = None) -> dict:
    document = selectors.document_of(workload)
    if document is None:
        services.ensure_document(workload)
        document = selectors.document_of(workload)
    content = selectors.content_of(document, workload)
    editable = selectors.editable_sections(request.user, workload.tenant)
    forms = []
    for section in editable:
        form = (bound or {}).get(section) or SECTION_FORMS[section](
            initial=section_initial(section, document)
        )
        forms.append({"section": section, "heading": SECTION_HEADINGS[section], "form": form})
    directory = selectors.directory()
    return {
        "tenant": workload.tenant,
        "workload": workload,
        "document": document,
        "content": content,
        "sections": _display_sections(content, directory) if content else [],
        "alerts": content["alerts"] if content else [],
        "directory": directory,
        "readiness": selectors.readiness_of(document, workload.template),
        "sign_off": selectors.sign_off_text(document) if document else "",
        "section_forms": forms,
        "can_sign_off": selectors.can_sign_off(request.user),
        "versions": selectors.versions_with_diffs(document) if document else [],
    }


def _display_sections(content: dict, directory: dict) -> list[dict]:
    """The same sections and rows as the Markdown export."""
    out = []
    for key in ("ownership", "model", "slos", "resources", "rollback"):
        rows = []
        for field, value in (content.get(key) or {}).items():
            team = directory.get(value) if field in _TEAM_FIELDS and value else None
            rows.append(
                {
                    "label": FIELD_LABELS[field],
                    "value": value,
                    "unit": UNITS.get(field, ""),
                    "team": team,
                }
            )
        out.append({"title": SECTION_TITLES[key], "rows": rows})
    return out


_TEAM_FIELDS = {"owner_team", "platform_contact", "sre_contact", "manual_owner"}


@login_required
def document_list(request):
    """Every interface document the user can see, with what it lacks and its sign-off."""
    return render(
        request,
        "contracts/list.html",
        {
            "rows": selectors.document_index(request.user),
            "can_route": roles.is_sre(request.user) or roles.is_platform_admin(request.user),
        },
    )


@login_required
def document(request, slug, name):
    workload = workload_selectors.workload_for_user(request.user, slug=slug, name=name)
    return render(request, "contracts/document.html", _document_context(request, workload))


@login_required
def document_markdown(request, slug, name):
    workload = workload_selectors.workload_for_user(request.user, slug=slug, name=name)
    document = selectors.document_of(workload) or services.ensure_document(workload)
    response = HttpResponse(
        selectors.markdown_of(document, workload), content_type="text/markdown; charset=utf-8"
    )
    response["Content-Disposition"] = f'inline; filename="{workload.name}-interface-document.md"'
    return response


@login_required
@require_POST
def edit_section(request, slug, name, section):
    workload = workload_selectors.workload_for_user(request.user, slug=slug, name=name)
    if section not in SECTION_FORMS:
        raise Http404("No such section")
    if section not in selectors.editable_sections(request.user, workload.tenant):
        raise PermissionDenied(f"You cannot edit the {section} section.")
    form = SECTION_FORMS[section](request.POST)
    if form.is_valid():
        try:
            version = services.update_section(
                workload=workload,
                section=section,
                values=section_values(section, form),
                actor=request.user,
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"Saved {section} as version {version.number}.")
            return redirect("contracts:document", slug=slug, name=name)
    context = _document_context(request, workload, bound={section: form})
    return render(request, "contracts/document.html", context, status=400)


@login_required
@require_POST
def sign_off(request, slug, name):
    workload = workload_selectors.workload_for_user(request.user, slug=slug, name=name)
    try:
        document = services.sign_off(workload=workload, actor=request.user)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Signed off version {document.version} for production.")
    return redirect("contracts:document", slug=slug, name=name)


@login_required
def oncall_directory(request):
    form = OnCallTeamForm(request.POST or None)
    if request.method == "POST":
        roles.require(request.user, roles.SRE, message=services.SRES_MAINTAIN)
        if form.is_valid():
            try:
                team = services.create_oncall_team(actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, f"Added {team.name} to the on-call directory.")
                return redirect("contracts:oncall")
    return render(
        request,
        "contracts/oncall.html",
        {
            "teams": OnCallTeam.objects.order_by("name"),
            "form": form,
            "can_edit": roles.is_sre(request.user),
            "can_see_pager": roles.is_sre(request.user) or roles.is_platform_admin(request.user),
        },
        status=400 if form.errors else 200,
    )


@login_required
def oncall_edit(request, pk):
    roles.require(request.user, roles.SRE, message=services.SRES_MAINTAIN)
    team = get_object_or_404(OnCallTeam, pk=pk)
    form = OnCallTeamForm(request.POST or None, instance=team)
    form.fields["name"].disabled = True
    if request.method == "POST" and form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "name"}
        try:
            services.update_oncall_team(team=team, actor=request.user, **fields)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"Updated {team.name}.")
            return redirect("contracts:oncall")
    return render(request, "contracts/oncall_edit.html", {"team": team, "form": form})


@login_required
def alertmanager(request):
    roles.require(request.user, roles.SRE, roles.PLATFORM_ADMIN, message=ROUTING_READERS)
    config_yaml = to_yaml(selectors.alertmanager_config())
    return render(request, "contracts/alertmanager.html", {"config_yaml": config_yaml})


@login_required
def alertmanager_yaml(request):
    roles.require(request.user, roles.SRE, roles.PLATFORM_ADMIN, message=ROUTING_READERS)
    response = HttpResponse(
        to_yaml(selectors.alertmanager_config()), content_type="application/yaml"
    )
    response["Content-Disposition"] = 'attachment; filename="alertmanager.yml"'
    return response
