"""Demo usage for `make run`: 30 days of realistic hourly usage for the demo tenants' grants,
stored with source=demo (the pages say so), plus demo prices when the price book is empty."""

import math
import random
from datetime import timedelta
from decimal import Decimal

from django.apps import apps
from django.db import transaction
from django.utils import timezone

from tenants.models import QuotaGrant, Tenant

from .models import DailyUsage, HourlyUsage, PriceBookEntry, Source
from .pricing import exact_fraction
from .services import floor_hour, rebuild_daily

DAYS = 30
DEMO_PRICES = {  # on-demand-like hourly prices per whole GPU
    "NVIDIA H100 80GB HBM3": Decimal("4.10"),
    "NVIDIA A100-SXM4-40GB": Decimal("2.20"),
    "NVIDIA L4": Decimal("0.80"),
    "NVIDIA A10": Decimal("0.90"),
}
# environment -> (workload name suffix, base utilization, diurnal swing, requests/hour per unit)
PATTERNS = {
    "prod": ("serving", 0.62, 0.25, 9000.0),
    "staging": ("canary", 0.30, 0.15, 800.0),
    "dev": ("notebooks", 0.12, 0.10, 0.0),
}


def _demo_workload_names() -> dict[tuple[int, str], str]:
    """(tenant id, environment) -> the name of a demo workload the workloads app registered, so
    the cost pages break usage down by workloads that exist (serving in staging/prod, training
    in dev). Read through the app registry: costs keeps workloads as plain string keys."""
    if not apps.is_installed("workloads"):
        return {}
    workload_model = apps.get_model("workloads", "Workload")
    by_template: dict[tuple[int, str], str] = {}
    for tenant_id, name, template in workload_model.objects.order_by("name").values_list(
        "tenant_id", "name", "template"
    ):
        by_template.setdefault((tenant_id, template), name)
    names = {}
    for tenant_id, template in list(by_template):
        if template == "inference":
            names[(tenant_id, "prod")] = names[(tenant_id, "staging")] = by_template[
                (tenant_id, template)
            ]
        elif template == "training":
            names[(tenant_id, "dev")] = by_template[(tenant_id, template)]
    return names


def seed_demo(days: int = DAYS, seed: int = 5) -> int:
    """Idempotent: re-running replaces the demo hours, never real pulled rows."""
    rng = random.Random(seed)
    workload_names = _demo_workload_names()
    end = floor_hour(timezone.now())
    start = end - timedelta(days=days)
    grants = list(
        QuotaGrant.objects.filter(revoked_at__isnull=True, tenant__status=Tenant.Status.ACTIVE)
        .select_related("environment", "profile", "tenant")
        .order_by("pk")
    )
    rows = []
    for grant in grants:
        env = grant.environment
        suffix, base, swing, rps = PATTERNS.get(env.name, PATTERNS["dev"])
        workload = workload_names.get((grant.tenant_id, env.name), f"{grant.tenant.slug}-{suffix}")
        exact = exact_fraction(grant.profile.gpu_fraction, replicas=grant.profile.replicas)
        fraction = float(exact)
        memory_mib = grant.profile.memory_gb * 1024
        hour = start
        while hour < end:
            daytime = math.sin((hour.hour - 6) / 24 * 2 * math.pi)  # peak mid-afternoon UTC
            weekday = hour.weekday() < 5
            units = grant.guaranteed + (grant.burst if daytime > 0.5 and weekday else 0)
            if env.name == "dev" and (not weekday or daytime < -0.3):
                units = max(1, grant.guaranteed // 2)  # notebooks left running overnight
            util = base + swing * daytime + rng.uniform(-0.05, 0.05)
            util = min(max(util if weekday else util * 0.6, 0.01), 0.98)
            rows.append(
                HourlyUsage(
                    cluster_id=env.cluster_id,
                    namespace=env.namespace,
                    workload=workload,
                    resource_name=grant.profile.resource_name,
                    hour=hour,
                    tenant_id=grant.tenant_id,
                    environment_id=env.pk,
                    profile_id=grant.profile_id,
                    gpu_product=grant.profile.gpu_product,
                    gpu_model=grant.profile.gpu_model,
                    gpu_fraction=exact,
                    unit_hours=units,
                    gpu_hours=units * fraction,
                    used_unit_hours=units * util,
                    used_gpu_hours=units * util * fraction,
                    fb_peak_mib=memory_mib * min(0.35 + util / 2, 0.97),
                    requests=round(rps * units * util * rng.uniform(0.9, 1.1)),
                    source=Source.DEMO,
                )
            )
            hour += timedelta(hours=1)
    with transaction.atomic():
        clear_demo()  # workload names or the window may have moved since the last seed
        for gpu_model, price in DEMO_PRICES.items():
            if not PriceBookEntry.objects.filter(gpu_model=gpu_model).exists():
                PriceBookEntry.objects.create(
                    gpu_model=gpu_model,
                    hourly_price=price,
                    effective_from=(start - timedelta(days=365)).date(),
                    note="demo price",
                )
        HourlyUsage.objects.bulk_create(
            rows,
            batch_size=5000,
            update_conflicts=True,
            unique_fields=[
                "cluster", "namespace", "workload", "resource_name", "gpu_product", "hour",
            ],
            update_fields=[
                "tenant", "environment", "profile", "gpu_model", "gpu_fraction", "unit_hours",
                "gpu_hours", "used_unit_hours", "used_gpu_hours", "fb_peak_mib", "requests",
                "source",
            ],
        )  # fmt: skip
        rebuild_daily(cluster_id=None, start=start, end=end)
    return len(rows)


def clear_demo() -> None:
    HourlyUsage.objects.filter(source=Source.DEMO).delete()
    DailyUsage.objects.filter(source=Source.DEMO).delete()
