"""Measured SLO pages: a workload's panel (SLO per environment, firing alerts and who is
paged, rollout silences, the prod gate override, its dashboard), a tenant's roll-up panel, and
the SREs' list by error budget remaining. Panels load by htmx into the workload and tenant
pages; each also works as a page of its own. Thin: selectors and services decide."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from portal import roles
from portal.domain_errors import DomainError
from workloads import selectors as workload_selectors

from . import firing, slo_selectors, slo_services
from .dashboards import dashboard_links
from .models import AlertSilence


class SilenceForm(forms.Form):
    environment = forms.ChoiceField(choices=[(n, n) for n in ("dev", "staging", "prod")])
    minutes = forms.IntegerField(min_value=1, max_value=24 * 60, initial=60)
    comment = forms.CharField(max_length=500, help_text="The rollout this covers")


class OverrideForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


def _panel(request, full: str, partial: str, context: dict):
    return render(request, partial if request.htmx else full, context)


@login_required
@require_GET
def workload_slo(request, slug, name):
    workload = workload_selectors.workload_for_user(request.user, slug=slug, name=name)
    tenant = workload.tenant
    can_write = workload_selectors.can_write_tenant(request.user, tenant)
    is_sre = roles.is_sre(request.user)
    evidence = slo_selectors.staging_slo_evidence(workload)
    context = {
        "tenant": tenant,
        "workload": workload,
        "slo_rows": slo_selectors.workload_slo(workload),
        "firing": firing.workload_alerts(workload),
        "silences": AlertSilence.objects.filter(workload=workload).select_related(
            "environment", "created_by"
        )[:10],
        "can_silence": can_write or is_sre,
        "silence_form": SilenceForm(),
        "evidence": evidence,
        "can_override": is_sre and evidence is not None and evidence.below_target,
        "override_form": OverrideForm(),
        "dashboards": dashboard_links(workload),
    }
    return _panel(request, "contracts/workload_slo.html", "contracts/_workload_slo.html", context)


@login_required
@require_POST
def workload_silence(request, slug, name):
    workload = workload_selectors.workload_for_user(request.user, slug=slug, name=name)
    form = SilenceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
    else:
        try:
            silence = slo_services.create_rollout_silence(
                workload=workload,
                environment_name=form.cleaned_data["environment"],
                minutes=form.cleaned_data["minutes"],
                comment=form.cleaned_data["comment"],
                actor=request.user,
            )
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                f"Silenced {workload.name} in {silence.environment.name} until "
                f"{silence.ends_at:%H:%M} UTC (Alertmanager silence {silence.silence_id}).",
            )
    return redirect("workloads:detail", slug=slug, name=name)


@login_required
@require_POST
def workload_slo_override(request, slug, name):
    workload = workload_selectors.workload_for_user(request.user, slug=slug, name=name)
    if not roles.is_sre(request.user):
        raise PermissionDenied("Only SREs override the staging SLO gate.")
    form = OverrideForm(request.POST)
    evidence = slo_selectors.staging_slo_evidence(workload)
    if not form.is_valid():
        messages.error(request, "Give the reason for the override.")
    else:
        try:
            record = slo_services.override_slo_gate(
                workload=workload,
                reason=form.cleaned_data["reason"],
                evidence=evidence.summary if evidence else "",
                actor=request.user,
            )
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                f"Revision {record.revision_number} may go to prod despite its staging SLO "
                f"until {record.expires_at:%Y-%m-%d %H:%M} UTC.",
            )
    return redirect("workloads:detail", slug=slug, name=name)


@login_required
@require_GET
def tenant_slo(request, slug):
    tenant = workload_selectors.tenant_for_user(request.user, slug)
    context = {
        "tenant": tenant,
        "rollup": slo_selectors.tenant_slo(tenant),
        "firing": firing.tenant_alerts(tenant),
    }
    return _panel(request, "contracts/tenant_slo.html", "contracts/_tenant_slo.html", context)


@login_required
@require_GET
def slo_overview(request):
    if not (roles.is_sre(request.user) or roles.is_platform_admin(request.user)):
        raise PermissionDenied("The SLO overview is for SREs and platform admins.")
    measured, broken = slo_selectors.slo_overview()
    context = {"measured": measured, "broken": broken}
    return _panel(request, "contracts/slo_overview.html", "contracts/_slo_overview.html", context)
