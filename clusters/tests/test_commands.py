"""manage.py sync_tenant / check_drift / refresh_capacity against the emulator."""

import pytest
from django.core.management import CommandError, call_command

from clusters.models import ClusterCapacity
from clusters.tests.sync_helpers import approved_tenant

pytestmark = pytest.mark.django_db


def test_sync_tenant_command_applies_and_reports(kube_cluster, kube_emulator, capsys):
    approved_tenant(kube_cluster, slug="vision")

    call_command("sync_tenant", "vision")

    out = capsys.readouterr().out
    assert f"vision on {kube_cluster.name}: succeeded" in out
    assert kube_emulator.get("v1", "Namespace", "vision-dev") is not None


def test_sync_tenant_command_rejects_unknown_slug(kube_cluster):
    with pytest.raises(CommandError, match="no tenant"):
        call_command("sync_tenant", "nope")


def test_check_drift_command_counts_drifted_tenants(kube_cluster, kube_emulator, capsys):
    approved_tenant(kube_cluster, slug="vision")
    call_command("sync_tenant", "vision")
    quota = kube_emulator.get("v1", "ResourceQuota", "gpu-portal-quota", "vision-dev")
    quota["spec"]["hard"]["pods"] = "9999"
    kube_emulator.put(quota)

    call_command("check_drift", "--cluster", kube_cluster.name, "--no-repair")

    assert "checked 1 tenant(s): 1 drifted" in capsys.readouterr().out
    live = kube_emulator.get("v1", "ResourceQuota", "gpu-portal-quota", "vision-dev")
    assert live["spec"]["hard"]["pods"] == "9999"  # --no-repair only reports


def test_refresh_capacity_command_reads_nodes(kube_cluster, kube_emulator):
    kube_emulator.put({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "n1", "labels": {"nvidia.com/gpu.product": "NVIDIA-L4"}},
        "status": {"allocatable": {"nvidia.com/gpu": "4"}},
    })  # fmt: skip

    call_command("refresh_capacity", "--cluster", kube_cluster.name)

    assert ClusterCapacity.objects.get(cluster=kube_cluster).allocatable == 4


def test_sync_task_retries_a_transient_failure_and_tenant_stays_pending(kube_cluster, settings):
    from celery.exceptions import Retry

    from clusters.tasks import sync_tenant

    settings.PORTAL_KUBE_RETRIES = 2
    tenant = approved_tenant(kube_cluster)
    kube_cluster.api_server_url = "http://127.0.0.1:9"
    kube_cluster.save()

    with pytest.raises(Retry):
        sync_tenant.apply(args=(tenant.pk,), throw=True)

    tenant.refresh_from_db()
    assert tenant.sync_pending
