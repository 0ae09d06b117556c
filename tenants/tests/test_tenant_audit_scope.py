"""The tenant timeline records what people changed, not the sync engine's generation counters."""

import pytest

from tenants.models import Tenant
from tenants.outbox import bump_desired_generation
from tenants.tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def test_a_generation_bump_writes_no_audit_event(django_capture_on_commit_callbacks):
    tenant = TenantFactory()
    before = tenant.events.count()

    with django_capture_on_commit_callbacks(execute=False):
        bump_desired_generation(tenant.id)
    Tenant.objects.filter(pk=tenant.pk).update(applied_generation=1)

    assert tenant.events.count() == before


def test_a_status_change_is_still_audited():
    tenant = TenantFactory(status=Tenant.Status.PENDING)
    before = tenant.events.count()

    tenant.status = Tenant.Status.ACTIVE
    tenant.save()

    assert tenant.events.count() == before + 1
    assert tenant.events.order_by("-pgh_id").first().status == Tenant.Status.ACTIVE
