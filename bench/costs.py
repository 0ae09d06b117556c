"""Benchmark of the costs app on its own database.

Seeds 1,000 tenants x 3 environments x 90 days of hourly rollups (one INSERT ... SELECT over
generate_series), then prints p50/p95 server time of the finance overview, the tenant page and
the costs API, and the time of a 24-hour pull for 1,000 namespaces from a real Prometheus beside
the time of the same PromQL sent raw with an HTTP client (the floor).

    .venv/bin/python bench/costs.py [--tenants 1000] [--days 90] [--runs 20] [--keep]
"""

import json
import os
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import benchdb

BENCH_DB = os.environ.get("COSTS_BENCH_DB", "gpu_portal_bench_costs")


def _timed(label: str):
    class _T:
        def __enter__(self):
            self.t = time.perf_counter()
            return self

        def __exit__(self, *exc):
            self.seconds = time.perf_counter() - self.t
            print(f"  {label}: {self.seconds:.1f} s", flush=True)

    return _T()


SEED_SQL = """
INSERT INTO costs_hourlyusage (
    cluster_id, namespace, workload, resource_name, gpu_product, hour, tenant_id,
    environment_id, profile_id, gpu_model, gpu_fraction, unit_hours, burst_unit_hours,
    gpu_hours, used_unit_hours, used_gpu_hours, fb_peak_mib, requests, source)
SELECT e.cluster_id, e.namespace, 'svc-' || (e.id %% 3), p.resource_name, p.gpu_product, h,
       e.tenant_id, e.id, p.id, p.gpu_model, f.frac, u.units, GREATEST(u.units - 2, 0),
       u.units * f.frac, u.units * u.util, u.units * u.util * f.frac,
       20000 + 40000 * u.util, CASE WHEN e.name = 'prod' THEN 5000 * u.units ELSE 0 END,
       'prometheus'
FROM tenants_environment e
JOIN tenants_gpuprofile p ON p.id = (
    SELECT id FROM tenants_gpuprofile ORDER BY id OFFSET (e.id %% 3) LIMIT 1)
JOIN (SELECT (j->>0)::bigint AS pid, (j->>1)::numeric AS frac
      FROM jsonb_array_elements(%(fractions)s::jsonb) j) f ON f.pid = p.id
CROSS JOIN generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '1 hour',
                           interval '1 hour') AS h
CROSS JOIN LATERAL (SELECT 1 + (e.id %% 4) AS units,
                           0.1 + 0.8 * abs(sin(e.id + extract(epoch FROM h) / 7200)) AS util) u
"""


