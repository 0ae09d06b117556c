"""Each event kind, emitted by its domain service, reaches a real SMTP server (aiosmtpd) and a
real HTTP receiver on 127.0.0.1 exactly once, with a webhook signature that verifies."""

import json

import pytest

from clusters.models import SyncRun
from clusters.sync import run_tenant_sync
from clusters.tests.factories import ClusterFactory
from clusters.tests.sync_helpers import approved_tenant
from notifications import services, transport
from notifications.models import Delivery, Notification
from tenants import decisions as tenant_decisions
from tenants import services as tenant_services
from tenants.models import TenantMembership
from tenants.tests.factories import (
    EnvironmentFactory,
    GpuProfileFactory,
    MembershipFactory,
    QuotaRequestFactory,
    TenantFactory,
    UserFactory,
    platform_admin,
    sre,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform_hook(settings, webhook_receiver):
    settings.PORTAL_NOTIFICATIONS_WEBHOOK_URL = webhook_receiver.url
    return webhook_receiver


def deliver_pending():
    """What the Celery task does for each enqueued id; run twice to show it is idempotent."""
    ids = list(Delivery.objects.filter(status="pending").values_list("pk", flat=True))
    for _ in range(2):
        for delivery_id in ids:
            services.deliver(delivery_id)
    return ids


def only_notification(kind):
    return Notification.objects.get(kind=kind)


def onboard(actor):
    return tenant_services.onboard_tenant(
        actor=actor,
        name="Ranking",
        slug="ranking",
        team="Search Ranking",
        cost_center="CC-4711",
        contact_email="ranking@example.com",
        environments=["dev"],
        tier="small",
        cluster=ClusterFactory(name="eu-1"),
    )


def test_onboarding_submitted_mails_each_platform_admin_once_and_posts_once(
    smtp_server, platform_hook
):
    admins = [platform_admin(username="ada"), platform_admin(username="alan")]
    UserFactory(username="bystander")
    onboard(UserFactory(username="mia"))

    deliver_pending()

    assert sorted(r for m in smtp_server.messages for r in m.recipients) == sorted(
        a.email for a in admins
    )
    assert smtp_server.messages[0].subject == "[gpu-portal] Tenant ranking waits for approval"
    assert len(platform_hook.posts) == 1
    payload = json.loads(platform_hook.posts[0].body)
    assert payload["kind"] == "tenant.submitted"
    assert payload["text"].startswith("Tenant ranking waits for approval")
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_tenant_decision_mails_the_requester_and_owners_once(smtp_server):
    mia = UserFactory(username="mia")
    tenant = onboard(mia)
    co_owner = MembershipFactory(tenant=tenant, user=UserFactory(username="otto")).user
    MembershipFactory(tenant=tenant, user=UserFactory(username="vic"), role="viewer")
    Delivery.objects.all().delete()

    tenant_decisions.reject_tenant(actor=platform_admin(), tenant=tenant, reason="No budget code")
    deliver_pending()

    assert sorted(r for m in smtp_server.messages for r in m.recipients) == sorted(
        [mia.email, co_owner.email]
    )
    body = smtp_server.messages[0].message.get_payload()
    assert "Reason: No budget code" in body


def test_quota_decision_mails_the_requester_and_owners(smtp_server):
    tenant = TenantFactory(slug="vision")
    owner = MembershipFactory(tenant=tenant, user=UserFactory(username="olga")).user
    requester = MembershipFactory(tenant=tenant, user=UserFactory(username="rob"), role="member")
    qr = QuotaRequestFactory(tenant=tenant, requested_by=requester.user)

    tenant_decisions.reject_quota_request(actor=platform_admin(), quota_request=qr, reason="Later")
    deliver_pending()

    assert sorted(r for m in smtp_server.messages for r in m.recipients) == sorted(
        [owner.email, requester.user.email]
    )
    assert "Quota request rejected for vision" in smtp_server.messages[0].subject


def test_a_quota_request_of_an_active_tenant_reaches_the_platform_webhook(platform_hook):
    tenant = TenantFactory(slug="vision")
    owner = MembershipFactory(tenant=tenant, user=UserFactory(username="olga")).user
    tenant_services.request_quota(
        actor=owner, tenant=tenant, environment=EnvironmentFactory(tenant=tenant),
        profile=GpuProfileFactory(),
        guaranteed=2, burst=0, justification="Evaluation runs",
    )  # fmt: skip
    deliver_pending()

    assert [json.loads(p.body)["kind"] for p in platform_hook.posts] == ["quota.submitted"]
    assert not Delivery.objects.filter(channel="email").exists()  # e-mail is opt-in for this kind


def test_failed_sync_tells_platform_admins_once_per_desired_state(
    kube_cluster, kube_emulator, smtp_server, platform_hook
):
    admin = platform_admin(username="ada")
    kube_emulator.token = "the-right-token"  # the cluster's stored token is refused: 401
    tenant = approved_tenant(kube_cluster)

    assert run_tenant_sync(tenant.pk).runs[0].status == SyncRun.Status.FAILED
    assert run_tenant_sync(tenant.pk).runs[0].status == SyncRun.Status.FAILED
    deliver_pending()

    assert [m.recipients for m in smtp_server.messages] == [[admin.email]]
    assert "Sync of team-a" in smtp_server.messages[0].subject
    assert [json.loads(p.body)["kind"] for p in platform_hook.posts] == ["sync.failed"]


def test_a_kind_turned_off_by_a_user_is_not_mailed_to_them(smtp_server):
    ada, alan = platform_admin(username="ada"), platform_admin(username="alan")
    services.set_preferences(user=alan, email_kinds=[])
    onboard(UserFactory(username="mia"))

    deliver_pending()

    assert [m.recipients for m in smtp_server.messages] == [[ada.email]]


def test_webhook_signature_verifies_with_the_shared_secret_and_fails_when_tampered(
    settings, smtp_server, platform_hook
):
    settings.PORTAL_WEBHOOK_SECRET = "s3cret-for-test"
    onboard(UserFactory(username="mia"))
    deliver_pending()

    post = platform_hook.posts[0]
    timestamp = post.headers[transport.TIMESTAMP_HEADER]
    header = post.headers[transport.SIGNATURE_HEADER]
    assert header.startswith("sha256=")
    assert transport.verify_signature("s3cret-for-test", timestamp, post.body, header)
    assert not transport.verify_signature("another-secret", timestamp, post.body, header)
    assert not transport.verify_signature(
        "s3cret-for-test", timestamp, post.body.replace(b"ranking", b"rankinG"), header
    )
    assert not transport.verify_signature(
        "s3cret-for-test", str(int(timestamp) - 3600), post.body, header
    )


def test_tenant_webhook_receives_the_tenants_events(settings, smtp_server, webhook_receiver):
    settings.PORTAL_WEBHOOK_ALLOW_HTTP = True  # the receiver here speaks plain http
    tenant = TenantFactory(slug="vision")
    owner = MembershipFactory(tenant=tenant, user=UserFactory(username="olga")).user
    services.set_tenant_webhook(actor=owner, tenant_id=tenant.pk, url=webhook_receiver.url)
    qr = QuotaRequestFactory(tenant=tenant, requested_by=owner)

    tenant_decisions.reject_quota_request(actor=platform_admin(), quota_request=qr, reason="Later")
    deliver_pending()

    assert [json.loads(p.body)["tenant"] for p in webhook_receiver.posts] == ["vision"]


def test_only_owners_set_a_tenant_webhook(webhook_receiver):
    from django.core.exceptions import PermissionDenied

    tenant = TenantFactory(slug="vision")
    member = MembershipFactory(tenant=tenant, user=UserFactory(), role="member").user
    with pytest.raises(PermissionDenied):
        services.set_tenant_webhook(actor=member, tenant_id=tenant.pk, url=webhook_receiver.url)


def test_a_receiver_that_refuses_with_4xx_fails_the_delivery_without_retrying(
    settings, webhook_receiver
):
    webhook_receiver.status = 410
    settings.PORTAL_NOTIFICATIONS_WEBHOOK_URL = webhook_receiver.url
    onboard(UserFactory(username="mia"))

    deliver_pending()

    delivery = Delivery.objects.get(channel="webhook")
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "HTTP 410" in delivery.last_error


def test_promotion_waiting_for_sign_off_mails_the_sres(smtp_server, promotion_at_staging):
    sam = sre(username="sam")
    workload, member = promotion_at_staging

    for _ in range(2):  # a second blocked attempt of the same revision does not page again
        with pytest.raises(Exception, match="sre-production-sign-off"):
            from workloads.services import promote

            promote(workload=workload, environment_name="prod", actor=member)
    deliver_pending()

    assert [m.recipients for m in smtp_server.messages] == [[sam.email]]
    assert "waits for SRE sign-off for prod" in smtp_server.messages[0].subject


def test_document_without_owner_tells_the_tenant(smtp_server, promotion_at_dev):
    workload, member = promotion_at_dev
    from workloads.services import promote

    with pytest.raises(Exception, match="interface document is incomplete"):
        promote(workload=workload, environment_name="staging", actor=member)
    deliver_pending()

    owners_and_members = set(
        workload.tenant.memberships.filter(role__in=["owner", "member"]).values_list(
            "user__email", flat=True
        )
    )
    assert {r for m in smtp_server.messages for r in m.recipients} == owners_and_members
    assert "has no owner" in smtp_server.messages[0].subject
    assert TenantMembership.objects.filter(tenant=workload.tenant).count() >= 1
