"""Guardrails pages for platform admins: each cluster's mode, the platform settings, and the
exceptions (grant, revoke). Thin: forms validate, services write, selectors read."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from clusters.selectors import get_cluster
from portal import roles
from portal.domain_errors import DomainError
from tenants.selectors import get_tenant_for_user

from . import selectors, services
from .forms import ModeForm, PodSecurityExceptionForm, RevokeForm, RuleExemptionForm, SettingsForm
from .models import PodSecurityException, RuleExemption
from .rules import RULES


def _admin(request) -> None:
    if not roles.is_platform_admin(request.user):
        raise PermissionDenied


def _apply(form, write):
    """Run a service write; a DomainError becomes a field error on the form."""
    try:
        return write()
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        return None


@login_required
@require_safe
def overview(request):
    _admin(request)
    context = {
        "clusters": selectors.cluster_statuses(),
        "config": selectors.guardrail_settings(),
        "pod_security_exceptions": selectors.live_pod_security_exceptions(),
        "rule_exemptions": selectors.live_rule_exemptions(),
        "rules": RULES,
    }
    return render(request, "guardrails/overview.html", context)


@login_required
@require_safe
def tenant_guardrails(request, slug):
    """What a team needs to know: its namespaces' levels and modes, its exemptions, the rules."""
    tenant = get_tenant_for_user(request.user, slug)
    context = {
        "tenant": tenant,
        "environments": selectors.tenant_guardrails(tenant),
        "rules": RULES,
        "config": selectors.guardrail_settings(),
    }
    return render(request, "guardrails/tenant.html", context)


@login_required
def edit_settings(request):
    _admin(request)
    config = selectors.guardrail_settings()
    initial = {
        "allowed_registries": "\n".join(config.allowed_registries),
        "baseline_tiers": config.baseline_tiers,
    }
    form = SettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = _apply(
            form,
            lambda: services.update_settings(
                actor=request.user,
                allowed_registries=form.cleaned_registries(),
                baseline_tiers=form.cleaned_data["baseline_tiers"],
            ),
        )
        if saved:
            messages.success(request, "Guardrail settings saved; tenants are being re-synced.")
            return redirect("guardrails:overview")
    return render(request, "guardrails/settings.html", {"form": form})


@login_required
@require_safe
def cluster_panel(request, name):
    _admin(request)
    status = selectors.cluster_status(get_cluster(name))
    template = "guardrails/_cluster_panel.html" if request.htmx else "guardrails/cluster.html"
    return render(request, template, {"status": status, "form": ModeForm()})


@login_required
@require_POST
def cluster_mode(request, name):
    _admin(request)
    cluster = get_cluster(name)
    form = ModeForm(request.POST)
    if form.is_valid():
        services.set_cluster_mode(
            actor=request.user, cluster=cluster, mode=form.cleaned_data["mode"]
        )
        messages.success(
            request,
            f"Guardrails on {cluster.name}: {form.cleaned_data['mode']}. Its tenants are being "
            "re-synced.",
        )
    else:
        messages.error(request, "Choose audit or enforce.")
    if request.POST.get("next") == "cluster":
        return redirect("clusters:detail", name=cluster.name)
    return redirect("guardrails:overview")


@login_required
def grant_pod_security(request):
    _admin(request)
    form = PodSecurityExceptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        granted = _apply(
            form,
            lambda: services.grant_pod_security_exception(
                actor=request.user,
                environment=data["environment"],
                reason=data["reason"],
                expires_at=data["expires_at"],
            ),
        )
        if granted:
            messages.success(request, f"{granted.environment.namespace} runs at baseline.")
            return redirect("guardrails:overview")
    return render(
        request,
        "guardrails/grant.html",
        {"form": form, "title": "Pod Security exception (baseline)"},
    )


@login_required
def grant_exemption(request):
    _admin(request)
    form = RuleExemptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        granted = _apply(
            form,
            lambda: services.grant_rule_exemption(
                actor=request.user,
                workload=data["workload"],
                environment=data["environment_row"],
                rule=data["rule"],
                reason=data["reason"],
                expires_at=data["expires_at"],
            ),
        )
        if granted:
            messages.success(request, f"{granted.workload.name} is exempt from {granted.rule}.")
            return redirect("guardrails:overview")
    return render(request, "guardrails/grant.html", {"form": form, "title": "Rule exemption"})


@login_required
@require_POST
def revoke(request):
    _admin(request)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        raise Http404("No such exception.")
    model = PodSecurityException if form.cleaned_data["kind"] == "pod-security" else RuleExemption
    exception = model.objects.filter(pk=form.cleaned_data["pk"]).first()
    if exception is None:
        raise Http404("No such exception.")
    try:
        services.revoke_exception(actor=request.user, exception=exception)
        messages.success(request, "Exception revoked; the tenant is being re-synced.")
    except DomainError as exc:
        messages.error(request, str(exc))
    return redirect("guardrails:overview")
