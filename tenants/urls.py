"""Web URLs of the tenants app."""

from django.urls import path

from . import spec_views, views

app_name = "tenants"
urlpatterns = [
    path("", views.tenant_list, name="list"),
    path("new/", views.onboard, name="onboard"),
    path("new/validate/<slug:field>/", views.onboard_validate, name="onboard_validate"),
    path("new/capacity/", views.onboard_capacity, name="onboard_capacity"),
    path("approvals/", views.approvals, name="approvals"),
    path(
        "quota-requests/<int:pk>/approve/",
        views.quota_decide,
        {"decision": "approve"},
        name="quota_approve",
    ),
    path(
        "quota-requests/<int:pk>/reject/",
        views.quota_decide,
        {"decision": "reject"},
        name="quota_reject",
    ),
    path("<slug:slug>/", views.tenant_detail, name="detail"),
    path("<slug:slug>/quota/", views.request_quota, name="request_quota"),
    path("<slug:slug>/spec/", spec_views.tenant_spec, name="spec"),
    path("<slug:slug>/quota/capacity/", views.quota_capacity, name="quota_capacity"),
    path("<slug:slug>/quota/<int:pk>/cancel/", views.quota_cancel, name="quota_cancel"),
    path("<slug:slug>/archive/", views.archive, name="archive"),
    path("<slug:slug>/grants/<int:pk>/revoke/", views.revoke_grant, name="revoke_grant"),
    path("<slug:slug>/members/", views.add_member, name="add_member"),
    path("<slug:slug>/members/<int:pk>/remove/", views.remove_member, name="remove_member"),
    path("<slug:slug>/approve/", views.tenant_decide, {"decision": "approve"}, name="approve"),
    path("<slug:slug>/reject/", views.tenant_decide, {"decision": "reject"}, name="reject"),
]
