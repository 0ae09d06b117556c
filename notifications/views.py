"""Notification pages: a user's choices (and their tenants' webhooks), the deliveries log."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal import roles
from portal.domain_errors import DomainError

from . import selectors, services
from .audience import tenant_directory
from .models import Delivery

PAGE_SIZE = 50


@login_required
def preferences(request):
    owned = tenant_directory().owned_tenants(request.user)
    errors: dict[int, str] = {}
    if request.method == "POST":
        if request.POST.get("form") == "webhook":
            try:
                tenant_id = int(request.POST.get("tenant_id", ""))
            except ValueError:
                tenant_id = -1
            try:
                services.set_tenant_webhook(
                    actor=request.user, tenant_id=tenant_id, url=request.POST.get("url", "")
                )
            except DomainError as exc:
                errors[tenant_id] = str(exc)
            else:
                messages.success(request, "Webhook saved.")
                return redirect("notifications:preferences")
        else:
            services.set_preferences(user=request.user, email_kinds=request.POST.getlist("email"))
            messages.success(request, "Your notification choices are saved.")
            return redirect("notifications:preferences")
    hooks = selectors.tenant_webhooks(t for t, _ in owned)
    return render(
        request,
        "notifications/preferences.html",
        {
            "choices": selectors.email_choices(request.user),
            "tenants": [
                {"id": t, "slug": slug, "url": hooks.get(t, ""), "error": errors.get(t, "")}
                for t, slug in owned
            ],
        },
        status=400 if errors else 200,
    )


@login_required
def deliveries(request):
    if not roles.is_platform_admin(request.user):
        raise PermissionDenied
    status = request.GET.get("status", "")
    if status not in Delivery.Status.values:
        status = ""
    counts = selectors.delivery_counts()
    page = Paginator(selectors.deliveries(status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "notifications/deliveries.html",
        {
            "page": page,
            "status": status,
            "statuses": [(v, label, counts.get(v, 0)) for v, label in Delivery.Status.choices],
        },
    )


@login_required
@require_POST
def retry(request):
    if not roles.is_platform_admin(request.user):
        raise PermissionDenied
    try:
        pk = int(request.POST.get("delivery", ""))
    except ValueError:
        pk = 0
    delivery = get_object_or_404(Delivery, pk=pk)
    try:
        services.retry_delivery(actor=request.user, delivery=delivery)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Delivery {pk} queued again.")
    return redirect("notifications:deliveries")
