"""The kubernetes backend end to end: the real `kubernetes` client over HTTP to the emulator
(portal/testing/kube_emulator.py; its differences from a real API server are listed there:
apply replaces our fields wholesale, resourceVersion moves only on change)."""

import pytest
from django.utils import timezone

from clusters.models import SyncObjectResult, SyncRun
from clusters.sync import run_tenant_sync
from clusters.tests.sync_helpers import approved_tenant
from tenants.tests.factories import mig_profile

pytestmark = pytest.mark.django_db


def actions(run):
    return {(r.kind, r.name): r.action for r in run.results.all()}


def test_approved_tenant_gets_its_objects_with_the_granted_quota(kube_cluster, kube_emulator):
    tenant = approved_tenant(kube_cluster, envs=("dev", "prod"), guaranteed=4, burst=2)

    result = run_tenant_sync(tenant.pk)

    assert result.applied
    quota = kube_emulator.get("v1", "ResourceQuota", "gpu-portal-quota", "team-a-prod")
    assert quota["spec"]["hard"]["requests.nvidia.com/gpu"] == "6"
    assert quota["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "gpu-portal"
    queue = kube_emulator.get("kueue.x-k8s.io/v1beta2", "ClusterQueue", "team-a-dev")
    gpu_group = queue["spec"]["resourceGroups"][1]
    assert gpu_group["flavors"][0]["resources"][0] == {
        "name": "nvidia.com/gpu",
        "nominalQuota": 4,
        "borrowingLimit": 2,
    }
    assert queue["spec"]["cohortName"] == kube_cluster.gpu_pool
    local = kube_emulator.get("kueue.x-k8s.io/v1beta2", "LocalQueue", "default", "team-a-dev")
    assert local["spec"]["clusterQueue"] == "team-a-dev"
    binding = kube_emulator.get(
        "rbac.authorization.k8s.io/v1", "RoleBinding", "gpu-portal-owners", "team-a-dev"
    )
    assert binding["roleRef"]["name"] == "admin"
    assert binding["subjects"][0]["name"] == "team-a-owners"
    tenant.refresh_from_db()
    assert tenant.applied_generation == tenant.desired_generation


def test_first_sync_reports_every_object_created(kube_cluster):
    tenant = approved_tenant(kube_cluster)

    run = run_tenant_sync(tenant.pk).runs[0]

    assert run.status == SyncRun.Status.SUCCEEDED
    assert set(actions(run).values()) == {"created"}
    assert ("Namespace", "team-a-dev") in actions(run)


def test_second_sync_of_unchanged_state_writes_nothing(kube_cluster, kube_emulator):
    tenant = approved_tenant(kube_cluster)
    run_tenant_sync(tenant.pk)
    writes, requests = kube_emulator.writes, kube_emulator.requests

    run = run_tenant_sync(tenant.pk).runs[0]

    assert run.status == SyncRun.Status.NOOP
    assert (kube_emulator.writes, kube_emulator.requests) == (writes, requests)


def test_forced_sync_of_unchanged_state_reports_unchanged_objects(kube_cluster):
    tenant = approved_tenant(kube_cluster)
    run_tenant_sync(tenant.pk)

    run = run_tenant_sync(tenant.pk, trigger=SyncRun.Trigger.FORCE).runs[0]

    assert set(actions(run).values()) == {"unchanged"}


def test_changed_grant_configures_the_quota(kube_cluster, kube_emulator):
    tenant = approved_tenant(kube_cluster, guaranteed=2, burst=0)
    run_tenant_sync(tenant.pk)
    tenant.quota_grants.update(guaranteed=3)

    run = run_tenant_sync(tenant.pk, trigger=SyncRun.Trigger.FORCE).runs[0]

    assert actions(run)[("ResourceQuota", "gpu-portal-quota")] == "configured"
    quota = kube_emulator.get("v1", "ResourceQuota", "gpu-portal-quota", "team-a-dev")
    assert quota["spec"]["hard"]["requests.nvidia.com/gpu"] == "3"


def test_a_changed_grant_writes_only_the_objects_it_changes(kube_cluster, kube_emulator):
    tenant = approved_tenant(kube_cluster, envs=("dev", "staging"), guaranteed=2, burst=0)
    run_tenant_sync(tenant.pk)
    tenant.quota_grants.filter(environment__name="dev").update(guaranteed=3)
    writes = kube_emulator.writes

    run = run_tenant_sync(tenant.pk).runs[0]

    results = run.results.all()
    changed = {(r.kind, r.namespace, r.name) for r in results if r.action != "unchanged"}
    assert changed == {
        ("ResourceQuota", "team-a-dev", "gpu-portal-quota"),
        ("ClusterQueue", "", "team-a-dev"),
    }
    assert kube_emulator.writes - writes == 2  # not one write per object of the tenant
    assert len(results) > 10


def test_revoked_grant_removes_its_quota_entry_and_queue_flavor(kube_cluster, kube_emulator):
    tenant = approved_tenant(kube_cluster, envs=("dev",))
    mig = mig_profile()
    from tenants.tests.factories import QuotaGrantFactory

    QuotaGrantFactory(environment=tenant.environments.get(), profile=mig, guaranteed=1, burst=0)
    run_tenant_sync(tenant.pk)
    tenant.quota_grants.filter(profile=mig).update(revoked_at=timezone.now())

    run_tenant_sync(tenant.pk)

    hard = kube_emulator.get("v1", "ResourceQuota", "gpu-portal-quota", "team-a-dev")["spec"][
        "hard"
    ]
    assert "requests.nvidia.com/mig-1g.10gb" not in hard
    assert hard["requests.nvidia.com/gpu"] == "3"
    queue = kube_emulator.get("kueue.x-k8s.io/v1beta2", "ClusterQueue", "team-a-dev")
    flavors = [f["name"] for g in queue["spec"]["resourceGroups"] for f in g["flavors"]]
    assert mig.name not in flavors


def test_object_no_longer_desired_is_pruned_but_namespace_kept(kube_cluster, kube_emulator):
    tenant = approved_tenant(kube_cluster, envs=("dev", "staging"))
    run_tenant_sync(tenant.pk)
    tenant.environments.filter(name="staging").delete()

    run = run_tenant_sync(tenant.pk).runs[0]

    assert actions(run)[("ClusterQueue", "team-a-staging")] == "pruned"
    assert kube_emulator.get("kueue.x-k8s.io/v1beta2", "ClusterQueue", "team-a-staging") is None
    assert kube_emulator.objects("ResourceQuota", "team-a-staging") == []
    assert kube_emulator.get("v1", "Namespace", "team-a-staging") is not None


def test_objects_of_other_tenants_and_other_managers_are_never_pruned(kube_cluster, kube_emulator):
    other = approved_tenant(kube_cluster, slug="team-b")
    run_tenant_sync(other.pk)
    kube_emulator.put({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "by-hand", "namespace": "team-b-dev"}})  # fmt: skip
    tenant = approved_tenant(kube_cluster, slug="team-a")

    run = run_tenant_sync(tenant.pk).runs[0]

    assert "pruned" not in actions(run).values()
    assert kube_emulator.get("v1", "ConfigMap", "by-hand", "team-b-dev") is not None
    assert kube_emulator.get("kueue.x-k8s.io/v1beta2", "ClusterQueue", "team-b-dev") is not None


