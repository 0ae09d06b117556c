"""Workload pages: list per tenant, create from a template, detail with revisions, environments,
promotion gates, rollback and canary. Thin: services decide, views translate."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from portal.domain_errors import DomainError
from portal.form_errors import add_domain_error

from . import gates, selectors, services
from .forms import CanaryForm, PromoteForm, RevisionSpecForm, RollbackForm, WorkloadCreateForm
from .models import REVISION_SPEC_FIELDS, Template

LIST_PAGE_SIZE = 50


@login_required
def workload_list(request, slug):
    tenant = selectors.tenant_for_user(request.user, slug)
    page = Paginator(selectors.workloads_of_tenant(tenant), LIST_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "tenant": tenant,
        "workloads": page.object_list,
        "page": page,
        "can_write": selectors.can_write_tenant(request.user, tenant),
    }
    template = "workloads/_list_partial.html" if request.htmx else "workloads/list.html"
    return render(request, template, context)


@login_required
def workload_create(request, slug):
    tenant = selectors.tenant_for_user(request.user, slug)
    if not selectors.can_write_tenant(request.user, tenant):
        raise PermissionDenied("Only the tenant's owners and members register workloads.")
    chosen = request.GET.get("template") or Template.INFERENCE
    if chosen not in Template.values:
        chosen = Template.INFERENCE
    initial = {"template": chosen, **services.TEMPLATE_DEFAULTS[Template(chosen)]}
    form = WorkloadCreateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            workload = services.create_workload(
                tenant=tenant,
                name=data["name"],
                template=data["template"],
                description=data["description"],
                actor=request.user,
                **{f: data[f] for f in REVISION_SPEC_FIELDS},
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"Registered {workload.name} (revision 1).")
            return redirect("workloads:detail", slug=tenant.slug, name=workload.name)
    return render(
        request,
        "workloads/create.html",
        {"tenant": tenant, "form": form, "templates": Template.choices, "chosen": chosen},
    )


def _detail_context(request, workload) -> dict:
    rows = [
        {
            "name": preview.environment.name,
            "environment": preview.environment,
            "deployment": preview.deployment,
            "candidate": preview.candidate,
            "gates": preview.gates,
            "up_to_date": preview.up_to_date,
        }
        for preview in gates.preview_promotions(workload)
    ]
    latest = selectors.latest_revision(workload)
    return {
        "tenant": workload.tenant,
        "workload": workload,
        "revisions": selectors.revisions_of(workload),
        "environments": rows,
        "promotions": workload.promotions.select_related(
            "environment", "from_revision", "to_revision", "actor"
        )[:20],
        "rollbacks": workload.rollbacks.select_related(
            "environment", "from_revision", "to_revision", "actor"
        )[:20],
        "can_write": selectors.can_write_tenant(request.user, workload.tenant),
        "can_rollback": selectors.can_rollback(request.user, workload.tenant),
        "revision_form": RevisionSpecForm(
            initial=latest.spec_fields() | {"profile": latest.profile_id} if latest else None
        ),
        "canary_form": CanaryForm(),
    }


@login_required
def workload_detail(request, slug, name):
    workload = selectors.workload_for_user(request.user, slug=slug, name=name)
    return render(request, "workloads/detail.html", _detail_context(request, workload))


@login_required
def workload_revise(request, slug, name):
    workload = selectors.workload_for_user(request.user, slug=slug, name=name)
    if not selectors.can_write_tenant(request.user, workload.tenant):
        raise PermissionDenied("Only the tenant's owners and members change a workload's spec.")
    form = RevisionSpecForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            revision = services.create_revision(
                workload=workload, actor=request.user, **form.cleaned_data
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"Revision {revision.number} stored; promote it to dev.")
            return redirect("workloads:detail", slug=slug, name=name)
    context = _detail_context(request, workload) | {"revision_form": form}
    return render(request, "workloads/detail.html", context, status=400 if form.errors else 200)


def _act(request, slug, name, form_class, action):
    workload = selectors.workload_for_user(request.user, slug=slug, name=name)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
    else:
        try:
            text = action(workload, form.cleaned_data)
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, text)
    return redirect("workloads:detail", slug=slug, name=name)


@login_required
@require_POST
def workload_promote(request, slug, name):
    def action(workload, data):
        record = services.promote(
            workload=workload, environment_name=data["environment"], actor=request.user
        )
        return f"Promoted revision {record.to_revision.number} to {data['environment']}."

    return _act(request, slug, name, PromoteForm, action)


@login_required
@require_POST
def workload_rollback(request, slug, name):
    def action(workload, data):
        record = services.rollback(
            workload=workload,
            environment_name=data["environment"],
            actor=request.user,
            reason=data["reason"],
        )
        return (
            f"Rolled {data['environment']} back from revision {record.from_revision.number} "
            f"to {record.to_revision.number}."
        )

    return _act(request, slug, name, RollbackForm, action)


@login_required
@require_POST
def workload_canary(request, slug, name):
    def action(workload, data):
        dep = services.set_canary(
            workload=workload,
            environment_name=data["environment"],
            revision_number=data["revision"],
            percent=data["percent"] or 0,
            actor=request.user,
        )
        if not dep.canary_percent:
            return f"Removed the canary in {data['environment']}."
        return f"Canary of revision {data['revision']} at {dep.canary_percent} % of replicas."

    return _act(request, slug, name, CanaryForm, action)
