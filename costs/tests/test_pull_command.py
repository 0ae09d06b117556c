"""manage.py pull_usage and the hourly beat task."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from costs.models import HourlyUsage
from costs.tasks import pull_all_usage, pull_cluster_usage
from costs.tests.dataset import hours_after
from portal.celery import app

pytestmark = pytest.mark.prometheus


def test_pull_usage_command_pulls_the_given_hours(world, prometheus):
    cluster, *_ = world(prometheus.url)
    out, err = StringIO(), StringIO()

    call_command(
        "pull_usage", "--cluster", cluster.name, "--start", "2026-01-05T00:00",
        "--end", "2026-01-05T06:00", stdout=out, stderr=err,
    )  # fmt: skip

    assert set(HourlyUsage.objects.values_list("hour", flat=True)) == {
        hours_after(h) for h in range(6)
    }
    assert "7 queries" in out.getvalue()
    assert "7/7" in err.getvalue()  # the progress bar


def test_pull_usage_command_names_an_unknown_cluster(db):
    with pytest.raises(CommandError, match="no cluster named 'nope'"):
        call_command("pull_usage", "--cluster", "nope")


def test_pull_usage_command_rejects_a_bad_date(world, prometheus):
    cluster, *_ = world(prometheus.url)

    with pytest.raises(CommandError, match="not an ISO date"):
        call_command("pull_usage", "--cluster", cluster.name, "--start", "5 Jan")


def test_pull_task_resumes_and_is_safe_to_run_twice(world, prometheus, settings, monkeypatch):
    cluster, *_ = world(prometheus.url)
    settings.COSTS_BACKFILL_DAYS = 1
    settings.COSTS_PULL_DELAY_MINUTES = 0
    # the task reads "now" from the clock: freeze it at the end of the generated data
    import costs.services as services

    monkeypatch.setattr(services.timezone, "now", lambda: hours_after(24) + timedelta(minutes=5))

    pull_cluster_usage.apply(args=[cluster.pk])
    first = HourlyUsage.objects.count()
    pull_cluster_usage.apply(args=[cluster.pk])

    assert first > 0
    assert HourlyUsage.objects.count() == first


def test_hourly_pull_is_registered_with_beat():
    app.loader.import_default_modules()
    app.finalize()
    schedule = app.conf.beat_schedule

    assert any(entry["task"] == pull_all_usage.name for entry in schedule.values())
