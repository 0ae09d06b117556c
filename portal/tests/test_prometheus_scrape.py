"""A real Prometheus (2.x, as in production) scrapes the live portal's /metrics with the bearer
token, is refused without it, and evaluates the portal's own rules on what it scraped: a tenant
change 20 minutes old puts GpuPortalSyncLagging in pending, the refused job GpuPortalWebDown."""

import json
import time
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone

from clusters.tests.factories import ClusterFactory
from portal.alerting import RULES_PATH
from portal.testing.prometheus import start_prometheus
from tenants.models import Tenant
from tenants.tests.factories import TenantFactory

pytestmark = [pytest.mark.prometheus, pytest.mark.django_db(transaction=True)]
TOKEN = "scrape-token-for-the-test"


def query(server, promql: str) -> list[dict]:
    url = f"{server.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - 127.0.0.1
        return json.load(response)["data"]["result"]


def alerts(server) -> list[dict]:
    with urllib.request.urlopen(f"{server.url}/api/v1/alerts", timeout=5) as response:  # noqa: S310
        return json.load(response)["data"]["alerts"]


def targets(server) -> list[tuple]:
    with urllib.request.urlopen(f"{server.url}/api/v1/targets", timeout=5) as response:  # noqa: S310
        active = json.load(response)["data"]["activeTargets"]
    return [(t["labels"]["job"], t["health"], t["lastError"]) for t in active]


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")


@pytest.fixture
def prometheus(live_server, tmp_path, settings):
    settings.PORTAL_METRICS_TOKEN = TOKEN
    # an empty queue of our own: the shared default one may hold other runs' messages
    settings.CELERY_TASK_DEFAULT_QUEUE = f"test-scrape-{time.monotonic_ns()}"
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    target = live_server.url.removeprefix("http://")
    config = f"""
# generous timeouts: a loaded test machine may take seconds to answer a scrape
global: {{scrape_interval: 3s, scrape_timeout: 3s, evaluation_interval: 1s}}
rule_files: ["{settings.BASE_DIR / RULES_PATH}"]
scrape_configs:
  - job_name: gpu-portal
    authorization: {{credentials_file: "{token_file}"}}
    static_configs: [{{targets: ["{target}"]}}]
  - job_name: gpu-portal-without-token
    static_configs: [{{targets: ["{target}"]}}]
"""
    server = start_prometheus(None, tmp_path / "prom", config=config)
    yield server
    server.stop()


def test_prometheus_scrapes_with_the_token_and_evaluates_the_portal_rules(prometheus):
    cluster = ClusterFactory(name="eu-1")
    TenantFactory(
        slug="late-team", cluster=cluster, status=Tenant.Status.ACTIVE,
        desired_generation=2, applied_generation=1,
        sync_pending_since=timezone.now() - timedelta(minutes=20),
    )  # fmt: skip

    def scraped():
        return query(prometheus, 'gpu_portal_tenants_sync_pending{job="gpu-portal"}')

    wait_for(scraped, timeout=90, what=lambda: f"a scrape of the portal: {targets(prometheus)}")
    assert float(scraped()[0]["value"][1]) == 1
    lag = query(prometheus, "gpu_portal_tenant_sync_lag_oldest_seconds")
    assert float(lag[0]["value"][1]) >= 20 * 60

    def up():
        return {r["metric"]["job"]: r["value"][1] for r in query(prometheus, "up")}

    # the two jobs are scraped independently: wait until both have been tried once
    wait_for(lambda: len(up()) == 2, timeout=30, what=lambda: f"both jobs scraped: {up()}")
    assert up() == {"gpu-portal": "1", "gpu-portal-without-token": "0"}

    def firing(name):
        return [a for a in alerts(prometheus) if a["labels"]["alertname"] == name]

    wait_for(lambda: firing("GpuPortalSyncLagging"), timeout=60, what="the sync lag alert")
    wait_for(lambda: firing("GpuPortalWebDown"), timeout=60, what="the refused-scrape alert")
    assert firing("GpuPortalSyncLagging")[0]["state"] == "pending"  # fires after `for: 2m`
    down = firing("GpuPortalWebDown")
    assert [a["labels"]["job"] for a in down] == ["gpu-portal-without-token"]
    names = {a["labels"]["alertname"] for a in alerts(prometheus)}
    assert names == {"GpuPortalSyncLagging", "GpuPortalWebDown"}