def seed(tenants: int, days: int, start: date):
    from django.core.management import call_command
    from django.db import connection

    from clusters.models import Cluster, ClusterCapacity
    from costs.models import PriceBookEntry
    from costs.pricing import exact_fraction
    from costs.services import rebuild_daily
    from tenants.models import Environment, GpuProfile, Tenant

    print(f"seeding {tenants} tenants x 3 environments x {days} days of hourly rollups")
    with _timed("migrate"):
        call_command("migrate", verbosity=0)
    cluster, _ = Cluster.objects.get_or_create(name="bench", defaults={"gpu_pool": "bench"})
    profiles = [
        GpuProfile.objects.get_or_create(name=name, defaults=kw)[0]
        for name, kw in [
            ("h100", dict(display_name="H100", gpu_model="NVIDIA H100 80GB HBM3",
                          gpu_product="NVIDIA-H100-80GB-HBM3", partition="dedicated",
                          resource_name="nvidia.com/gpu", gpu_fraction=1, memory_gb=80)),
            ("h100-mig-1g", dict(display_name="H100 1g.10gb", gpu_model="NVIDIA H100 80GB HBM3",
                                 gpu_product="NVIDIA-H100-80GB-HBM3", partition="mig",
                                 mig_profile="1g.10gb", resource_name="nvidia.com/mig-1g.10gb",
                                 gpu_fraction="0.1429", memory_gb=10)),
            ("l4-ts4", dict(display_name="L4 x4", gpu_model="NVIDIA L4", gpu_product="NVIDIA-L4",
                            partition="time-sliced", resource_name="nvidia.com/gpu.shared",
                            gpu_fraction="0.25", replicas=4, memory_gb=24)),
        ]
    ]  # fmt: skip
    for p in profiles:
        ClusterCapacity.objects.get_or_create(
            cluster=cluster, gpu_product=p.gpu_product, resource_name=p.resource_name,
            defaults={"allocatable": 8000},
        )  # fmt: skip
    for model, price in (("NVIDIA H100 80GB HBM3", 4), ("NVIDIA L4", "0.8")):
        PriceBookEntry.objects.get_or_create(
            gpu_model=model, profile=None, effective_from=date(2020, 1, 1),
            defaults={"hourly_price": price},
        )  # fmt: skip
    if Tenant.objects.count() >= tenants:
        print("  (kept existing seed)")
        return cluster
    with _timed("tenants and environments"):
        made = Tenant.objects.bulk_create(
            Tenant(name=f"Team {i}", slug=f"t{i:04d}", team=f"Team {i}", cost_center="CC-1",
                   contact_email=f"t{i}@example.com", cluster=cluster, status="active")
            for i in range(tenants)
        )  # fmt: skip
        Environment.objects.bulk_create(
            Environment(tenant=t, name=env, cluster=cluster, namespace=f"{t.slug}-{env}")
            for t in made
            for env in ("dev", "staging", "prod")
        )
    first = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    last = first + timedelta(days=days)
    with _timed("hourly rollups (INSERT ... SELECT generate_series)"), connection.cursor() as c:
        fractions = json.dumps(
            [[p.pk, str(exact_fraction(p.gpu_fraction, replicas=p.replicas))] for p in profiles]
        )
        c.execute(SEED_SQL, {"start": first, "end": last, "fractions": fractions})
        print(f"    {c.rowcount:,} rows", end="")
    with _timed("daily rollups (rebuild_daily)"):
        rebuild_daily(cluster_id=None, start=first, end=last)
    with _timed("ANALYZE"), connection.cursor() as c:
        c.execute("ANALYZE costs_hourlyusage; ANALYZE costs_dailyusage")
    with _timed("budgets for every tenant and the cost center"):
        from costs.models import Budget

        Budget.objects.bulk_create(
            [Budget(tenant=t, monthly_amount=20000) for t in Tenant.objects.all()]
            + [Budget(cost_center="CC-1", monthly_amount=10_000_000)]
        )
    return cluster


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def measure_pages(runs: int, end: date, tenant: str):
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user, _ = User.objects.get_or_create(username="bench-finance")
    user.groups.add(Group.objects.get_or_create(name="finance")[0])
    user.groups.add(Group.objects.get_or_create(name="platform-admin")[0])
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    month = {"start": end.replace(day=1).isoformat(), "end": end.isoformat()}
    thirty = {"start": (end - timedelta(days=29)).isoformat(), "end": end.isoformat()}
    quarter = {"start": (end - timedelta(days=89)).isoformat(), "end": end.isoformat()}
    cases = [
        ("finance overview, month to date", "/costs/", month),
        ("finance overview, 90 days", "/costs/", quarter),
        ("tenant page, month to date", f"/costs/tenants/{tenant}/", month),
        ("tenant page, 90 days", f"/costs/tenants/{tenant}/", quarter),
        ("API /costs/tenants/, month", "/api/v1/costs/tenants/", month),
        ("API /costs/tenants/{slug}/?group_by=day, 90 days", f"/api/v1/costs/tenants/{tenant}/",
         {**quarter, "group_by": "day"}),
        ("finance overview, trailing 30 days", "/costs/", thirty),
        ("API /costs/budgets/ (1,001 budgets)", "/api/v1/costs/budgets/", {}),
        ("budgets page", "/costs/budgets/", {}),
        ("statements, draft month (all cost centers)", "/costs/statements/",
         {"month": f"{end:%Y-%m}"}),
        ("statement CSV, draft month", "/costs/statements/export.csv",
         {"month": f"{end:%Y-%m}", "cost_center": "CC-1"}),
        ("platform view, 30 days", "/costs/platform/", thirty),
    ]  # fmt: skip
    print(f"\nserver time over {runs} requests each (in-process Django client)")
    print(f"  {'page':55} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'p95/50ms':>9}")
    for label, url, params in cases:
        client.get(url, params)  # warm up
        samples = []
        for _ in range(runs):
            t = time.perf_counter()
            response = client.get(url, params)
            samples.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        with CaptureQueriesContext(connection) as ctx:
            client.get(url, params)
        p50, p95 = percentiles(samples)
        print(f"  {label:55} {p50:8.1f} {p95:8.1f} {len(ctx.captured_queries):8d} {p95 / 50:8.2f}x")


