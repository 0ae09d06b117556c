"""Benchmark of issue 2's pages (tenancy, approvals, audit, home) on their own database.

Seeds N tenants (3 environments each, a live grant per environment from an approved request),
pending quota requests and pending onboardings with bulk inserts, then prints p50/p95 server
time and SQL query count of each page, and p50/p95 of `approve_quota_request`.

    .venv/bin/python bench/portal.py [--tenants 1000] [--pending-requests 200]
        [--pending-tenants 100] [--runs 20] [--approvals 50] [--keep]
"""

import os
import statistics
import time
from datetime import timedelta

import benchdb

BENCH_DB = os.environ.get("PORTAL_BENCH_DB", "gpu_portal_bench_portal")
# approvals enqueue a sync on commit: keep those messages out of every real worker's queue
BENCH_QUEUE = f"bench-portal-{os.getpid()}"
ENVIRONMENTS = ("dev", "staging", "prod")


def _pcts(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return statistics.median(samples) * 1000, p95 * 1000


def _profiles():
    from tenants.models import GpuProfile

    return GpuProfile.objects.bulk_create(
        [
            GpuProfile(
                name="h100-80gb",
                display_name="H100 80GB",
                gpu_model="NVIDIA H100 80GB HBM3",
                gpu_product="NVIDIA-H100-80GB-HBM3",
                partition="dedicated",
                resource_name="nvidia.com/gpu",
                memory_gb=80,
            ),
            GpuProfile(
                name="a100-mig-1g-10gb",
                display_name="A100 MIG 1g.10gb",
                gpu_model="NVIDIA A100 80GB PCIe",
                gpu_product="NVIDIA-A100-80GB-PCIe",
                partition="mig",
                mig_profile="1g.10gb",
                resource_name="nvidia.com/mig-1g.10gb",
                gpu_fraction="0.1429",
                memory_gb=10,
            ),
            GpuProfile(
                name="l4-shared",
                display_name="L4 time-sliced",
                gpu_model="NVIDIA L4",
                gpu_product="NVIDIA-L4",
                partition="time-sliced",
                resource_name="nvidia.com/gpu.shared",
                gpu_fraction="0.25",
                replicas=4,
                memory_gb=6,
            ),
        ]
    )


def seed(n_tenants: int, n_pending_requests: int, n_pending_tenants: int) -> dict:
    """Bulk inserts (the audit triggers still fire, so /audit/ holds one event per row)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User
    from django.db import transaction
    from django.utils import timezone

    from clusters.models import Cluster, ClusterCapacity
    from portal import roles
    from tenants.models import (
        Environment,
        QuotaGrant,
        QuotaRequest,
        Tenant,
        TenantMembership,
    )

    now = timezone.now()
    password = make_password("bench-pass-123")
    with transaction.atomic():
        clusters = Cluster.objects.bulk_create(
            [
                Cluster(name=f"gpu-{region}-1", region=region, api_server_url="http://127.0.0.1:1")
                for region in ("eu-west", "eu-central", "us-east", "us-west")
            ]
        )
        profiles = _profiles()
        ClusterCapacity.objects.bulk_create(
            [
                ClusterCapacity(
                    cluster=c,
                    gpu_product=p.gpu_product,
                    resource_name=p.resource_name,
                    allocatable=100_000,
                    observed_at=now,
                )
                for c in clusters
                for p in profiles
            ]
        )
        groups = {name: Group.objects.get_or_create(name=name)[0] for name in roles.ALL_GROUPS}
        role_users = {}
        for name in roles.ALL_GROUPS:
            user = User.objects.create(username=f"bench-{name}", password=password)
            user.groups.add(groups[name])
            role_users[name] = user
        owners = User.objects.bulk_create(
            [
                User(username=f"owner{i:04d}", email=f"owner{i:04d}@example.com", password=password)
                for i in range(n_tenants)
            ]
        )
        tenants = Tenant.objects.bulk_create(
            [
                Tenant(
                    name=f"Team {i:04d} models",
                    slug=f"team-{i:04d}",
                    team=f"Team {i:04d}",
                    cost_center=f"CC-{1000 + i % 97}",
                    contact_email=f"team-{i:04d}@example.com",
                    oncall_contact=f"#team-{i:04d}-oncall",
                    tier=("small", "medium", "large")[i % 3],
                    cluster=clusters[i % len(clusters)],
                    status="pending" if i >= n_tenants - n_pending_tenants else "active",
                    created_by=owners[i],
                    decided_by=None
                    if i >= n_tenants - n_pending_tenants
                    else role_users["platform-admin"],
                    decided_at=None if i >= n_tenants - n_pending_tenants else now,
                    desired_generation=2,
                    applied_generation=2,
                )
                for i in range(n_tenants)
            ]
        )
        TenantMembership.objects.bulk_create(
            [
                TenantMembership(tenant=t, user=u, role="owner")
                for t, u in zip(tenants, owners, strict=True)
            ]
            # the ML-team role user belongs to three tenants, as a member
            + [
                TenantMembership(tenant=t, user=role_users["ml-team"], role="member")
                for t in tenants[:3]
            ]
        )
        environments = Environment.objects.bulk_create(
            [
                Environment(tenant=t, name=name, cluster=t.cluster, namespace=f"{t.slug}-{name}")
                for t in tenants
                for name in ENVIRONMENTS
            ]
        )
        active = [e for e in environments if e.tenant.status == "active"]
        approved = QuotaRequest.objects.bulk_create(
            [
                QuotaRequest(
                    tenant=e.tenant,
                    environment=e,
                    profile=profiles[i % len(profiles)],
                    guaranteed=1 + i % 4,
                    burst=i % 3,
                    justification="Initial quota for the team's serving and training.",
                    status="approved",
                    requested_by=e.tenant.created_by,
                    decided_by=role_users["platform-admin"],
                    decided_at=now,
                )
                for i, e in enumerate(active)
            ]
        )
        QuotaGrant.objects.bulk_create(
            [
                QuotaGrant(
                    tenant=r.tenant,
                    environment=r.environment,
                    profile=r.profile,
                    guaranteed=r.guaranteed,
                    burst=r.burst,
                    request=r,
                    granted_by=role_users["platform-admin"],
                )
                for r in approved
            ]
        )
        # pending requests ask for more of the profile already granted (they replace the grant)
        pending = QuotaRequest.objects.bulk_create(
            [
                QuotaRequest(
                    tenant=r.tenant,
                    environment=r.environment,
                    profile=r.profile,
                    guaranteed=r.guaranteed + 2,
                    burst=r.burst,
                    justification="Traffic doubled after the launch; two more replicas.",
                    requested_by=r.tenant.created_by,
                )
                for r in approved[:: max(1, len(approved) // max(1, n_pending_requests))][
                    :n_pending_requests
                ]
            ]
            # each pending onboarding asks for an initial quota in dev
            + [
                QuotaRequest(
                    tenant=e.tenant,
                    environment=e,
                    profile=profiles[0],
                    guaranteed=1,
                    justification="Initial quota.",
                    requested_by=e.tenant.created_by,
                )
                for e in environments
                if e.tenant.status == "pending" and e.name == "dev"
            ]
        )
        # created_at spread over a month, like a real queue
        for i, obj in enumerate(pending):
            obj.created_at = now - timedelta(minutes=17 * i)
        QuotaRequest.objects.bulk_update(pending, ["created_at"])
    return {
        "role_users": role_users,
        "tenant": tenants[0],
        "pending": [r for r in pending if r.tenant.status == "active"],
    }


def _seeded() -> dict:
    """What seed() returned, read back from a kept database (earlier runs approved some)."""
    from django.contrib.auth.models import User

    from portal import roles
    from tenants.models import QuotaRequest, Tenant

    pending = QuotaRequest.objects.filter(status="pending", tenant__status="active")
    return {
        "role_users": {n: User.objects.get(username=f"bench-{n}") for n in roles.ALL_GROUPS},
        "tenant": Tenant.objects.order_by("slug").first(),
        "pending": list(pending.order_by("-created_at", "pk")),
    }


def main() -> None:
    parser = benchdb.parser(keep_help="reuse the seeded database of an earlier run")
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--pending-requests", type=int, default=200)
    parser.add_argument("--pending-tenants", type=int, default=100)
    parser.add_argument("--approvals", type=int, default=50)
    args = parser.parse_args()
    benchdb.prepare_database(BENCH_DB, keep=args.keep, celery_queue=BENCH_QUEUE)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)
    from tenants.models import Tenant

    t = time.perf_counter()
    if args.keep and Tenant.objects.exists():
        data = _seeded()
        print(f"reusing {BENCH_DB}: {Tenant.objects.count()} tenants")
    else:
        data = seed(args.tenants, args.pending_requests, args.pending_tenants)
        print(
            f"seeded {args.tenants} tenants x {len(ENVIRONMENTS)} environments, "
            f"{args.pending_requests} pending quota requests, {args.pending_tenants} pending "
            f"onboardings in {time.perf_counter() - t:.1f} s"
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    import pghistory.models

    print(f"audit events: {pghistory.models.Events.objects.count()}")

    users = data["role_users"]
    admin = users["platform-admin"]
    slug = data["tenant"].slug
    pages = [(f"/ ({role})", "/", user) for role, user in users.items()] + [
        ("/tenants/ (admin)", "/tenants/", admin),
        ("/tenants/approvals/", "/tenants/approvals/", admin),
        ("tenant page", f"/tenants/{slug}/", admin),
        ("/audit/ (first page)", "/audit/", admin),
        ("/api/v1/tenants/", "/api/v1/tenants/", admin),
        ("/api/v1/quota-requests/", "/api/v1/quota-requests/", admin),
    ]
    print(f"\n{'page':<28} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'KiB':>6}")
    for label, url, user in pages:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        client.get(url)  # warm-up: templates, URL resolver, connection
        samples = []
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as queries:
                t = time.perf_counter()
                response = client.get(url)
                samples.append(time.perf_counter() - t)
            assert response.status_code == 200, (url, response.status_code)
        p50, p95 = _pcts(samples)
        size = len(response.content) / 1024
        print(f"{label:<28} {p50:>8.1f} {p95:>8.1f} {len(queries):>8} {size:>6.0f}")

    from tenants import decisions

    samples, counts = [], []
    for qr in data["pending"][: args.approvals]:
        with CaptureQueriesContext(connection) as queries:
            t = time.perf_counter()
            decisions.approve_quota_request(actor=admin, quota_request=qr)
            samples.append(time.perf_counter() - t)
        counts.append(len(queries))
    p50, p95 = _pcts(samples)
    print(
        f"{'approve_quota_request':<28} {p50:>8.1f} {p95:>8.1f} {max(counts):>8}"
        f"   ({len(samples)} approvals, incl. the sync enqueue)"
    )
    _drop_queue()


def _drop_queue() -> None:
    """Delete the syncs the approvals enqueued: no worker listens on the bench's queue."""
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.REDIS_URL).delete(BENCH_QUEUE)


if __name__ == "__main__":
    main()
