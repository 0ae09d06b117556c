"""Home: every signed-in user lands on the page of their role (the admins' approvals and
capacity, the ML teams' tenants and requests)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from clusters.models import Cluster
from portal import roles

from . import selectors as tenant_selectors
from .models import QuotaRequest, Tenant


@login_required
def home(request):
    role = roles.primary_role(request.user)
    context = {"role": role}
    if role == roles.PLATFORM_ADMIN:
        context.update(
            pending_tenants=Tenant.objects.filter(status=Tenant.Status.PENDING).count(),
            pending_requests=QuotaRequest.objects.filter(
                status=QuotaRequest.Status.PENDING
            ).count(),
            clusters=Cluster.objects.order_by("name"),
            capacity=tenant_selectors.capacity_overview(),
        )
    elif role == roles.ML_TEAM:
        context.update(
            tenants=tenant_selectors.tenant_list(request.user),
            requests=tenant_selectors.visible_quota_requests(request.user).order_by("-created_at")[
                :20
            ],
        )
    return render(request, "tenants/home.html", context)
