"""Tenancy pages: tenant list and detail, onboarding, quota requests and the approvals queue.

Full pages on first load; `_*.html` fragments when htmx asks (`request.htmx`).
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from clusters.models import Cluster
from portal import htmx, roles
from portal.domain_errors import DomainError
from portal.form_errors import add_domain_error

from . import decisions, selectors, services
from .forms import MemberForm, OnboardingForm, QuotaRequestForm, ReasonForm
from .models import Environment, GpuProfile, Tenant, TenantMembership

LIST_PAGE_SIZE = 50


@login_required
@require_GET
def tenant_list(request):
    status = request.GET.get("status", "")
    if status not in Tenant.Status.values:
        status = ""
    page = Paginator(selectors.tenant_list(request.user, status=status), LIST_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "tenants/list.html",
        {
            "tenants": page.object_list,
            "page": page,
            "status": status,
            "status_query": urlencode({"status": status}) if status else "",
            "statuses": Tenant.Status.choices,
            "can_onboard": selectors.can_onboard(request.user),
        },
    )


@login_required
def onboard(request):
    if not selectors.can_onboard(request.user):
        raise PermissionDenied
    if request.method == "POST":
        form = OnboardingForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                tenant = services.onboard_tenant(
                    actor=request.user,
                    name=data["name"],
                    slug=data["slug"],
                    team=data["team"],
                    cost_center=data["cost_center"],
                    contact_email=data["contact_email"],
                    environments=data["environments"],
                    tier=data["tier"],
                    cluster=data["cluster"],
                    description=data["description"],
                    oncall_contact=data["oncall_contact"],
                    initial_quota=form.initial_quota(),
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(
                    request, f"Tenant {tenant.slug} is waiting for a platform admin's approval."
                )
                return redirect("tenants:detail", slug=tenant.slug)
    else:
        form = OnboardingForm()
    return render(request, "tenants/onboard.html", {"form": form})


@login_required
@require_POST
def onboard_validate(request, field: str):
    """Inline validation: the error list of one onboarding field (htmx swaps it in)."""
    form = OnboardingForm(request.POST)
    if field not in form.fields:
        return HttpResponse(status=404)
    form.is_valid()
    return render(
        request,
        "tenants/_field_errors.html",
        {"field_name": field, "errors": form.errors.get(field, [])},
    )


@login_required
@require_GET
def onboard_capacity(request):
    """Free guaranteed capacity of the initial quota's profile on the picked cluster (htmx)."""
    cluster_id, profile_id = request.GET.get("cluster", ""), request.GET.get("quota_profile", "")
    capacity = None
    if cluster_id.isdigit() and profile_id.isdigit():
        cluster = Cluster.objects.filter(pk=cluster_id, is_active=True).first()
        profile = GpuProfile.objects.filter(pk=profile_id, is_active=True).first()
        if cluster and profile:
            capacity = selectors.free_capacity(cluster=cluster, profile=profile)
    return render(request, "tenants/_capacity.html", {"capacity": capacity})


@login_required
@require_GET
def tenant_detail(request, slug: str):
    tenant = selectors.get_tenant_for_user(request.user, slug)
    context = {
        "tenant": tenant,
        **selectors.tenant_overview(tenant),
        "history": selectors.tenant_history(tenant),
        "can_write": selectors.can_write_tenant(request.user, tenant),
        "can_manage_members": selectors.can_manage_members(request.user, tenant),
        "reason_form": ReasonForm(),
        "member_form": MemberForm(),
    }
    return render(request, "tenants/detail.html", context)


@login_required
def request_quota(request, slug: str):
    tenant = selectors.get_tenant_for_user(request.user, slug)
    if not selectors.can_write_tenant(request.user, tenant):
        raise PermissionDenied
    if request.method == "POST":
        form = QuotaRequestForm(request.POST, tenant=tenant)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.request_quota(
                    actor=request.user,
                    tenant=tenant,
                    environment=data["environment"],
                    profile=data["profile"],
                    guaranteed=data["guaranteed"],
                    burst=data["burst"],
                    justification=data["justification"],
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, "Quota requested; a platform admin will decide.")
                return redirect("tenants:detail", slug=tenant.slug)
    else:
        first_env = tenant.environments.order_by("name").first()
        form = QuotaRequestForm(tenant=tenant, initial={"environment": first_env})
    capacity = _capacity_for(tenant, form["environment"].value(), form["profile"].value())
    return render(
        request,
        "tenants/request_quota.html",
        {"tenant": tenant, "form": form, "capacity": capacity},
    )


def _capacity_for(tenant: Tenant, environment_id, profile_id):
    env = (
        Environment.objects.select_related("cluster")
        .filter(tenant=tenant, pk=environment_id)
        .first()
        if str(environment_id or "").isdigit()
        else None
    )
    profile = (
        GpuProfile.objects.filter(pk=profile_id, is_active=True).first()
        if str(profile_id or "").isdigit()
        else None
    )
    if profile is None:
        return None
    cluster = env.cluster if env else tenant.cluster
    return selectors.free_capacity(cluster=cluster, profile=profile)


@login_required
@require_GET
def quota_capacity(request, slug: str):
    """The picked profile's free guaranteed capacity on the tenant's cluster (htmx fragment)."""
    tenant = selectors.get_tenant_for_user(request.user, slug)
    capacity = _capacity_for(tenant, request.GET.get("environment"), request.GET.get("profile"))
    return render(request, "tenants/_capacity.html", {"capacity": capacity})


