"""seed_demo: idempotent demo data that gives every role something to look at."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Sum

from clusters.models import Cluster, ClusterCapacity
from portal import roles
from portal.management.commands.seed_demo import DEMO_USERS
from tenants.models import (
    GpuProfile,
    QuotaGrant,
    QuotaRequest,
    Tenant,
    TenantMembership,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_settings(settings, tmp_path):
    """pytest-django runs with DEBUG=False, where seed_demo refuses to run."""
    settings.DEBUG = True
    settings.PORTAL_GITOPS_ROOT = tmp_path / "gitops"
    return settings


def seed(**options) -> str:
    """The core demo (users, cluster, tenants); the other apps' demos test themselves."""
    options.setdefault("only", ["clusters", "tenants"])
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def counts() -> dict[str, int]:
    """Row counts of every model of every installed app."""
    from django.apps import apps

    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def test_seeding_twice_adds_nothing_the_second_time():
    seed(only=None)  # every app's demo, as make run does
    first = counts()
    seed(only=None)
    assert counts() == first
    assert first["tenants.Tenant"] == 3


def test_every_printed_login_works(client):
    output = seed()
    for username, (_, password, _) in DEMO_USERS.items():
        assert f"{username}" in output and password in output
        assert client.login(username=username, password=password), username
        client.logout()


def test_each_portal_role_has_a_demo_user():
    seed()
    users = get_user_model().objects.all()
    assert any(roles.is_platform_admin(u) and not u.is_superuser for u in users)
    assert any(roles.is_sre(u) for u in users)
    assert any(roles.is_finance(u) for u in users)
    assert users.get(username="admin").is_superuser
    owner = TenantMembership.objects.get(user__username="mlteam")
    assert (owner.tenant.slug, owner.role) == ("vision", TenantMembership.Role.OWNER)


def test_approvals_queue_has_a_pending_onboarding_and_a_pending_quota_request(settings, tmp_path):
    seed()
    assert Tenant.objects.filter(status=Tenant.Status.PENDING).exists()
    pending = QuotaRequest.objects.filter(status=QuotaRequest.Status.PENDING)
    assert pending.filter(tenant__status=Tenant.Status.ACTIVE).exists()
    assert pending.filter(tenant__status=Tenant.Status.PENDING).exists()


def test_demo_grants_never_over_commit_guaranteed_capacity():
    seed()
    live = QuotaGrant.objects.filter(revoked_at__isnull=True)
    assert live.count() >= 3
    sums = live.values(
        "environment__cluster", "profile__gpu_product", "profile__resource_name"
    ).annotate(guaranteed=Sum("guaranteed"))
    for row in sums:
        capacity = ClusterCapacity.objects.get(
            cluster_id=row["environment__cluster"],
            gpu_product=row["profile__gpu_product"],
            resource_name=row["profile__resource_name"],
        ).capacity
        assert row["guaranteed"] <= capacity, row


def test_catalog_covers_every_partition_with_its_resource_and_fraction():
    seed()
    by_name = {p.name: p for p in GpuProfile.objects.all()}
    assert {p.partition for p in by_name.values()} == set(GpuProfile.Partition.values)
    mig = by_name["h100-80gb-mig-3g-40gb"]
    assert (mig.resource_name, str(mig.gpu_fraction)) == ("nvidia.com/mig-3g.40gb", "0.4286")
    assert by_name["l4-24gb-ts4"].replicas == 4
    for profile in by_name.values():
        assert ClusterCapacity.objects.filter(
            gpu_product=profile.gpu_product, resource_name=profile.resource_name
        ).exists(), profile.name


def test_demo_cluster_is_gitops_with_a_local_repository(tmp_path):
    seed()
    cluster = Cluster.objects.get()
    assert cluster.backend == Cluster.Backend.GITOPS
    assert cluster.gitops_repo_url == "" and cluster.prometheus_url == ""
    assert (tmp_path / "gitops").is_dir()


def test_active_demo_tenants_are_queued_for_their_first_sync():
    seed()
    active = Tenant.objects.filter(status=Tenant.Status.ACTIVE)
    assert active.count() == 2
    for tenant in active:
        assert tenant.desired_generation > tenant.applied_generation, tenant.slug


def test_refuses_to_create_demo_passwords_in_production(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=0"):
        seed()
    assert not get_user_model().objects.exists()


def test_demo_tenants_sync_into_the_local_gitops_repository(tmp_path):
    import subprocess

    from clusters.sync import run_tenant_sync

    seed()
    for tenant in Tenant.objects.filter(status=Tenant.Status.ACTIVE):
        assert run_tenant_sync(tenant.pk).applied, tenant.slug
        tenant.refresh_from_db()
        assert tenant.applied_generation == tenant.desired_generation
    repo = tmp_path / "gitops" / "gpu-eu-1"
    log = subprocess.run(
        ["git", "-C", str(repo), "log", "--oneline"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert len(log) == 2  # one commit per tenant
    files = {p.relative_to(repo).as_posix() for p in repo.rglob("*.yaml")}
    assert any("tenants/vision/vision-prod/" in f for f in files), sorted(files)
    assert not any("/speech/" in f for f in files)  # pending tenants stay off the cluster
