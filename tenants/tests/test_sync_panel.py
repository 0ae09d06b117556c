"""The tenant sync panel (web) and /api/v1/tenants/{slug}/sync/: visibility, polling, actions."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from clusters.models import NamespaceDeletion, SyncRun
from clusters.sync import run_tenant_sync
from clusters.tests.sync_helpers import approved_tenant
from tenants.models import Tenant
from tenants.tests.factories import MembershipFactory, platform_admin, user_in

pytestmark = pytest.mark.django_db


def ml_user():
    return user_in("ml-team")


def member_of(tenant, role="member"):
    return MembershipFactory(tenant=tenant, role=role, user=ml_user()).user


def test_member_sees_runs_with_per_object_results(client, kube_cluster):
    tenant = approved_tenant(kube_cluster)
    run_tenant_sync(tenant.pk)
    client.force_login(member_of(tenant))

    response = client.get(reverse("tenants_sync:panel", args=[tenant.slug]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "ClusterQueue" in html and "Created" in html
    assert 'hx-trigger="every 2s"' not in html  # done: no more polling


def test_panel_polls_while_the_sync_is_pending(client, kube_cluster):
    tenant = approved_tenant(kube_cluster)
    client.force_login(member_of(tenant))

    response = client.get(reverse("tenants_sync:panel", args=[tenant.slug]), HTTP_HX_REQUEST="true")

    assert 'hx-trigger="every 2s"' in response.content.decode()
    assert response.templates[0].name == "tenants/_sync_panel.html"


def test_panel_queries_do_not_grow_with_runs(client, kube_cluster, django_assert_max_num_queries):
    tenant = approved_tenant(kube_cluster)
    for _ in range(4):
        run_tenant_sync(tenant.pk, trigger=SyncRun.Trigger.FORCE)
    client.force_login(member_of(tenant))

    with django_assert_max_num_queries(12):
        client.get(reverse("tenants_sync:panel", args=[tenant.slug]))


def test_someone_elses_tenant_is_404_in_web_and_api(client, kube_cluster):
    tenant = approved_tenant(kube_cluster)
    outsider = ml_user()
    client.force_login(outsider)
    api = APIClient()
    api.force_authenticate(outsider)

    assert client.get(reverse("tenants_sync:panel", args=[tenant.slug])).status_code == 404
    assert client.post(reverse("tenants_sync:force", args=[tenant.slug])).status_code == 404
    assert api.get(f"/api/v1/tenants/{tenant.slug}/sync/").status_code == 404
    assert api.post(f"/api/v1/tenants/{tenant.slug}/sync/").status_code == 404


def test_members_cannot_force_a_sync(client, kube_cluster):
    tenant = approved_tenant(kube_cluster)
    owner = member_of(tenant, "owner")
    client.force_login(owner)
    api = APIClient()
    api.force_authenticate(owner)

    assert client.post(reverse("tenants_sync:force", args=[tenant.slug])).status_code == 403
    assert api.post(f"/api/v1/tenants/{tenant.slug}/sync/").status_code == 403


def test_admin_force_sync_re_applies_after_commit(
    client, kube_cluster, django_capture_on_commit_callbacks, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from portal.celery import app

    app.conf.task_always_eager = True
    try:
        tenant = approved_tenant(kube_cluster)
        run_tenant_sync(tenant.pk)
        client.force_login(platform_admin(username="root"))
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("tenants_sync:force", args=[tenant.slug]))
    finally:
        app.conf.task_always_eager = False

    assert response.status_code == 302
    forced = SyncRun.objects.filter(tenant_id=tenant.pk, trigger=SyncRun.Trigger.FORCE).get()
    assert forced.actor == "root"
    assert set(forced.results.values_list("action", flat=True)) == {"unchanged"}


def test_api_reports_generations_runs_and_results(kube_cluster):
    tenant = approved_tenant(kube_cluster)
    run_tenant_sync(tenant.pk)
    api = APIClient()
    api.force_authenticate(member_of(tenant, "viewer"))

    body = api.get(f"/api/v1/tenants/{tenant.slug}/sync/").json()

    assert body["pending"] is False
    assert body["applied_generation"] == body["desired_generation"] == 1
    assert body["runs"][0]["status"] == "succeeded"
    assert {"kind": "Namespace", "name": "team-a-dev", "action": "created"}.items() <= {
        k: v for k, v in body["runs"][0]["results"][0].items()
    }.items()


def test_admin_confirms_namespace_deletion_only_for_archived_tenants(client, kube_cluster):
    tenant = approved_tenant(kube_cluster)
    client.force_login(platform_admin())
    url = reverse("tenants_sync:delete_namespaces", args=[tenant.slug])

    client.post(url)
    assert not NamespaceDeletion.objects.exists()

    Tenant.objects.filter(pk=tenant.pk).update(status="archived")
    client.post(url)
    assert NamespaceDeletion.objects.get().tenant_slug == tenant.slug


def test_a_refused_action_on_htmx_shows_its_error_in_the_panel(client, kube_cluster):
    tenant = approved_tenant(kube_cluster)
    client.force_login(platform_admin())

    response = client.post(
        reverse("tenants_sync:delete_namespaces", args=[tenant.slug]), HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert b'id="sync-panel"' in response.content
    assert f"Tenant {tenant.slug} is not archived".encode() in response.content
    assert not NamespaceDeletion.objects.exists()


def test_a_refused_action_without_javascript_redirects_with_the_message(client, kube_cluster):
    tenant = approved_tenant(kube_cluster)
    client.force_login(platform_admin())

    response = client.post(
        reverse("tenants_sync:delete_namespaces", args=[tenant.slug]), follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("tenants_sync:panel", args=[tenant.slug])
    assert f"Tenant {tenant.slug} is not archived" in response.content.decode()
