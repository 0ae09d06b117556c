"""Services of the tenancy domain: onboarding, approvals against capacity, grants, members."""

import pytest
from django.core.exceptions import PermissionDenied

from clusters.tests.factories import ClusterCapacityFactory, ClusterFactory
from portal.domain_errors import ConflictError, DomainError
from tenants import decisions, selectors, services
from tenants.models import QuotaGrant, QuotaRequest, Tenant, TenantMembership
from tenants.tests.factories import (
    EnvironmentFactory,
    GpuProfileFactory,
    MembershipFactory,
    QuotaGrantFactory,
    QuotaRequestFactory,
    TenantFactory,
    UserFactory,
    mig_profile,
    platform_admin,
)

pytestmark = pytest.mark.django_db


def onboard(actor, cluster, **overrides):
    kwargs = dict(
        actor=actor,
        name="Ranking",
        slug="ranking",
        team="Search Ranking",
        cost_center="CC-4711",
        contact_email="ranking@example.com",
        environments=["dev", "prod"],
        tier="small",
        cluster=cluster,
        description="",
        oncall_contact="#ranking-oncall",
        initial_quota=None,
    )
    kwargs.update(overrides)
    return services.onboard_tenant(**kwargs)


def test_onboarding_creates_pending_tenant_with_namespaced_environments_and_owner():
    user = UserFactory()
    cluster = ClusterFactory(name="eu-1")
    tenant = onboard(user, cluster)
    assert tenant.status == Tenant.Status.PENDING
    assert sorted(tenant.environments.values_list("namespace", flat=True)) == [
        "ranking-dev",
        "ranking-prod",
    ]
    assert set(tenant.environments.values_list("cluster__name", flat=True)) == {"eu-1"}
    membership = TenantMembership.objects.get(tenant=tenant)
    assert (membership.user, membership.role) == (user, TenantMembership.Role.OWNER)


def test_onboarding_files_the_initial_quota_request():
    user = UserFactory()
    profile = GpuProfileFactory()
    tenant = onboard(
        user,
        ClusterFactory(),
        initial_quota=dict(
            environment="prod", profile=profile, guaranteed=4, burst=2, justification="serving"
        ),
    )
    qr = tenant.quota_requests.get()
    assert (qr.environment.name, qr.guaranteed, qr.burst, qr.status) == ("prod", 4, 2, "pending")


def test_onboarding_refuses_a_taken_slug_on_the_slug_field():
    TenantFactory(slug="ranking")
    with pytest.raises(DomainError) as err:
        onboard(UserFactory(), ClusterFactory())
    assert err.value.field == "slug"


def test_onboarding_refuses_a_slug_longer_than_40_characters():
    with pytest.raises(DomainError) as err:
        onboard(UserFactory(), ClusterFactory(), slug="a" * 41)
    assert err.value.field == "slug"


def test_onboarding_refuses_initial_quota_for_an_environment_not_chosen_and_writes_nothing():
    with pytest.raises(DomainError):
        onboard(
            UserFactory(),
            ClusterFactory(),
            environments=["dev"],
            initial_quota=dict(
                environment="prod",
                profile=GpuProfileFactory(),
                guaranteed=1,
                burst=0,
                justification="x",
            ),
        )
    assert not Tenant.objects.filter(slug="ranking").exists()


def test_approving_a_tenant_activates_it_and_bumps_its_desired_generation():
    tenant = TenantFactory(status=Tenant.Status.PENDING)
    admin = platform_admin()
    tenant = decisions.approve_tenant(actor=admin, tenant=tenant)
    assert tenant.status == Tenant.Status.ACTIVE
    assert tenant.decided_by == admin
    assert tenant.desired_generation == 1


def test_approving_an_already_approved_tenant_is_a_conflict_naming_the_first_approver():
    tenant = TenantFactory(status=Tenant.Status.PENDING)
    decisions.approve_tenant(actor=platform_admin(username="alice"), tenant=tenant)
    with pytest.raises(ConflictError, match="already approved by alice"):
        decisions.approve_tenant(actor=platform_admin(username="bob"), tenant=tenant)


def test_only_platform_admins_approve_tenants():
    tenant = TenantFactory(status=Tenant.Status.PENDING)
    with pytest.raises(PermissionDenied):
        decisions.approve_tenant(actor=UserFactory(), tenant=tenant)


