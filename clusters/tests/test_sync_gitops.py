"""The gitops backend on a real git repository (subprocess git in a temporary directory)."""

import subprocess

import pytest
import yaml

from clusters.models import SyncRun
from clusters.sync import run_tenant_sync
from clusters.tests.factories import ClusterFactory
from clusters.tests.sync_helpers import approved_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def gitops_cluster(settings, tmp_path):
    settings.PORTAL_GITOPS_ROOT = tmp_path / "gitops"
    return ClusterFactory(name="eu-1", backend="gitops", api_server_url="")


def git(repo, *args):
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


def commits(repo):
    return git(repo, "log", "--format=%s").splitlines()


def test_tenant_objects_are_laid_out_per_cluster_tenant_and_namespace(settings, gitops_cluster):
    tenant = approved_tenant(gitops_cluster, envs=("dev", "prod"))

    assert run_tenant_sync(tenant.pk, actor="alice").applied

    base = settings.PORTAL_GITOPS_ROOT / "eu-1" / "clusters" / "eu-1"
    quota = yaml.safe_load(
        (base / "tenants/team-a/team-a-prod/resourcequota-gpu-portal-quota.yaml").read_text()
    )
    assert quota["spec"]["hard"]["requests.nvidia.com/gpu"] == "3"
    assert (base / "tenants/team-a/_cluster/namespace-team-a-dev.yaml").exists()
    assert (base / "tenants/team-a/_cluster/clusterqueue-team-a-prod.yaml").exists()
    assert (base / "_shared/resourceflavor-h100-80gb.yaml").exists()
    kustomization = yaml.safe_load((base / "tenants/team-a/kustomization.yaml").read_text())
    assert "team-a-dev/localqueue-default.yaml" in kustomization["resources"]
    top = yaml.safe_load((base / "kustomization.yaml").read_text())
    assert top["resources"] == ["_shared", "tenants/team-a"]


def test_each_change_is_one_commit_with_actor_and_generation(settings, gitops_cluster):
    tenant = approved_tenant(gitops_cluster)
    run_tenant_sync(tenant.pk, actor="alice")
    tenant.quota_grants.update(burst=5)

    run_tenant_sync(tenant.pk, actor="bob", trigger=SyncRun.Trigger.FORCE)

    repo = settings.PORTAL_GITOPS_ROOT / "eu-1"
    assert len(commits(repo)) == 2
    last = git(repo, "log", "-1", "--format=%B")
    assert "sync tenant team-a generation 1" in last
    assert "Actor: bob" in last
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert changed == [
        "clusters/eu-1/tenants/team-a/_cluster/clusterqueue-team-a-dev.yaml",
        "clusters/eu-1/tenants/team-a/team-a-dev/resourcequota-gpu-portal-quota.yaml",
    ]


def test_unchanged_state_makes_no_commit(settings, gitops_cluster):
    tenant = approved_tenant(gitops_cluster)
    run_tenant_sync(tenant.pk)

    run = run_tenant_sync(tenant.pk, trigger=SyncRun.Trigger.FORCE).runs[0]

    assert run.status == SyncRun.Status.SUCCEEDED
    assert set(run.results.values_list("action", flat=True)) == {"unchanged"}
    assert len(commits(settings.PORTAL_GITOPS_ROOT / "eu-1")) == 1


def test_removed_environment_files_are_pruned_but_namespace_file_kept(settings, gitops_cluster):
    tenant = approved_tenant(gitops_cluster, envs=("dev", "staging"))
    run_tenant_sync(tenant.pk)
    tenant.environments.filter(name="staging").delete()

    run = run_tenant_sync(tenant.pk).runs[0]

    base = settings.PORTAL_GITOPS_ROOT / "eu-1" / "clusters/eu-1/tenants/team-a"
    assert not (base / "team-a-staging").exists()
    assert (base / "_cluster/namespace-team-a-staging.yaml").exists()
    assert run.results.filter(action="pruned", kind="ClusterQueue").exists()


def test_hand_edited_file_is_found_as_drift_and_restored(settings, gitops_cluster):
    from clusters.models import SyncState
    from clusters.sync import check_drift

    tenant = approved_tenant(gitops_cluster)
    run_tenant_sync(tenant.pk)
    path = (
        settings.PORTAL_GITOPS_ROOT
        / "eu-1/clusters/eu-1/tenants/team-a/team-a-dev/resourcequota-gpu-portal-quota.yaml"
    )
    original = path.read_text()
    path.write_text(
        original.replace("requests.nvidia.com/gpu: '3'", "requests.nvidia.com/gpu: '99'")
    )

    counts = check_drift(cluster_id=gitops_cluster.pk)

    assert counts["drifted"] == 1
    assert SyncState.objects.get().drifted_objects[0]["kind"] == "ResourceQuota"
    assert path.read_text() == original


def test_remote_repository_receives_the_push(settings, tmp_path):
    remote = tmp_path / "remote.git"
    subprocess.run(
        ["git", "init", "--bare", "-b", "main", str(remote)], check=True, capture_output=True
    )
    seed = tmp_path / "seed"
    subprocess.run(["git", "clone", str(remote), str(seed)], check=True, capture_output=True)
    (seed / "README.md").write_text("fleet\n")
    git(seed, "add", "README.md")
    git(seed, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-m", "seed")
    git(seed, "push", "origin", "HEAD:main")
    settings.PORTAL_GITOPS_ROOT = tmp_path / "gitops"
    cluster = ClusterFactory(name="us-1", backend="gitops", gitops_repo_url=str(remote))
    tenant = approved_tenant(cluster)

    assert run_tenant_sync(tenant.pk).applied

    assert "sync tenant team-a" in git(remote, "log", "-1", "--format=%s", "main")
