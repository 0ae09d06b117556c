"""A tenant's sync panel: generations, runs with per-object results (htmx polling until done),
the admin actions force sync and confirm namespace deletion of an archived tenant, and the same
through GET|POST /api/v1/tenants/{slug}/sync/ (POST: platform admins force a sync)."""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from clusters import selectors as cluster_selectors
from clusters import services as cluster_services
from clusters.models import NamespaceDeletion, SyncObjectResult, SyncRun, SyncState
from portal import htmx, roles
from portal.audit import request_context

from .models import Tenant
from .selectors import get_tenant_for_user

STALE_RUN = timedelta(minutes=10)


def sync_context(tenant: Tenant, user) -> dict:
    runs = cluster_selectors.tenant_sync_runs(tenant.pk)
    # a run a killed worker left "running" stops the polling after STALE_RUN
    recent = timezone.now() - STALE_RUN
    busy = tenant.sync_pending or any(not r.is_done and r.started_at > recent for r in runs)
    return {
        "tenant": tenant,
        "runs": runs,
        "states": cluster_selectors.tenant_sync_states(tenant.pk),
        "polling": busy,
        "is_admin": roles.is_platform_admin(user),
        "deletion": NamespaceDeletion.objects.filter(tenant_id=tenant.pk).first(),
    }


@login_required
def panel(request, slug):
    tenant = get_tenant_for_user(request.user, slug)
    template = "tenants/_sync_panel.html" if request.htmx else "tenants/sync_page.html"
    return render(request, template, sync_context(tenant, request.user))


def _admin_action(request, slug, action, done_message):
    tenant = get_tenant_for_user(request.user, slug)  # 404 first: no enumeration
    roles.require(request.user, roles.PLATFORM_ADMIN)

    def context() -> dict:
        tenant.refresh_from_db()
        return sync_context(tenant, request.user)

    return htmx.act(
        request,
        lambda: action(tenant),
        done=done_message,
        partial="tenants/_sync_panel.html",
        context=context,
        redirect_to=reverse("tenants_sync:panel", args=[tenant.slug]),
    )


@login_required
@require_POST
def force_sync(request, slug):
    return _admin_action(
        request,
        slug,
        lambda t: cluster_services.force_sync(actor=request.user, tenant_id=t.pk),
        "Sync requested.",
    )


@login_required
@require_POST
def confirm_namespace_deletion(request, slug):
    return _admin_action(
        request,
        slug,
        lambda t: cluster_services.confirm_namespace_deletion(actor=request.user, tenant_id=t.pk),
        "Namespace deletion confirmed; the next sync removes them.",
    )


# --- API ----------------------------------------------------------------------------------


class SyncObjectResultOutput(serializers.ModelSerializer):
    class Meta:
        model = SyncObjectResult
        fields = ["api_version", "kind", "namespace", "name", "action", "message"]


class SyncRunOutput(serializers.ModelSerializer):
    cluster = serializers.CharField(source="cluster.name")
    results = SyncObjectResultOutput(many=True)

    class Meta:
        model = SyncRun
        fields = [
            "id", "cluster", "generation", "trigger", "status", "message", "actor",
            "object_count", "started_at", "finished_at", "results",
        ]  # fmt: skip


class SyncStateOutput(serializers.ModelSerializer):
    cluster = serializers.CharField(source="cluster.name")

    class Meta:
        model = SyncState
        fields = [
            "cluster", "last_success_at", "last_success_generation", "drift_checked_at",
            "drifted_objects",
        ]  # fmt: skip


class TenantSyncOutput(serializers.Serializer):
    tenant = serializers.CharField()
    desired_generation = serializers.IntegerField()
    applied_generation = serializers.IntegerField()
    pending = serializers.BooleanField()
    clusters = SyncStateOutput(many=True)
    runs = SyncRunOutput(many=True)


class SyncEnqueuedOutput(serializers.Serializer):
    detail = serializers.CharField()


@extend_schema(
    methods=["GET"], responses=TenantSyncOutput, summary="Generations and last sync runs"
)
@extend_schema(
    methods=["POST"],
    request=None,
    responses={202: SyncEnqueuedOutput},
    summary="Force a sync (platform admins)",
)
@api_view(["GET", "POST"])
def tenant_sync_api(request, slug):
    tenant = get_tenant_for_user(request.user, slug)
    if request.method == "POST":
        roles.require(request.user, roles.PLATFORM_ADMIN)
        with request_context(request):
            cluster_services.force_sync(actor=request.user, tenant_id=tenant.pk)
        return Response({"detail": "sync enqueued"}, status=status.HTTP_202_ACCEPTED)
    return Response(
        {
            "tenant": tenant.slug,
            "desired_generation": tenant.desired_generation,
            "applied_generation": tenant.applied_generation,
            "pending": tenant.sync_pending,
            "clusters": SyncStateOutput(
                cluster_selectors.tenant_sync_states(tenant.pk), many=True
            ).data,
            "runs": SyncRunOutput(cluster_selectors.tenant_sync_runs(tenant.pk), many=True).data,
        }
    )
