"""Cluster pages (platform admins): registry, capacity vs allocations, sync health, drift."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal import htmx, roles
from portal.domain_errors import DomainError
from portal.form_errors import add_domain_error

from . import selectors, services
from .forms import CapacityOverrideForm, ClusterForm


@login_required
def cluster_list(request):
    roles.require(request.user, roles.PLATFORM_ADMIN)
    return render(request, "clusters/list.html", {"clusters": selectors.cluster_list()})


@login_required
def cluster_detail(request, name):
    roles.require(request.user, roles.PLATFORM_ADMIN)
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
            add_domain_error(form, exc)
    return None


@login_required
def cluster_create(request):
    roles.require(request.user, roles.PLATFORM_ADMIN)
    form = ClusterForm(request.POST or None)
    if request.method == "POST":
        cluster = _save_form(form, lambda data: services.create_cluster(actor=request.user, **data))
        if cluster:
            messages.success(request, f"Cluster {cluster.name} registered.")
            return redirect("clusters:detail", name=cluster.name)
    return render(request, "clusters/form.html", {"form": form, "cluster": None})


@login_required
def cluster_edit(request, name):
    roles.require(request.user, roles.PLATFORM_ADMIN)
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
    roles.require(request.user, roles.PLATFORM_ADMIN)
    cluster = selectors.get_cluster(name)
    form = CapacityOverrideForm(request.POST)
    if form.is_valid():
        services.set_capacity_override(actor=request.user, cluster=cluster, **form.cleaned_data)
    return htmx.answer(
        request,
        partial="clusters/_capacity.html",
        context={
            "cluster": cluster,
            "capacity": selectors.capacity_lines(cluster),
            "override_form": form,
        },
        redirect_to=reverse("clusters:detail", args=[cluster.name]),
        done="Capacity override saved.",
        # the partial shows the form's own field errors; the plain page gets them as a message
        error=""
        if form.is_valid()
        else "; ".join(e for errs in form.errors.values() for e in errs),
    )