@login_required
@require_GET
def approvals(request):
    roles.require(request.user, roles.PLATFORM_ADMIN)
    if request.htmx and request.GET.get("part") == "capacity":
        # refreshed after each inline decision (HX-Trigger: quota-decided)
        return render(
            request, "tenants/_capacity_table.html", {"capacity": selectors.capacity_overview()}
        )
    return render(
        request,
        "tenants/approvals.html",
        {
            "pending_tenants": selectors.pending_tenants(),
            "pending_requests": selectors.pending_quota_requests(),
            "capacity": selectors.capacity_overview(),
            "reason_form": ReasonForm(),
        },
    )


def _decision_response(request, *, template: str, context: dict, done: str, error: str):
    """htmx: swap the row in place; without JS: back to the queue with a message."""
    return htmx.answer(
        request,
        partial=template,
        context={**context, "reason_form": ReasonForm()},
        redirect_to=reverse("tenants:approvals"),
        done=done,
        error=error,
        trigger="quota-decided",  # the capacity table reloads itself
    )


@login_required
@require_POST
def tenant_decide(request, slug: str, decision: str):
    tenant = selectors.get_tenant_for_user(request.user, slug)
    roles.require(request.user, roles.PLATFORM_ADMIN)
    error = ""
    try:
        if decision == "approve":
            tenant = decisions.approve_tenant(actor=request.user, tenant=tenant)
            done = f"Tenant {tenant.slug} approved."
        else:
            form = ReasonForm(request.POST)
            reason = form.cleaned_data["reason"] if form.is_valid() else ""
            tenant = decisions.reject_tenant(actor=request.user, tenant=tenant, reason=reason)
            done = f"Tenant {tenant.slug} rejected."
    except DomainError as exc:
        error, done = str(exc), ""
        tenant.refresh_from_db()
    return _decision_response(
        request,
        template="tenants/_tenant_row.html",
        context={"t": tenant},
        done=done,
        error=error,
    )


@login_required
@require_POST
def quota_decide(request, pk: int, decision: str):
    qr = selectors.get_quota_request_for_user(request.user, pk)
    roles.require(request.user, roles.PLATFORM_ADMIN)
    error = ""
    try:
        if decision == "approve":
            decisions.approve_quota_request(actor=request.user, quota_request=qr)
            done = f"Granted {qr.guaranteed}+{qr.burst} {qr.profile} to {qr.environment}."
        else:
            form = ReasonForm(request.POST)
            reason = form.cleaned_data["reason"] if form.is_valid() else ""
            decisions.reject_quota_request(actor=request.user, quota_request=qr, reason=reason)
            done = f"Request of {qr.tenant.slug} rejected."
    except DomainError as exc:
        error, done = str(exc), ""
    rows = selectors.pending_quota_requests(ids=[qr.pk])
    qr = selectors.get_quota_request_for_user(request.user, pk)
    return _decision_response(
        request,
        template="tenants/_request_row.html",
        context={"row": rows[0] if rows else None, "qr": qr},
        done=done,
        error=error,
    )


def _act_on_detail(request, slug: str, action, success: str):
    """Run one service call, report it as a message, and go back to the tenant page."""
    try:
        action()
        messages.success(request, success)
    except DomainError as exc:
        messages.error(request, str(exc))
    return redirect("tenants:detail", slug=slug)


@login_required
@require_POST
def quota_cancel(request, slug: str, pk: int):
    """The requesting team withdraws a pending request."""
    tenant = selectors.get_tenant_for_user(request.user, slug)
    qr = get_object_or_404(tenant.quota_requests, pk=pk)
    return _act_on_detail(
        request,
        slug,
        lambda: decisions.cancel_quota_request(actor=request.user, quota_request=qr),
        "Request withdrawn.",
    )


@login_required
@require_POST
def archive(request, slug: str):
    tenant = selectors.get_tenant_for_user(request.user, slug)
    roles.require(request.user, roles.PLATFORM_ADMIN)
    return _act_on_detail(
        request,
        slug,
        lambda: services.archive_tenant(actor=request.user, tenant=tenant),
        f"Tenant {slug} archived; its grants are revoked.",
    )


@login_required
@require_POST
def revoke_grant(request, slug: str, pk: int):
    tenant = selectors.get_tenant_for_user(request.user, slug)
    roles.require(request.user, roles.PLATFORM_ADMIN)
    grant = get_object_or_404(tenant.quota_grants, pk=pk)
    return _act_on_detail(
        request,
        slug,
        lambda: decisions.revoke_quota_grant(actor=request.user, grant=grant),
        "Grant revoked.",
    )


@login_required
@require_POST
def add_member(request, slug: str):
    tenant = selectors.get_tenant_for_user(request.user, slug)
    if not selectors.can_manage_members(request.user, tenant):
        raise PermissionDenied
    form = MemberForm(request.POST)
    if form.is_valid():
        user = get_user_model().objects.filter(username=form.cleaned_data["username"]).first()
        if user is None:
            messages.error(request, f"No user {form.cleaned_data['username']!r}.")
        else:
            try:
                services.add_member(
                    actor=request.user, tenant=tenant, user=user, role=form.cleaned_data["role"]
                )
                messages.success(request, f"{user.username} is now {form.cleaned_data['role']}.")
            except DomainError as exc:
                messages.error(request, str(exc))
    else:
        messages.error(request, "Give a username and a role.")
    return redirect("tenants:detail", slug=slug)


@login_required
@require_POST
def remove_member(request, slug: str, pk: int):
    tenant = selectors.get_tenant_for_user(request.user, slug)
    membership = get_object_or_404(TenantMembership, tenant=tenant, pk=pk)
    return _act_on_detail(
        request,
        slug,
        lambda: services.remove_member(actor=request.user, membership=membership),
        f"{membership.user.username} removed.",
    )
