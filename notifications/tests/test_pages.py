"""The notification pages: a user's choices, and the deliveries log for platform admins."""

import pytest
from django.urls import reverse

from notifications import kinds, services
from notifications.models import Delivery, Notification, NotificationPreference
from tenants.tests.factories import MembershipFactory, TenantFactory, UserFactory, platform_admin

pytestmark = pytest.mark.django_db


def test_a_user_turns_a_kind_off_and_the_page_shows_it(client):
    user = UserFactory()
    client.force_login(user)
    keep = [k.name for k in kinds.all_kinds() if k.name != "tenant.decided"]

    response = client.post(reverse("notifications:preferences"), {"email": keep})

    assert response.status_code == 302
    assert not NotificationPreference.objects.get(user=user, kind="tenant.decided").email
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert 'value="tenant.decided">' in page and 'value="sync.failed" checked>' in page


def test_an_owner_sets_the_tenant_webhook_and_a_bad_url_is_refused_on_the_page(client):
    tenant = TenantFactory(slug="vision")
    owner = MembershipFactory(tenant=tenant, user=UserFactory()).user
    client.force_login(owner)
    url = reverse("notifications:preferences")

    bad = client.post(url, {"form": "webhook", "tenant_id": tenant.pk, "url": "ftp://x"})
    assert bad.status_code == 400 and "Enter a full http(s) URL" in bad.content.decode()

    ok = client.post(
        url, {"form": "webhook", "tenant_id": tenant.pk, "url": "https://hooks.example.com/a"}
    )
    assert ok.status_code == 302
    assert "https://hooks.example.com/a" in client.get(url).content.decode()


def test_deliveries_page_is_for_platform_admins_only(client):
    client.force_login(UserFactory())
    assert client.get(reverse("notifications:deliveries")).status_code == 403


def test_deliveries_page_lists_failures_in_constant_queries(client, django_assert_max_num_queries):
    for i in range(30):
        n = Notification.objects.create(kind="sync.failed", subject=f"Sync {i} failed")
        Delivery.objects.create(
            notification=n, channel="email", recipient=f"a{i}@example.com", status="failed",
            attempts=10, last_error="SMTP: ConnectionRefusedError",
        )  # fmt: skip
    client.force_login(platform_admin())

    with django_assert_max_num_queries(8):
        response = client.get(reverse("notifications:deliveries"), {"status": "failed"})

    page = response.content.decode()
    assert "Sync 29 failed" in page and "ConnectionRefusedError" in page
    assert "Failed (gave up)</a> (30)" in page


def test_a_platform_admin_retries_a_failed_delivery(client):
    n = Notification.objects.create(kind="sync.failed", subject="Sync failed")
    d = Delivery.objects.create(
        notification=n, channel="email", recipient="a@x.io", status="failed"
    )
    client.force_login(platform_admin())

    client.post(reverse("notifications:retry"), {"delivery": d.pk})

    d.refresh_from_db()
    assert (d.status, d.attempts) == ("pending", 0)


def test_an_unknown_kind_is_refused_and_a_registered_one_is_emitted():
    with pytest.raises(LookupError, match="unknown notification kind 'costs.nope'"):
        services.emit(kind="costs.nope", subject="x")
    kind = kinds.register(kinds.Kind("test.budget", "Budget threshold", roles=("finance",)))
    fin = UserFactory(groups=["finance"])

    services.emit(kind=kind.name, subject="80% of the budget", dedupe_key="b:1")
    services.emit(kind=kind.name, subject="80% of the budget", dedupe_key="b:1")

    assert list(Delivery.objects.values_list("recipient", flat=True)) == [fin.email]
