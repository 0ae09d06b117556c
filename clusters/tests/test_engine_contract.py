"""The sync engine against its typed contract alone (clusters/registry.py): a fake tenant
directory, recorder and provider stand in for the domain apps, which this module does not
import. The engine talks to the Kubernetes emulator over HTTP as in production."""

from dataclasses import dataclass, field

import pytest

from clusters import registry
from clusters.models import SyncRun
from clusters.registry import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    TENANT_LABEL,
    Allocation,
    DesiredObject,
    SyncTarget,
)
from clusters.sync import reconcile_tenant_ids, run_tenant_sync

pytestmark = pytest.mark.django_db

TENANT_ID = 4242


@dataclass
class FakeTenants:
    """One tenant, "blue", at generation `desired`; records what the engine marks applied."""

    cluster_id: int
    desired: int = 3
    applied: int = 0
    archived: bool = False
    marked: list[tuple[int, int]] = field(default_factory=list)

    def sync_target(self, tenant_id: int) -> SyncTarget | None:
        if tenant_id != TENANT_ID:
            return None
        return SyncTarget(
            tenant_id=TENANT_ID,
            slug="blue",
            desired_generation=self.desired,
            applied_generation=self.applied,
            cluster_ids=(self.cluster_id,),
            archived=self.archived,
        )

    def pending_tenant_ids(self, *, cluster_id: int | None = None) -> list[int]:
        return [TENANT_ID] if self.applied < self.desired else []

    def capacity_allocations(self, cluster_id: int) -> dict[tuple[str, str], Allocation]:
        return {}

    def tenant_slugs(self, tenant_ids) -> dict[int, str]:
        return {TENANT_ID: "blue"} if TENANT_ID in tenant_ids else {}

    def tenant_id(self, slug: str) -> int | None:
        return TENANT_ID if slug == "blue" else None

    def mark_applied(self, tenant_id: int, generation: int) -> bool:
        self.marked.append((tenant_id, generation))
        self.applied = max(self.applied, generation)
        return True


def _labels() -> dict:
    return {TENANT_LABEL: "blue", MANAGED_BY_LABEL: MANAGED_BY}


def namespace_and_config(cluster_id: int, *, data: str = "1"):
    def provider(tenant_id: int) -> list[DesiredObject]:
        if tenant_id != TENANT_ID:
            return []
        return [
            DesiredObject(
                cluster_id,
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": "blue-dev", "labels": _labels()},
                },
            ),
            DesiredObject(
                cluster_id,
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "settings", "namespace": "blue-dev", "labels": _labels()},
                    "data": {"replicas": data},
                },
            ),
        ]

    return provider


@pytest.fixture
def fake(kube_cluster):
    tenants = FakeTenants(cluster_id=kube_cluster.pk)
    with registry.replaced(
        directory=tenants, recorder=tenants, providers=[namespace_and_config(kube_cluster.pk)]
    ):
        yield tenants


def test_the_engine_applies_what_the_providers_render_and_records_the_generation(
    fake, kube_emulator
):
    result = run_tenant_sync(TENANT_ID)

    assert result.applied
    assert kube_emulator.get("v1", "ConfigMap", "settings", "blue-dev")["data"] == {"replicas": "1"}
    assert fake.marked == [(TENANT_ID, 3)]
    assert result.runs[0].tenant_slug == "blue"


def test_a_failed_cluster_leaves_the_generation_unrecorded(kube_cluster, kube_emulator):
    tenants = FakeTenants(cluster_id=kube_cluster.pk)
    invalid = namespace_and_config(kube_cluster.pk, data=1)  # ConfigMap data must be strings
    with registry.replaced(directory=tenants, recorder=tenants, providers=[invalid]):
        result = run_tenant_sync(TENANT_ID)

    assert not result.applied
    assert result.runs[0].status == SyncRun.Status.FAILED
    assert tenants.marked == []
    assert kube_emulator.writes == 0


def test_an_unknown_tenant_is_not_synced(fake, kube_emulator):
    result = run_tenant_sync(TENANT_ID + 1)

    assert result.runs == [] and fake.marked == []
    assert kube_emulator.writes == 0


def test_the_backlog_comes_from_the_directory(fake):
    assert reconcile_tenant_ids() == [TENANT_ID]
    run_tenant_sync(TENANT_ID)
    assert reconcile_tenant_ids() == []


def test_an_archived_tenant_waits_for_confirmation_before_anything_is_deleted(fake, kube_emulator):
    run_tenant_sync(TENANT_ID)
    fake.archived, fake.desired = True, 4

    result = run_tenant_sync(TENANT_ID)

    assert not result.applied and fake.marked == [(TENANT_ID, 3)]
    waiting = SyncRun.objects.filter(tenant_id=TENANT_ID).order_by("-pk").first()
    assert waiting.status == SyncRun.Status.WAITING
    assert kube_emulator.get("v1", "Namespace", "blue-dev") is not None


def test_registering_an_object_without_the_contract_is_refused():
    class Incomplete:
        def sync_target(self, tenant_id):
            return None

    with pytest.raises(TypeError, match="TenantDirectory"):
        registry.register_tenants(directory=Incomplete(), recorder=Incomplete())