def test_rejecting_a_tenant_requires_a_reason():
    tenant = TenantFactory(status=Tenant.Status.PENDING)
    with pytest.raises(DomainError) as err:
        decisions.reject_tenant(actor=platform_admin(), tenant=tenant, reason="  ")
    assert err.value.field == "reason"


def test_rejecting_a_tenant_rejects_its_pending_requests_with_the_reason():
    qr = QuotaRequestFactory(environment__tenant__status=Tenant.Status.PENDING)
    decisions.reject_tenant(actor=platform_admin(), tenant=qr.tenant, reason="use team-x instead")
    qr.refresh_from_db()
    assert qr.status == QuotaRequest.Status.REJECTED
    assert "use team-x instead" in qr.decision_reason


def test_approving_a_quota_request_creates_the_live_grant_and_bumps_generation():
    qr = QuotaRequestFactory(guaranteed=4, burst=2)
    ClusterCapacityFactory(cluster=qr.environment.cluster, allocatable=8)
    grant = decisions.approve_quota_request(actor=platform_admin(), quota_request=qr)
    assert (grant.guaranteed, grant.burst, grant.limit) == (4, 2, 6)
    qr.refresh_from_db()
    assert qr.status == QuotaRequest.Status.APPROVED
    assert Tenant.objects.get(pk=qr.tenant_id).desired_generation == 1


def test_approving_a_second_request_for_the_same_profile_replaces_the_grant_numbers():
    grant = QuotaGrantFactory(guaranteed=2, burst=0)
    ClusterCapacityFactory(cluster=grant.environment.cluster, allocatable=4)
    # 4 of 4 would over-commit if the old grant's 2 were counted twice
    qr = QuotaRequestFactory(environment=grant.environment, guaranteed=4, burst=1)
    decisions.approve_quota_request(actor=platform_admin(), quota_request=qr)
    live = QuotaGrant.objects.get(environment=grant.environment, revoked_at__isnull=True)
    assert (live.pk, live.guaranteed, live.burst) == (grant.pk, 4, 1)


def test_approval_refuses_to_over_commit_guaranteed_capacity_with_an_actionable_message():
    cluster = ClusterFactory(name="eu-1")
    ClusterCapacityFactory(cluster=cluster, allocatable=8)
    QuotaGrantFactory(environment__tenant__cluster=cluster, guaranteed=2)
    qr = QuotaRequestFactory(
        environment__tenant__cluster=cluster, environment__tenant__slug="b", guaranteed=8
    )
    with pytest.raises(
        DomainError, match="guaranteed 8 exceeds the 6 free .* GPUs on cluster eu-1"
    ):
        decisions.approve_quota_request(actor=platform_admin(), quota_request=qr)
    qr.refresh_from_db()
    assert qr.status == QuotaRequest.Status.PENDING


def test_capacity_is_counted_per_gpu_product_and_resource_name():
    cluster = ClusterFactory()
    ClusterCapacityFactory(cluster=cluster, allocatable=2)  # dedicated H100
    mig = mig_profile()
    ClusterCapacityFactory(cluster=cluster, resource_name=mig.resource_name, allocatable=14)
    QuotaGrantFactory(environment__tenant__cluster=cluster, guaranteed=2)  # dedicated is full
    qr = QuotaRequestFactory(
        environment__tenant__cluster=cluster, environment__tenant__slug="m", profile=mig,
        guaranteed=14,
    )  # fmt: skip
    grant = decisions.approve_quota_request(actor=platform_admin(), quota_request=qr)
    assert grant.guaranteed == 14


def test_burst_only_request_needs_no_free_guaranteed_capacity():
    qr = QuotaRequestFactory(guaranteed=0, burst=8)
    grant = decisions.approve_quota_request(actor=platform_admin(), quota_request=qr)
    assert grant.limit == 8


def test_quota_of_a_pending_tenant_cannot_be_approved_before_the_tenant():
    qr = QuotaRequestFactory(environment__tenant__status=Tenant.Status.PENDING)
    ClusterCapacityFactory(cluster=qr.environment.cluster)
    with pytest.raises(DomainError, match="approve the tenant first"):
        decisions.approve_quota_request(actor=platform_admin(), quota_request=qr)