@pytest.mark.parametrize("status", [409, 500, 429, 503])
def test_transient_api_errors_are_retried_to_success(kube_cluster, kube_emulator, status):
    tenant = approved_tenant(kube_cluster)
    kube_emulator.fail_next(2, status, path_contains="/resourcequotas/", method="PATCH")

    result = run_tenant_sync(tenant.pk)

    assert result.applied
    assert kube_emulator.get("v1", "ResourceQuota", "gpu-portal-quota", "team-a-dev")


@pytest.mark.parametrize("status", [403, 422])
def test_refused_object_fails_the_run_with_the_api_message(kube_cluster, kube_emulator, status):
    tenant = approved_tenant(kube_cluster)
    kube_emulator.fail_next(
        1, status, path_contains="/limitranges/", method="PATCH",
        message='limitranges "gpu-portal-defaults" is forbidden: by policy',
    )  # fmt: skip

    result = run_tenant_sync(tenant.pk)

    run = result.runs[0]
    assert not result.applied
    assert run.status == SyncRun.Status.FAILED
    failed = run.results.get(action=SyncObjectResult.Action.FAILED)
    assert failed.kind == "LimitRange"
    assert "is forbidden: by policy" in failed.message
    assert str(status) in failed.message
    tenant.refresh_from_db()
    assert tenant.applied_generation < tenant.desired_generation


