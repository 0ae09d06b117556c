"""Month-end forecast, the 10x projection and the waste flags (pure functions)."""

from datetime import date
from decimal import Decimal

from costs import forecast


def test_month_end_forecast_adds_the_trailing_daily_average_for_the_days_left():
    result = forecast.month_end_forecast(
        month_to_date=Decimal("100"),
        trailing_cost=Decimal("70"),
        trailing_days=7,
        as_of=date(2026, 4, 20),
    )

    assert result == Decimal("200")  # 10 days left at 10 a day


def test_forecast_on_the_last_day_is_month_to_date():
    result = forecast.month_end_forecast(
        month_to_date=Decimal("42"),
        trailing_cost=Decimal("70"),
        trailing_days=7,
        as_of=date(2026, 2, 28),
    )

    assert result == Decimal("42")


def test_ten_x_says_which_profile_runs_out_first():
    result = forecast.project_scale(
        tenant_units={"nvidia.com/gpu": 2, "nvidia.com/mig-1g.10gb": 1},
        cluster_units={"nvidia.com/gpu": 6, "nvidia.com/mig-1g.10gb": 1},
        capacity={"nvidia.com/gpu": 16, "nvidia.com/mig-1g.10gb": 14},
    )

    first = result[0]
    assert first.profile == "nvidia.com/gpu"  # 4 others + 20 > 16
    assert first.runs_out
    assert not result[1].runs_out  # 10 of 14


def test_ten_x_of_a_profile_the_cluster_lacks_runs_out():
    [only] = forecast.project_scale(
        tenant_units={"nvidia.com/gpu": 1}, cluster_units={"nvidia.com/gpu": 1}, capacity={}
    )

    assert only.runs_out


def test_tenant_under_sixty_percent_is_flagged():
    [flag] = forecast.flag_under_utilized(tenant="alpha", utilization=0.59, gpu_hours=10)

    assert flag.kind == "under-utilized"
    assert forecast.flag_under_utilized(tenant="alpha", utilization=0.6, gpu_hours=10) == []


def _idle(hours, util):
    return {
        "namespace": "a-dev", "workload": "nb", "resource_name": "nvidia.com/gpu",
        "hours": hours, "unit_hours": hours * 2.0, "used_unit_hours": hours * 2.0 * util,
    }  # fmt: skip


def test_gpu_under_five_percent_for_a_whole_day_is_flagged():
    [flag] = forecast.flag_idle_allocations([_idle(24, 0.04)])

    assert flag.subject == "a-dev/nb"
    assert forecast.flag_idle_allocations([_idle(24, 0.05)]) == []
    assert forecast.flag_idle_allocations([_idle(23, 0.0)]) == []  # not a full day yet


def _job(days, util, requests=0.0):
    return {
        "namespace": "a-dev", "workload": "train", "days": days, "gpu_hours": 100.0,
        "used_gpu_hours": 100.0 * util, "requests": requests,
    }  # fmt: skip


def test_training_job_running_longer_than_n_days_at_low_utilization_is_flagged():
    assert [f.kind for f in forecast.flag_forgotten_jobs([_job(5, 0.1)], 3)] == ["forgotten-job"]
    assert forecast.flag_forgotten_jobs([_job(3, 0.1)], 3) == []
    assert forecast.flag_forgotten_jobs([_job(5, 0.5)], 3) == []
    assert forecast.flag_forgotten_jobs([_job(5, 0.1, requests=10)], 3) == []  # serving traffic


def test_right_sizing_when_peak_memory_and_utilization_stay_far_below_the_request():
    group = {
        "namespace": "a-prod", "workload": "ranker", "resource_name": "nvidia.com/gpu",
        "memory_gb": 80, "fb_peak_mib": 9 * 1024, "peak_utilization": 0.2,
    }  # fmt: skip

    [flag] = forecast.flag_right_sizing([group])
    assert "smaller profile" in flag.message
    assert forecast.flag_right_sizing([{**group, "peak_utilization": 0.7}]) == []
    assert forecast.flag_right_sizing([{**group, "fb_peak_mib": 60 * 1024}]) == []


def test_forecast_averages_over_the_days_a_new_tenant_has_existed():
    assert forecast.days_observed(date(2026, 3, 1), date(2026, 2, 25), date(2026, 3, 3)) == 3
    assert forecast.days_observed(date(2026, 1, 1), date(2026, 2, 25), date(2026, 3, 3)) == 7
    assert forecast.days_observed(None, date(2026, 2, 25), date(2026, 3, 3)) == 0