def test_rejecting_a_quota_request_records_the_reason_and_decider():
    qr = QuotaRequestFactory()
    admin = platform_admin()
    decisions.reject_quota_request(actor=admin, quota_request=qr, reason="use MIG instead")
    qr.refresh_from_db()
    assert (qr.status, qr.decision_reason, qr.decided_by) == ("rejected", "use MIG instead", admin)


def test_deciding_an_already_rejected_request_is_a_conflict():
    qr = QuotaRequestFactory()
    decisions.reject_quota_request(actor=platform_admin(), quota_request=qr, reason="no")
    with pytest.raises(ConflictError, match="already rejected"):
        decisions.approve_quota_request(actor=platform_admin(), quota_request=qr)


def test_viewers_cannot_request_quota():
    env = EnvironmentFactory()
    viewer = MembershipFactory(tenant=env.tenant, role=TenantMembership.Role.VIEWER).user
    with pytest.raises(PermissionDenied):
        services.request_quota(
            actor=viewer,
            tenant=env.tenant,
            environment=env,
            profile=GpuProfileFactory(),
            guaranteed=1,
            burst=0,
            justification="x",
        )


@pytest.mark.parametrize(
    ("guaranteed", "burst", "field"),
    [(-1, 0, "guaranteed"), (1, 10_001, "burst"), (0, 0, "guaranteed"), ("2", 0, "guaranteed")],
)
def test_request_quota_refuses_bad_unit_numbers(guaranteed, burst, field):
    env = EnvironmentFactory()
    owner = MembershipFactory(tenant=env.tenant).user
    with pytest.raises(DomainError) as err:
        services.request_quota(
            actor=owner,
            tenant=env.tenant,
            environment=env,
            profile=GpuProfileFactory(),
            guaranteed=guaranteed,
            burst=burst,
            justification="x",
        )
    assert err.value.field == field


def test_revoking_a_grant_frees_its_capacity_and_bumps_generation():
    grant = QuotaGrantFactory(guaranteed=4)
    decisions.revoke_quota_grant(actor=platform_admin(), grant=grant)
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert (
        selectors.guaranteed_allocated(
            cluster_id=grant.environment.cluster_id,
            gpu_product=grant.profile.gpu_product,
            resource_name=grant.profile.resource_name,
        )
        == 0
    )
    assert grant.tenant.__class__.objects.get(pk=grant.tenant_id).desired_generation == 1


def test_archiving_a_tenant_revokes_grants_and_cancels_pending_requests():
    grant = QuotaGrantFactory()
    qr = QuotaRequestFactory(environment=grant.environment)
    services.archive_tenant(actor=platform_admin(), tenant=grant.tenant)
    grant.refresh_from_db()
    qr.refresh_from_db()
    assert grant.revoked_at is not None
    assert qr.status == QuotaRequest.Status.CANCELLED


def test_the_last_owner_cannot_be_removed():
    membership = MembershipFactory(role=TenantMembership.Role.OWNER)
    with pytest.raises(DomainError, match="at least one owner"):
        services.remove_member(actor=platform_admin(), membership=membership)


def test_owners_add_members_and_members_cannot():
    owner = MembershipFactory(role=TenantMembership.Role.OWNER)
    newcomer = UserFactory()
    services.add_member(actor=owner.user, tenant=owner.tenant, user=newcomer, role="member")
    with pytest.raises(PermissionDenied):
        services.add_member(actor=newcomer, tenant=owner.tenant, user=UserFactory(), role="viewer")


def test_a_decided_request_refuses_any_move_its_transitions_do_not_allow():
    qr = QuotaRequestFactory()
    qr.decide(QuotaRequest.Status.APPROVED, by=platform_admin())

    with pytest.raises(ConflictError, match="is approved; it cannot become cancelled"):
        qr.decide(QuotaRequest.Status.CANCELLED, by=platform_admin())
    qr.refresh_from_db()
    assert qr.status == QuotaRequest.Status.APPROVED


def test_a_rejected_tenant_cannot_be_approved_afterwards():
    tenant = TenantFactory(status=Tenant.Status.PENDING)
    tenant.decide(Tenant.Status.REJECTED, by=platform_admin(), reason="duplicate team")

    with pytest.raises(ConflictError, match="cannot become active"):
        tenant.decide(Tenant.Status.ACTIVE, by=platform_admin())
    tenant.refresh_from_db()
    assert (tenant.status, tenant.decision_reason) == ("rejected", "duplicate team")