def test_unreachable_cluster_leaves_tenant_pending_then_a_later_sync_completes(
    kube_cluster, kube_emulator
):
    from clusters.backends import TransientError

    tenant = approved_tenant(kube_cluster)
    url = kube_cluster.api_server_url
    kube_cluster.api_server_url = "http://127.0.0.1:9"  # discard port: connection refused
    kube_cluster.save()

    with pytest.raises(TransientError, match="unreachable"):
        run_tenant_sync(tenant.pk)

    tenant.refresh_from_db()
    assert tenant.sync_pending
    assert SyncRun.objects.get(tenant_id=tenant.pk).status == SyncRun.Status.RETRYING
    kube_cluster.api_server_url = url
    kube_cluster.save()
    assert run_tenant_sync(tenant.pk, trigger=SyncRun.Trigger.RECONCILE).applied
    tenant.refresh_from_db()
    assert not tenant.sync_pending


def test_invalid_object_fails_the_whole_sync_and_nothing_is_applied(kube_cluster, kube_emulator):
    tenant = approved_tenant(kube_cluster)
    tenant.cost_center = "not a label value!"
    type(tenant).objects.filter(pk=tenant.pk).update(cost_center="bad value!")

    run = run_tenant_sync(tenant.pk).runs[0]

    assert run.status == SyncRun.Status.FAILED
    assert "Namespace team-a-dev: metadata.labels.gpu-portal.io/cost-center" in run.message
    assert kube_emulator.writes == 0


def test_mark_applied_never_moves_the_generation_backwards(kube_cluster):
    from clusters.registry import sync_recorder

    tenant = approved_tenant(kube_cluster)
    sync_recorder().mark_applied(tenant.pk, 5)

    assert sync_recorder().mark_applied(tenant.pk, 3) is False
    tenant.refresh_from_db()
    assert tenant.applied_generation == 5


def test_archived_tenant_keeps_namespaces_until_an_admin_confirms(kube_cluster, kube_emulator):
    from clusters.models import NamespaceDeletion
    from tenants.models import Tenant

    tenant = approved_tenant(kube_cluster)
    run_tenant_sync(tenant.pk)
    Tenant.objects.filter(pk=tenant.pk).update(status="archived", desired_generation=5)

    waiting = run_tenant_sync(tenant.pk)
    assert not waiting.applied
    assert kube_emulator.get("v1", "Namespace", "team-a-dev") is not None

    NamespaceDeletion.objects.create(tenant_id=tenant.pk, tenant_slug=tenant.slug)
    done = run_tenant_sync(tenant.pk)

    assert done.applied
    assert kube_emulator.get("v1", "Namespace", "team-a-dev") is None
    assert NamespaceDeletion.objects.get().completed_at is not None


