"""Membership reaches the cluster: tenant roles become RoleBinding `User` subjects named as the
API server sees them (PORTAL_CLUSTER_USERNAME_PREFIX + username), through the real sync path to
the Kubernetes API emulator (portal/testing/kube_emulator.py)."""

import pytest

from clusters.sync import run_tenant_sync
from clusters.tests.sync_helpers import approved_tenant
from clusters.validation import validate_manifests
from tenants import services
from tenants.manifests import EnvironmentRow, TenantRow, render_role_bindings
from tenants.models import TenantMembership
from tenants.tests.factories import MembershipFactory, UserFactory, platform_admin

pytestmark = pytest.mark.django_db
RBAC = "rbac.authorization.k8s.io/v1"


def subjects(emulator, binding, namespace="team-a-dev"):
    return [
        (s["kind"], s["name"])
        for s in emulator.get(RBAC, "RoleBinding", f"gpu-portal-{binding}", namespace)["subjects"]
    ]


def test_adding_a_member_renders_a_user_subject_that_reaches_the_cluster(
    kube_cluster, kube_emulator, settings
):
    settings.PORTAL_CLUSTER_USERNAME_PREFIX = "oidc:"
    tenant = approved_tenant(kube_cluster)
    run_tenant_sync(tenant.pk)
    assert subjects(kube_emulator, "members") == [("Group", "team-a-members")]
    generation = tenant.desired_generation

    services.add_member(
        actor=platform_admin(), tenant=tenant, user=UserFactory(username="mia"), role="member"
    )
    tenant.refresh_from_db()
    assert tenant.desired_generation == generation + 1
    assert run_tenant_sync(tenant.pk).applied

    assert subjects(kube_emulator, "members") == [
        ("Group", "team-a-members"),
        ("User", "oidc:mia"),
    ]
    assert ("User", "oidc:mia") not in subjects(kube_emulator, "owners")


def test_removing_a_member_removes_their_subject_from_the_cluster(kube_cluster, kube_emulator):
    tenant = approved_tenant(kube_cluster)
    MembershipFactory(tenant=tenant, user=UserFactory(username="olga"), role="owner")
    mia = MembershipFactory(tenant=tenant, user=UserFactory(username="mia"), role="viewer")
    run_tenant_sync(tenant.pk)
    assert ("User", "oidc:mia") in subjects(kube_emulator, "viewers")

    services.remove_member(actor=platform_admin(), membership=mia)
    assert run_tenant_sync(tenant.pk).applied

    assert subjects(kube_emulator, "viewers") == [("Group", "team-a-viewers")]
    assert ("User", "oidc:olga") in subjects(kube_emulator, "owners")
    assert not TenantMembership.objects.filter(pk=mia.pk).exists()


def test_changing_a_role_moves_the_subject_between_bindings(kube_cluster, kube_emulator):
    tenant = approved_tenant(kube_cluster)
    MembershipFactory(tenant=tenant, user=UserFactory(username="olga"), role="owner")
    mia = UserFactory(username="mia")
    services.add_member(actor=platform_admin(), tenant=tenant, user=mia, role="viewer")
    run_tenant_sync(tenant.pk)

    services.add_member(actor=platform_admin(), tenant=tenant, user=mia, role="member")
    run_tenant_sync(tenant.pk)

    assert ("User", "oidc:mia") in subjects(kube_emulator, "members")
    assert ("User", "oidc:mia") not in subjects(kube_emulator, "viewers")


def test_role_bindings_use_the_configured_prefixes_and_validate_strictly():
    tenant = TenantRow(
        slug="vision",
        cost_center="CC-42",
        tier="small",
        members=(("zoe", "owner"), ("ann", "owner"), ("vic", "viewer")),
        user_prefix="https://idp.example.com#",
        group_prefix="idp:",
    )
    env = EnvironmentRow(name="dev", namespace="vision-dev", cluster_id=1, gpu_pool="pool")

    bindings = {b["metadata"]["name"]: b for b in render_role_bindings(tenant, env)}

    assert [s["name"] for s in bindings["gpu-portal-owners"]["subjects"]] == [
        "idp:vision-owners",
        "https://idp.example.com#ann",
        "https://idp.example.com#zoe",
    ]
    assert bindings["gpu-portal-owners"]["subjects"][1]["kind"] == "User"
    validate_manifests(list(bindings.values()), "1.31")


def test_without_a_group_template_only_members_are_bound():
    tenant = TenantRow(slug="vision", cost_center="CC", tier="small", group_template="",
                       members=(("vic", "viewer"),))  # fmt: skip
    env = EnvironmentRow(name="dev", namespace="vision-dev", cluster_id=1, gpu_pool="pool")

    bindings = {b["metadata"]["name"]: b for b in render_role_bindings(tenant, env)}

    assert bindings["gpu-portal-owners"]["subjects"] == []
    assert [s["name"] for s in bindings["gpu-portal-viewers"]["subjects"]] == ["vic"]
    validate_manifests(list(bindings.values()), "1.31")
