"""Two admins at once, on two real PostgreSQL connections: row locks let exactly one win."""

import threading
import time

import pytest
from django.db import connection, transaction

from clusters.tests.factories import ClusterCapacityFactory, ClusterFactory
from portal.domain_errors import ConflictError, DomainError
from tenants import decisions
from tenants.models import QuotaGrant, QuotaRequest, Tenant
from tenants.tests.factories import QuotaRequestFactory, TenantFactory, platform_admin

pytestmark = pytest.mark.django_db(transaction=True)

HOLD_SECONDS = 0.3  # the winner keeps its transaction open this long after deciding


def race(calls):
    """Run each call in its own thread and connection, started together; the winner's
    transaction stays open a moment so the loser really meets its row lock."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                result = call()
                time.sleep(HOLD_SECONDS)
            outcomes[i] = result
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test asserts
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def test_two_admins_approving_one_request_at_once_exactly_one_wins():
    qr = QuotaRequestFactory(guaranteed=2)
    ClusterCapacityFactory(cluster=qr.environment.cluster, allocatable=8)
    alice, bob = platform_admin(username="alice"), platform_admin(username="bob")

    outcomes = race(
        [
            lambda: decisions.approve_quota_request(actor=alice, quota_request=qr),
            lambda: decisions.approve_quota_request(actor=bob, quota_request=qr),
        ]
    )

    wins = [o for o in outcomes if isinstance(o, QuotaGrant)]
    conflicts = [o for o in outcomes if isinstance(o, ConflictError)]
    assert (len(wins), len(conflicts)) == (1, 1), outcomes
    winner = QuotaRequest.objects.get(pk=qr.pk).decided_by.username
    assert f"already approved by {winner}" in str(conflicts[0])
    assert QuotaGrant.objects.filter(environment=qr.environment).count() == 1


def test_two_approvals_that_only_fit_one_at_a_time_never_over_commit_the_cluster():
    cluster = ClusterFactory()
    ClusterCapacityFactory(cluster=cluster, allocatable=6)
    first = QuotaRequestFactory(environment__tenant__cluster=cluster, guaranteed=4)
    second = QuotaRequestFactory(
        environment__tenant__cluster=cluster, environment__tenant__slug="other", guaranteed=4
    )
    admin = platform_admin()

    outcomes = race(
        [
            lambda: decisions.approve_quota_request(actor=admin, quota_request=first),
            lambda: decisions.approve_quota_request(actor=admin, quota_request=second),
        ]
    )

    assert sum(isinstance(o, QuotaGrant) for o in outcomes) == 1, outcomes
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert "exceeds the 2 free" in str(refused[0])
    assert sum(QuotaGrant.objects.values_list("guaranteed", flat=True)) == 4


def test_two_burst_only_approvals_for_one_environment_and_profile_leave_one_live_grant():
    first = QuotaRequestFactory(guaranteed=0, burst=2)  # no capacity row to lock
    second = QuotaRequestFactory(
        environment=first.environment, profile=first.profile, guaranteed=0, burst=5
    )
    admin = platform_admin()

    outcomes = race(
        [
            lambda: decisions.approve_quota_request(actor=admin, quota_request=first),
            lambda: decisions.approve_quota_request(actor=admin, quota_request=second),
        ]
    )

    assert all(isinstance(o, QuotaGrant) for o in outcomes), outcomes
    live = QuotaGrant.objects.filter(environment=first.environment, revoked_at__isnull=True)
    assert live.count() == 1


def test_two_admins_approving_one_tenant_at_once_exactly_one_wins():
    tenant = TenantFactory(status=Tenant.Status.PENDING)
    alice, bob = platform_admin(username="alice"), platform_admin(username="bob")

    outcomes = race(
        [
            lambda: decisions.approve_tenant(actor=alice, tenant=tenant),
            lambda: decisions.approve_tenant(actor=bob, tenant=tenant),
        ]
    )

    assert sum(isinstance(o, Tenant) for o in outcomes) == 1, outcomes
    conflict = next(o for o in outcomes if isinstance(o, ConflictError))
    tenant.refresh_from_db()
    assert f"already approved by {tenant.decided_by.username}" in str(conflict)
    assert tenant.desired_generation == 1
