"""End to end with a real Celery worker (and its beat) on real Redis: the mail relay is down when
a platform admin approves a tenant. The decision commits anyway; the mail is delivered once the
relay is back, by the worker's retries and the redelivery beat, and exactly once."""

import time

import pytest

from notifications.models import Delivery
from portal.testing.receivers import SmtpServer, free_port
from tenants import decisions as tenant_decisions
from tenants.models import Tenant
from tenants.tests.factories import MembershipFactory, TenantFactory, UserFactory, platform_admin

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_decision_commits_while_smtp_is_down_and_the_mail_arrives_when_it_returns(
    real_celery_worker_factory,
):
    port = free_port()  # nothing listens here yet: the relay is down
    worker = real_celery_worker_factory(
        beat=True,
        env={
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(port),
            "EMAIL_TIMEOUT": "2",
            "PORTAL_NOTIFICATIONS_RETRY_SECONDS": "1",
            "PORTAL_NOTIFICATIONS_REDELIVER_SECONDS": "1",
            "PORTAL_RECONCILE_SECONDS": "3600",
        },
    ).start()
    owner = UserFactory(username="mia")
    tenant = TenantFactory(slug="ranking", status=Tenant.Status.PENDING, created_by=owner)
    MembershipFactory(tenant=tenant, user=owner)

    tenant_decisions.approve_tenant(actor=platform_admin(), tenant=tenant)

    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.ACTIVE  # the decision is not held up by the relay
    delivery = Delivery.objects.get(recipient=owner.email)
    wait_for(
        lambda: Delivery.objects.get(pk=delivery.pk).attempts >= 1,
        what=f"a first failed attempt\n{worker.log()[-3000:]}",
    )
    delivery.refresh_from_db()
    assert delivery.status == "pending" and "SMTP" in delivery.last_error

    relay = SmtpServer(port=port).start()
    try:
        wait_for(
            lambda: Delivery.objects.get(pk=delivery.pk).status == "sent",
            what=f"delivery after the relay returned\n{worker.log()[-3000:]}",
        )
        time.sleep(3)  # a few more beat ticks: nothing is sent twice
        assert [m.recipients for m in relay.messages] == [[owner.email]]
        assert relay.messages[0].subject == "[gpu-portal] Tenant ranking approved"
    finally:
        relay.stop()
