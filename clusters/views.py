"""Cluster pages (platform admins): registry, capacity vs allocations, sync health, drift."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from portal import roles
from portal.domain_errors import DomainError

from . import selectors, services
from .forms import CapacityOverrideForm, ClusterForm


def _admin(request) -> None:
    if not roles.is_platform_admin(request.user):
        raise PermissionDenied


@login_required
def cluster_list(request):
    _admin(request)
    return render(request, "clusters/list.html", {"clusters": selectors.cluster_list()})


@login_required
def cluster_detail(request, name):
    _admin(request)
    cluster = selectors.get_cluster(name)
    context = {
        "cluster": cluster,
        "capacity": selectors.capacity_lines(cluster),
        "override_form": CapacityOverrideForm(),
        **selectors.cluster_sync_overview(cluster),
    }
    template = "clusters/_capacity.html" if request.htmx else "clusters/detail.html"
    return render(request, template, context)


def _save_form(form, save):
    if form.is_valid():
        try:
            return save(form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
    return None


@login_required
def cluster_create(request):
    _admin(request)
    form = ClusterForm(request.POST or None)
    if request.method == "POST":
        cluster = _save_form(form, lambda data: services.create_cluster(actor=request.user, **data))
        if cluster:
            messages.success(request, f"Cluster {cluster.name} registered.")
            return redirect("clusters:detail", name=cluster.name)
    return render(request, "clusters/form.html", {"form": form, "cluster": None})


@login_required
def cluster_edit(request, name):
    _admin(request)
    cluster = selectors.get_cluster(name)
    form = ClusterForm(request.POST or None, instance=cluster)
    if request.method == "POST":
        saved = _save_form(
            form,
            lambda data: services.update_cluster(actor=request.user, cluster=cluster, **data),
        )
        if saved:
            messages.success(request, f"Cluster {saved.name} updated.")
            return redirect("clusters:detail", name=saved.name)
    return render(request, "clusters/form.html", {"form": form, "cluster": cluster})


@login_required
@require_POST
def capacity_override(request, name):
    _admin(request)
    cluster = selectors.get_cluster(name)
    form = CapacityOverrideForm(request.POST)
    if form.is_valid():
        services.set_capacity_override(actor=request.user, cluster=cluster, **form.cleaned_data)
        if not request.htmx:
            messages.success(request, "Capacity override saved.")
    elif not request.htmx:
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
    if request.htmx:
        context = {
            "cluster": cluster,
            "capacity": selectors.capacity_lines(cluster),
            "override_form": form,
        }
        return render(request, "clusters/_capacity.html", context)
    return redirect("clusters:detail", name=cluster.name)


@login_required
def cluster_preflight(request, name):
    """The permission check (htmx part of the cluster page; asks the cluster, so on demand)."""
    _admin(request)
    cluster = selectors.get_cluster(name)
    return render(
        request, "clusters/_preflight.html", {"preflight": selectors.cluster_preflight(cluster)}
    )
