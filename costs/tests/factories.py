"""Usage rows written straight to the rollup tables (no Prometheus): for page and API tests."""

from datetime import UTC, date, datetime, timedelta

from costs.models import HourlyUsage, Source
from costs.pricing import exact_fraction
from costs.services import rebuild_daily


def seed_usage(
    environment,
    profile,
    *,
    start: date,
    days: int,
    units: float = 1.0,
    utilization: float = 0.5,
    workload: str = "",
    requests_per_hour: float = 0.0,
    fb_peak_mib: float = 0.0,
    source: str = Source.PROMETHEUS,
) -> int:
    """Hourly rows for `days` days of one environment holding `units` of `profile`."""
    first = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    exact = exact_fraction(profile.gpu_fraction, replicas=profile.replicas)
    fraction = float(exact)
    rows = [
        HourlyUsage(
            cluster_id=environment.cluster_id,
            namespace=environment.namespace,
            workload=workload,
            resource_name=profile.resource_name,
            hour=first + timedelta(hours=h),
            tenant_id=environment.tenant_id,
            environment_id=environment.pk,
            profile_id=profile.pk,
            gpu_product=profile.gpu_product,
            gpu_model=profile.gpu_model,
            gpu_fraction=exact,
            unit_hours=units,
            gpu_hours=units * fraction,
            used_unit_hours=units * utilization,
            used_gpu_hours=units * utilization * fraction,
            fb_peak_mib=fb_peak_mib,
            requests=requests_per_hour,
            source=source,
        )
        for h in range(days * 24)
    ]
    HourlyUsage.objects.bulk_create(rows, batch_size=5000)
    rebuild_daily(cluster_id=environment.cluster_id, start=first, end=first + timedelta(days=days))
    return len(rows)
