"""Where a blocked sync and field conflicts show (tenant sync page, cluster page, API) and the
admin's adoption preview and confirmation, against the Kubernetes API emulator."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from clusters.models import ObjectAdoption
from clusters.sync import check_drift, run_tenant_sync
from clusters.tests.sync_helpers import approved_tenant
from tenants.tests.factories import MembershipFactory, platform_admin, user_in

pytestmark = pytest.mark.django_db


def blocked_tenant(kube_cluster, kube_emulator):
    kube_emulator.put(
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": "team-a-prod", "labels": {"team": "search"}}},
        manager="kubectl-create",
    )  # fmt: skip
    tenant = approved_tenant(kube_cluster, envs=("prod",))
    run_tenant_sync(tenant.pk)
    return tenant


def preview(client, tenant, cluster):
    return client.post(
        reverse("tenants_sync:adopt", args=[tenant.slug]),
        {"cluster": cluster.name, "api_version": "v1", "kind": "Namespace", "namespace": "",
         "name": "team-a-prod"},
    )  # fmt: skip


def test_tenant_members_see_what_blocks_the_sync_without_the_adoption_link(
    client, kube_cluster, kube_emulator
):
    tenant = blocked_tenant(kube_cluster, kube_emulator)
    member = MembershipFactory(tenant=tenant, user=user_in("ml-team")).user
    client.force_login(member)

    html = client.get(reverse("tenants_sync:panel", args=[tenant.slug])).content.decode()

    assert "Namespace team-a-prod already exists" in html
    assert "team=search" in html
    assert "Review adoption" not in html


def test_admin_sees_the_block_on_the_cluster_page(client, kube_cluster, kube_emulator):
    blocked_tenant(kube_cluster, kube_emulator)
    client.force_login(platform_admin())

    html = client.get(reverse("clusters:detail", args=[kube_cluster.name])).content.decode()

    assert "team-a blocked:" in html
    assert "Namespace team-a-prod already exists" in html


def test_the_sync_api_lists_blocked_objects_and_conflicts(kube_cluster, kube_emulator):
    tenant = blocked_tenant(kube_cluster, kube_emulator)
    api = APIClient()
    api.force_authenticate(platform_admin())

    body = api.get(f"/api/v1/tenants/{tenant.slug}/sync/").json()

    (state,) = body["clusters"]
    assert state["blocked_objects"][0]["name"] == "team-a-prod"
    assert state["blocked_objects"][0]["labels"] == {"team": "search"}
    assert state["conflicts"] == []
    assert body["runs"][0]["status"] == "blocked"


def test_adoption_page_previews_the_changes(client, kube_cluster, kube_emulator):
    tenant = blocked_tenant(kube_cluster, kube_emulator)
    client.force_login(platform_admin())

    html = preview(client, tenant, kube_cluster).content.decode()

    assert ".metadata.labels.gpu-portal.io/tenant" in html
    assert "NetworkPolicy team-a-prod/gpu-portal-default-deny" in html


def test_adoption_without_the_confirmation_tick_is_refused_with_a_field_message(
    client, kube_cluster, kube_emulator
):
    tenant = blocked_tenant(kube_cluster, kube_emulator)
    client.force_login(platform_admin())
    uid = kube_emulator.get("v1", "Namespace", "team-a-prod")["metadata"]["uid"]
    data = {"cluster": kube_cluster.name, "api_version": "v1", "kind": "Namespace",
            "namespace": "", "name": "team-a-prod", "uid": uid}  # fmt: skip

    refused = client.post(reverse("tenants_sync:adopt", args=[tenant.slug]), data)
    confirmed = client.post(
        reverse("tenants_sync:adopt", args=[tenant.slug]), data | {"confirm": "on"}
    )

    assert refused.status_code == 200
    assert "Tick the confirmation" in refused.content.decode()
    assert confirmed.status_code == 302
    assert ObjectAdoption.objects.count() == 1


def test_members_cannot_open_the_adoption_page(client, kube_cluster, kube_emulator):
    tenant = blocked_tenant(kube_cluster, kube_emulator)
    client.force_login(MembershipFactory(tenant=tenant, role="owner", user=user_in("ml")).user)

    assert preview(client, tenant, kube_cluster).status_code == 403


def test_conflicts_show_who_owns_which_field_with_a_resolve_button_for_admins(
    client, kube_cluster, kube_emulator
):
    tenant = approved_tenant(kube_cluster)
    run_tenant_sync(tenant.pk)
    quota = kube_emulator.get("v1", "ResourceQuota", "gpu-portal-quota", "team-a-dev")
    quota["spec"]["hard"]["requests.nvidia.com/gpu"] = "64"
    kube_emulator.put(quota, manager="kubectl-edit")
    check_drift()
    client.force_login(platform_admin())

    html = client.get(reverse("tenants_sync:panel", args=[tenant.slug])).content.decode()

    assert "<code>.spec.hard.requests.nvidia.com/gpu</code> owned by <strong>kubectl-edit" in html
    assert reverse("tenants_sync:resolve_conflicts", args=[tenant.slug]) in html
