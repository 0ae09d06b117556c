"""Benchmark of the sync engine: 500 tenants x 3 environments against the Kubernetes API
emulator (portal/testing/kube_emulator.py, in-process thread), on a throwaway PostgreSQL database.

    .venv/bin/python bench/sync.py [--tenants 500]

Prints objects applied per second, p50/p95 approve-to-applied latency (approval commit to
applied_generation recorded, each tenant synced right after its approval, in this process),
the emulator's write count for a full no-op resync of every tenant (must be 0), and the writes
of one grant change per tenant (only the objects it changes are written).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("PORTAL_TEST_DB_NAME", f"bench_gpu_portal_{os.getpid()}")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=500)
    args = parser.parse_args()

    from django.conf import settings

    settings.PORTAL_KUBE_BACKOFF_SECONDS = 0.01
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    from portal.testing.kube_emulator import KubeEmulator

    emulator = KubeEmulator().start()
    try:
        return run(args.tenants, emulator)
    finally:
        emulator.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run(n_tenants: int, emulator) -> int:
    from clusters.models import Cluster, SyncRun
    from clusters.sync import run_tenant_sync
    from tenants.models import Environment, GpuProfile, QuotaGrant, Tenant
    from tenants.outbox import bump_desired_generation

    cluster = Cluster.objects.create(
        name="bench-1", api_server_url=emulator.url, api_token="bench", gpu_pool="h100-pool"
    )
    profiles = [
        GpuProfile.objects.create(name="h100-80gb", display_name="H100", gpu_model="H100",
                                  gpu_product="NVIDIA-H100-80GB-HBM3", partition="dedicated",
                                  resource_name="nvidia.com/gpu"),
        GpuProfile.objects.create(name="h100-mig-1g-10gb", display_name="H100 MIG 1g",
                                  gpu_model="H100", gpu_product="NVIDIA-H100-80GB-HBM3",
                                  partition="mig", mig_profile="1g.10gb",
                                  resource_name="nvidia.com/mig-1g.10gb"),
    ]  # fmt: skip
    tenants = Tenant.objects.bulk_create(
        Tenant(name=f"Team {i}", slug=f"team-{i:04d}", team=f"Team {i}", cost_center="CC-1",
               contact_email=f"t{i}@example.com", cluster=cluster, status="active")
        for i in range(n_tenants)
    )  # fmt: skip
    envs = Environment.objects.bulk_create(
        Environment(tenant=t, name=e, cluster=cluster, namespace=f"{t.slug}-{e}")
        for t in tenants
        for e in ("dev", "staging", "prod")
    )
    QuotaGrant.objects.bulk_create(
        QuotaGrant(tenant_id=env.tenant_id, environment=env, profile=p, guaranteed=2, burst=1)
        for env in envs
        for p in profiles
    )
    print(f"{n_tenants} tenants x 3 environments, {len(envs) * 2} grants; syncing...")

    latencies, objects = [], 0
    started = time.perf_counter()
    for tenant in tenants:
        with transaction.atomic():  # the approval: bump in the approving transaction
            bump_desired_generation(tenant.pk)
        approved = time.perf_counter()
        result = run_tenant_sync(tenant.pk)
        assert result.applied, [r.message for r in result.runs]
        latencies.append(time.perf_counter() - approved)
        objects += sum(r.results.count() for r in result.runs)
    elapsed = time.perf_counter() - started
    lagging = Tenant.objects.filter(applied_generation__lt=models_F("desired_generation")).count()

    writes_before = emulator.writes
    requests_before = emulator.requests
    resync_started = time.perf_counter()
    for tenant in tenants:
        run_tenant_sync(tenant.pk, trigger=SyncRun.Trigger.RECONCILE)
    resync = time.perf_counter() - resync_started

    # one grant change per tenant (dev, dedicated GPUs 2 -> 3), then the change syncs
    noop_writes = emulator.writes - writes_before
    noop_requests = emulator.requests - requests_before
    QuotaGrant.objects.filter(environment__name="dev", profile=profiles[0]).update(guaranteed=3)
    writes_before = emulator.writes
    change_started = time.perf_counter()
    for tenant in tenants:
        with transaction.atomic():
            bump_desired_generation(tenant.pk)
        assert run_tenant_sync(tenant.pk).applied
    change = time.perf_counter() - change_started
    change_writes = emulator.writes - writes_before

    print(f"objects applied:            {objects} in {elapsed:.1f} s")
    print(f"objects/second:             {objects / elapsed:.0f}")
    print(f"approve-to-applied p50:     {statistics.median(latencies) * 1000:.0f} ms")
    print(f"approve-to-applied p95:     {percentile(latencies, 95) * 1000:.0f} ms")
    print(f"tenants still lagging:      {lagging}")
    print(f"no-op resync:               {len(tenants)} tenants in {resync:.1f} s")
    print(f"no-op resync writes:        {noop_writes}")
    print(f"no-op resync API requests:  {noop_requests}")
    print(
        f"one grant change per tenant: {len(tenants)} tenants in {change:.1f} s, "
        f"{change_writes} writes ({change_writes / len(tenants):.1f} per tenant)"
    )
    return 0 if noop_writes == 0 and lagging == 0 else 1


def models_F(name):
    from django.db.models import F

    return F(name)


if __name__ == "__main__":
    sys.exit(main())