def test_reconcile_picks_lagging_tenants_but_not_unconfirmed_archived_ones(kube_cluster):
    from clusters.models import NamespaceDeletion
    from clusters.sync import reconcile_tenant_ids
    from tenants.models import Tenant

    lagging = approved_tenant(kube_cluster, slug="lagging")
    done = approved_tenant(kube_cluster, slug="done")
    run_tenant_sync(done.pk)
    archived = approved_tenant(kube_cluster, slug="archived")
    Tenant.objects.filter(pk=archived.pk).update(status="archived")
    confirmed = approved_tenant(kube_cluster, slug="confirmed")
    Tenant.objects.filter(pk=confirmed.pk).update(status="archived")
    NamespaceDeletion.objects.create(tenant_id=confirmed.pk, tenant_slug="confirmed")

    assert reconcile_tenant_ids() == [lagging.pk, confirmed.pk]


def test_wrong_token_fails_the_run_with_the_api_message(kube_cluster, kube_emulator):
    kube_emulator.token = "the-right-token"
    tenant = approved_tenant(kube_cluster)

    run = run_tenant_sync(tenant.pk).runs[0]

    assert run.status == SyncRun.Status.FAILED
    assert "401" in run.message and "Unauthorized" in run.message


def test_kubeconfig_credentials_reach_the_api_server(kube_cluster, kube_emulator):
    import yaml

    kube_emulator.token = "from-kubeconfig"
    kube_cluster.api_server_url = ""
    kube_cluster.api_token = ""
    kube_cluster.kubeconfig = yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": kube_emulator.url}}],
        "users": [{"name": "u", "user": {"token": "from-kubeconfig"}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
    })  # fmt: skip
    kube_cluster.save()
    tenant = approved_tenant(kube_cluster)

    assert run_tenant_sync(tenant.pk).applied
    assert kube_emulator.get("v1", "Namespace", "team-a-dev") is not None


def test_request_timeout_is_retried_to_success(kube_cluster, kube_emulator, settings):
    settings.PORTAL_KUBE_TIMEOUT_SECONDS = 0.3
    tenant = approved_tenant(kube_cluster)
    kube_emulator.stall_next(1, 1.0, path_contains="/limitranges/", method="PATCH")

    result = run_tenant_sync(tenant.pk)

    assert result.applied
    patches = [p for m, p in kube_emulator.request_log if m == "PATCH" and "/limitranges/" in p]
    assert len(patches) == 2  # the timed-out attempt and its retry


def test_reconcile_does_not_hammer_a_refused_state_but_force_retries(kube_cluster, kube_emulator):
    tenant = approved_tenant(kube_cluster)
    kube_emulator.fail_next(1, 403, path_contains="/limitranges/", method="PATCH")
    failed = run_tenant_sync(tenant.pk).runs[0]
    requests = kube_emulator.requests

    again = run_tenant_sync(tenant.pk, trigger=SyncRun.Trigger.RECONCILE)

    assert again.runs == [failed] and not again.applied
    assert kube_emulator.requests == requests
    assert run_tenant_sync(tenant.pk, trigger=SyncRun.Trigger.FORCE).applied


def test_environments_on_two_clusters_land_on_each(kube_cluster, kube_emulator):
    from clusters.tests.factories import ClusterFactory
    from portal.testing.kube_emulator import KubeEmulator
    from tenants.tests.factories import EnvironmentFactory

    second = KubeEmulator().start()
    try:
        other = ClusterFactory(api_server_url=second.url, gpu_pool="a100-pool")
        tenant = approved_tenant(kube_cluster, envs=("dev",))
        EnvironmentFactory(tenant=tenant, name="prod", cluster=other)

        result = run_tenant_sync(tenant.pk)

        assert result.applied and len(result.runs) == 2
        assert kube_emulator.get("v1", "Namespace", "team-a-prod") is None
        queue = second.get("kueue.x-k8s.io/v1beta2", "ClusterQueue", "team-a-prod")
        assert queue["spec"]["cohortName"] == "a100-pool"
        assert kube_emulator.get("v1", "Namespace", "team-a-dev") is not None
    finally:
        second.stop()