def measure_pull(cluster, day: datetime, namespaces: int, workdir: Path):
    import requests
    from django.conf import settings

    from clusters.prometheus import PrometheusClient
    from costs import services
    from costs.models import HourlyUsage
    from costs.usage import build_queries
    from portal.testing.prometheus import OpenMetrics, start_prometheus

    interval = 300  # a 5-minute scrape keeps the backfill file small; the queries are the same
    settings.COSTS_SCRAPE_INTERVAL_SECONDS = interval
    settings.COSTS_INFERENCE_COUNTERS = ["gpu_portal_inference_requests_total"]
    print(f"\n24-hour pull for {namespaces} namespaces (scrape interval {interval}s)")
    metrics = OpenMetrics()
    with _timed("generate OpenMetrics"):
        first = int(day.timestamp())
        for i in range(namespaces):
            ns = f"t{i:04d}-prod"
            pod = {"namespace": ns, "pod": f"svc-{i}"}
            for step in range(24 * 3600 // interval):
                ts = first + step * interval + 30
                util = (i * 7 + step) % 100
                metrics.add("kube_pod_labels", {**pod, "label_gpu_portal_io_workload": "svc"},
                            ts, 1)  # fmt: skip
                requested = {**pod, "container": "main", "resource": "nvidia_com_gpu"}
                metrics.add("kube_pod_container_resource_requests", requested, ts, 2)
                for gpu in range(2):
                    labels = {**pod, "container": "main", "gpu": str(gpu)}
                    metrics.add("DCGM_FI_DEV_GPU_UTIL", labels, ts, util)
                    metrics.add("DCGM_FI_DEV_FB_USED", labels, ts, 30000 + util * 100)
                metrics.add("gpu_portal_inference_requests_total", pod, ts, step * 1000)
        path = metrics.write(workdir / "bench.om")
    print(f"    {path.stat().st_size / 1e6:.0f} MB")
    with _timed("promtool backfill + start prometheus"):
        server = start_prometheus(path, workdir / "prom")
    try:
        end = day + timedelta(hours=24)
        queries = build_queries(3600 / interval, settings.COSTS_INFERENCE_COUNTERS)
        session = requests.Session()
        raw = []
        for _ in range(3):
            t = time.perf_counter()
            for promql in queries.values():
                r = session.get(
                    server.url + "/api/v1/query_range",
                    params={"query": promql, "start": (day + timedelta(hours=1)).timestamp(),
                            "end": end.timestamp(), "step": 3600},
                    timeout=300,
                )  # fmt: skip
                r.raise_for_status()
                _ = r.content
            raw.append(time.perf_counter() - t)
        from costs.models import DailyUsage

        # the first pull inserts the day (as the hourly beat would); the next ones re-pull it
        HourlyUsage.objects.filter(hour__gte=day, hour__lt=end).delete()
        DailyUsage.objects.filter(day=day.date()).delete()
        pulls = []
        for _ in range(3):
            t = time.perf_counter()
            result = services.pull_usage(
                cluster_id=cluster.pk, start=day, end=end, now=end + timedelta(hours=1),
                client=PrometheusClient(server.url, session=session, timeout=300),
            )  # fmt: skip
            pulls.append(time.perf_counter() - t)
        stored = HourlyUsage.objects.filter(hour__gte=day, hour__lt=end).count()
        print(f"  {len(queries)} PromQL queries, {result.rows} rows upserted ({stored} stored)")
        print(f"  raw HTTP, same queries (floor): best {min(raw):.2f} s, median "
              f"{statistics.median(raw):.2f} s")  # fmt: skip
        print(f"  pull_usage, first pull (queries + rollup + COPY/upsert of new rows + daily "
              f"rebuild, one transaction): {pulls[0]:.2f} s")  # fmt: skip
        print(f"  pull_usage, re-pull of the same hours (nothing rewritten): best "
              f"{min(pulls[1:]):.2f} s")  # fmt: skip
        floor = min(raw)
        print(f"  ratio to the raw PromQL floor (target <= 1.3x): first pull "
              f"{pulls[0] / floor:.2f}x, re-pull {min(pulls[1:]) / floor:.2f}x")  # fmt: skip
    finally:
        server.stop()


def main() -> None:
    parser = benchdb.parser(keep_help="reuse an existing bench database")
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--skip-pull", action="store_true")
    args = parser.parse_args()
    benchdb.prepare_database(BENCH_DB, keep=args.keep)

    import django

    django.setup()
    end = date(2026, 3, 31)
    start = end - timedelta(days=args.days - 1)
    cluster = seed(args.tenants, args.days, start)
    measure_pages(args.runs, end, f"t{min(42, args.tenants - 1):04d}")
    if not args.skip_pull:
        day = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        with tempfile.TemporaryDirectory(prefix="bench-costs-") as tmp:
            measure_pull(cluster, day, args.tenants, Path(tmp))


if __name__ == "__main__":
    main()
