"""Django admin for the tenancy models; the admin site itself is for superusers only."""

from django.contrib import admin

from .models import Environment, GpuProfile, QuotaGrant, QuotaRequest, Tenant, TenantMembership


def _superuser_only(request) -> bool:
    return request.user.is_active and request.user.is_superuser


# Platform admins work in the portal's own pages (with its rules); the raw admin is break-glass.
admin.site.has_permission = _superuser_only


@admin.register(GpuProfile)
class GpuProfileAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "display_name",
        "gpu_product",
        "partition",
        "resource_name",
        "is_active",
    ]
    list_filter = ["partition", "is_active"]


class EnvironmentInline(admin.TabularInline):
    model = Environment
    extra = 0


class MembershipInline(admin.TabularInline):
    model = TenantMembership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "team", "cluster", "status", "desired_generation"]
    list_filter = ["status", "cluster"]
    search_fields = ["slug", "name", "team"]
    inlines = [EnvironmentInline, MembershipInline]
    raw_id_fields = ["decided_by", "created_by"]


@admin.register(QuotaRequest)
class QuotaRequestAdmin(admin.ModelAdmin):
    list_display = ["tenant", "environment", "profile", "guaranteed", "burst", "status"]
    list_filter = ["status"]
    raw_id_fields = ["requested_by", "decided_by"]


@admin.register(QuotaGrant)
class QuotaGrantAdmin(admin.ModelAdmin):
    list_display = ["tenant", "environment", "profile", "guaranteed", "burst", "revoked_at"]
    raw_id_fields = ["granted_by", "revoked_by"]
