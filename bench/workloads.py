"""Benchmark of the workloads and contracts apps on their own database.

Seeds one tenant with N workloads (inference/training/batch in turn) deployed to dev, staging
and prod with complete interface documents, then prints: the time to render the tenant's
desired objects (both providers) and to validate them (clusters.validation), p50/p95 of a
promotion through every gate, and p50/p95 server time and query count of the workload list,
workload detail and interface document pages and of the Markdown export.

    .venv/bin/python bench/workloads.py [--workloads 300] [--runs 20] [--keep]
"""

import os
import statistics
import time

import benchdb

BENCH_DB = os.environ.get("WORKLOADS_BENCH_DB", "gpu_portal_bench_workloads")


def _pcts(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return f"p50 {statistics.median(samples) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


def seed(n: int):
    from django.contrib.auth.models import User
    from django.db import transaction

    from clusters.models import Cluster
    from contracts.models import AlertPolicy, InterfaceDocument, OnCallTeam
    from tenants.models import Environment, GpuProfile, QuotaGrant, Tenant, TenantMembership
    from workloads.models import Template, Workload, WorkloadEnvironment, WorkloadRevision

    with transaction.atomic():
        cluster = Cluster.objects.create(name="bench-1", api_server_url="http://127.0.0.1:1")
        profile = GpuProfile.objects.create(
            name="h100-80gb",
            display_name="H100",
            gpu_model="NVIDIA H100 80GB HBM3",
            gpu_product="NVIDIA-H100-80GB-HBM3",
            partition="dedicated",
            resource_name="nvidia.com/gpu",
            memory_gb=80,
        )
        tenant = Tenant.objects.create(
            name="Bench",
            slug="bench",
            team="Bench",
            cost_center="CC-1",
            contact_email="b@example.com",
            cluster=cluster,
            status="active",
        )
        user = User.objects.create_user("bench-owner", password="bench-pass-123")
        TenantMembership.objects.create(tenant=tenant, user=user, role="owner")
        envs = []
        for name in ("dev", "staging", "prod"):
            env = Environment.objects.create(
                tenant=tenant, name=name, cluster=cluster, namespace=f"bench-{name}"
            )
            QuotaGrant.objects.create(
                tenant=tenant, environment=env, profile=profile, guaranteed=10 * n, burst=0
            )
            envs.append(env)
        team = OnCallTeam.objects.create(name="sre-core", display_name="SRE", email="s@x.io")
        templates = [Template.INFERENCE, Template.TRAINING, Template.BATCH]
        for i in range(n):
            workload = Workload.objects.create(
                tenant=tenant, name=f"w{i}", template=templates[i % 3], created_by=user
            )
            revision = WorkloadRevision.objects.create(
                workload=workload,
                number=1,
                image=f"registry.example.com/bench/w{i}:1",
                image_digest="sha256:" + "a" * 64,
                profile=profile,
                replicas=1,
                scaling_metric="queue-depth" if i % 3 == 0 else "none",
                scaling_target=10,
                checkpoint_volume_gi=10,
                schedule="0 2 * * *",
            )
            for env in envs:
                WorkloadEnvironment.objects.create(
                    workload=workload, environment=env, current_revision=revision
                )
            doc = InterfaceDocument.objects.create(
                workload=workload,
                owner_team=team,
                platform_contact=team,
                sre_contact=team,
                p99_latency_ms=250,
                availability_pct="99.9",
                max_cold_start_s=120,
                rollback_trigger="burn",
                rollback_owner=team,
                version=1,
            )
            AlertPolicy.objects.create(document=doc, signal="latency", paged_team=team)
    return tenant, user


def main() -> None:
    parser = benchdb.parser()
    parser.add_argument("--workloads", type=int, default=300)
    args = parser.parse_args()
    benchdb.prepare_database(BENCH_DB, keep=args.keep)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)
    t = time.perf_counter()
    tenant, user = seed(args.workloads)
    print(f"seeded {args.workloads} workloads x 3 environments in {time.perf_counter() - t:.1f} s")

    from clusters.registry import desired_objects
    from clusters.validation import validate_manifests
    from workloads import services
    from workloads.models import Workload

    renders, validations, count = [], [], 0
    for _ in range(max(3, args.runs // 4)):
        t = time.perf_counter()
        objects = desired_objects(tenant.pk)
        renders.append(time.perf_counter() - t)
        t = time.perf_counter()
        validate_manifests([o.manifest for o in objects], "1.31")
        validations.append(time.perf_counter() - t)
        count = len(objects)
    print(f"render tenant ({count} objects, all providers): {_pcts(renders)}")
    print(f"validate them (kubernetes schemas + CRDs): {_pcts(validations)}")

    promotions = []
    for i in range(args.runs):
        workload = Workload.objects.get(tenant=tenant, name=f"w{i}")
        services.create_revision(workload=workload, actor=user, replicas=2)
        t = time.perf_counter()
        services.promote(workload=workload, environment_name="dev", actor=user)
        promotions.append(time.perf_counter() - t)
    print(
        f"promotion to dev through the gates ({args.workloads} workloads in env): "
        f"{_pcts(promotions)}"
    )

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    pages = {
        "workload list": "/workloads/bench/",
        "workload detail": "/workloads/bench/w0/",
        "interface document": "/contracts/bench/w0/interface-document/",
        "markdown export": "/contracts/bench/w0/interface-document.md",
        "API workload list": "/api/v1/workloads/",
    }
    for label, url in pages.items():
        samples = []
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as queries:
                t = time.perf_counter()
                response = client.get(url)
                samples.append(time.perf_counter() - t)
            assert response.status_code == 200, (url, response.status_code)
        print(f"{label}: {_pcts(samples)}, {len(queries)} queries")


if __name__ == "__main__":
    main()
