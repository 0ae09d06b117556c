"""/metrics: Prometheus text a real parser reads, behind the bearer token, and its gauges follow
the real sync engine (a withheld sync raises the lag, completing it brings it back to zero)."""

import time
from datetime import timedelta

import pytest
import redis
from django.db import transaction
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from clusters.models import SyncRun
from clusters.sync import run_tenant_sync
from clusters.tests.factories import ClusterFactory
from clusters.tests.sync_helpers import approved_tenant
from costs.models import ClusterPullStatus
from tenants.outbox import bump_desired_generation

pytestmark = pytest.mark.django_db


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels):
    return samples[(name, tuple(sorted(labels.items())))]


def test_metrics_parse_and_carry_every_documented_family(client):
    client.get("/healthz")
    samples = scrape(client)
    names = {name for name, _ in samples}
    assert {
        "gpu_portal_http_request_duration_seconds_bucket",
        "gpu_portal_tenants_sync_pending",
        "gpu_portal_tenant_sync_lag_oldest_seconds",
        "gpu_portal_database_up",
        "gpu_portal_broker_up",
        "gpu_portal_celery_queue_length",
    } <= names
    assert value(samples, "gpu_portal_database_up") == 1
    assert value(samples, "gpu_portal_broker_up") == 1


def test_request_latency_is_labelled_by_view_and_status(client, django_user_model):
    before = scrape(client)
    key = {"view": "login", "method": "GET", "status": "200"}
    count_before = before.get(
        ("gpu_portal_http_request_duration_seconds_count", tuple(sorted(key.items()))), 0
    )
    assert client.get("/accounts/login/").status_code == 200
    assert client.get("/no-such-page/").status_code == 404

    after = scrape(client)
    assert value(after, "gpu_portal_http_request_duration_seconds_count", **key) == count_before + 1
    assert value(
        after, "gpu_portal_http_request_duration_seconds_count",
        view="unmatched", method="GET", status="404",
    ) >= 1  # fmt: skip
    assert (
        value(after, "gpu_portal_http_request_duration_seconds_bucket", le="+Inf", **key)
        == count_before + 1
    )


def test_the_lag_gauge_rises_while_a_sync_is_withheld_and_falls_when_it_completes(
    client, kube_cluster
):
    tenant = approved_tenant(kube_cluster)  # bumped; its on_commit enqueue never runs here
    run_tenant_sync(tenant.pk)
    in_sync = scrape(client)
    assert value(in_sync, "gpu_portal_tenants_sync_pending") == 0
    assert value(in_sync, "gpu_portal_tenant_sync_lag_oldest_seconds") == 0

    with transaction.atomic():
        bump_desired_generation(tenant.pk)  # a change whose sync is withheld
    first = scrape(client)
    time.sleep(1.1)
    second = scrape(client)

    assert value(first, "gpu_portal_tenants_sync_pending") == 1
    lag_first = value(first, "gpu_portal_tenant_sync_lag_oldest_seconds")
    lag_second = value(second, "gpu_portal_tenant_sync_lag_oldest_seconds")
    assert lag_second >= lag_first + 1.0

    run_tenant_sync(tenant.pk)  # the withheld sync completes

    done = scrape(client)
    assert value(done, "gpu_portal_tenants_sync_pending") == 0
    assert value(done, "gpu_portal_tenant_sync_lag_oldest_seconds") == 0
    # the first sync wrote the objects; the completing one found them unchanged
    for result in ("succeeded", "noop"):
        runs = value(done, "gpu_portal_sync_runs_total", cluster=kube_cluster.name, result=result)
        assert runs == SyncRun.objects.filter(status=result, cluster=kube_cluster).count() == 1


def test_a_bump_during_a_lag_keeps_the_oldest_clock(kube_cluster):
    tenant = approved_tenant(kube_cluster)
    since = type(tenant).objects.get(pk=tenant.pk).sync_pending_since
    assert since is not None
    with transaction.atomic():
        bump_desired_generation(tenant.pk)
    assert type(tenant).objects.get(pk=tenant.pk).sync_pending_since == since


def test_usage_pull_lag_is_per_cluster_with_a_prometheus(client):
    now = timezone.now()
    pulled = ClusterFactory(name="pulled", prometheus_url="http://127.0.0.1:9/")
    ClusterPullStatus.objects.create(
        cluster=pulled, state="ok", pulled_until=now - timedelta(hours=4)
    )
    ClusterFactory(name="no-prometheus", prometheus_url="")

    samples = scrape(client)

    lag = value(samples, "gpu_portal_usage_pull_lag_seconds", cluster="pulled")
    assert 4 * 3600 <= lag < 4 * 3600 + 60
    assert ("gpu_portal_usage_pull_lag_seconds", (("cluster", "no-prometheus"),)) not in samples


def test_celery_queue_length_counts_the_waiting_messages(client, settings):
    queue = f"test-metrics-{time.monotonic_ns()}"
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    r = redis.Redis.from_url(settings.REDIS_URL)
    try:
        r.lpush(queue, "m1", "m2", "m3")
        r.lpush(f"{queue}\x06\x163", "m4")  # kombu's list for priority step 3
        samples = scrape(client)
    finally:
        r.delete(queue, f"{queue}\x06\x163")
        r.close()
    assert value(samples, "gpu_portal_celery_queue_length", queue=queue) == 4


def test_a_scrape_with_redis_down_reports_the_broker_down_and_still_answers(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    samples = scrape(client)
    assert value(samples, "gpu_portal_broker_up") == 0
    assert value(samples, "gpu_portal_database_up") == 1


def test_metrics_need_the_bearer_token_when_one_is_set(client, settings):
    settings.PORTAL_METRICS_TOKEN = "s3cret-scrape-token"
    missing = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    assert missing.status_code == wrong.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert b"gpu_portal" not in missing.content
    assert scrape(client, HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")


def test_probes_and_metrics_answer_any_host_over_plain_http(client, settings):
    """The kubelet and Prometheus call the pod IP over HTTP: no 400 DisallowedHost, no 301."""
    settings.ALLOWED_HOSTS = ["portal.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path, HTTP_HOST="10.1.2.3:8000").status_code == 200, path
    assert client.get("/accounts/login/", HTTP_HOST="10.1.2.3:8000").status_code == 400


def test_a_scrape_costs_the_same_queries_for_many_tenants(
    client, kube_cluster, django_assert_max_num_queries
):
    for i in range(5):
        approved_tenant(kube_cluster, slug=f"team-{i}")
    ClusterFactory(name="p1", prometheus_url="http://127.0.0.1:9/")
    ClusterFactory(name="p2", prometheus_url="http://127.0.0.1:9/")
    with django_assert_max_num_queries(3):
        scrape(client)


def test_check_deploy_warns_when_metrics_have_no_token(settings):
    from django.core.checks import run_checks

    settings.PORTAL_METRICS_TOKEN = ""
    assert "gpu_portal.W010" in {m.id for m in run_checks(include_deployment_checks=True)}
    settings.PORTAL_METRICS_TOKEN = "t0ken"
    assert "gpu_portal.W010" not in {m.id for m in run_checks(include_deployment_checks=True)}


def test_an_archived_tenant_waiting_for_deletion_confirmation_is_not_lagging(client, kube_cluster):
    from clusters.models import NamespaceDeletion
    from tenants.models import Tenant
    from tenants.tests.factories import TenantFactory

    since = timezone.now() - timedelta(hours=2)
    tenant = TenantFactory(
        slug="old-team", cluster=kube_cluster, status=Tenant.Status.ARCHIVED,
        desired_generation=3, applied_generation=2, sync_pending_since=since,
    )  # fmt: skip
    assert value(scrape(client), "gpu_portal_tenants_sync_pending") == 0

    NamespaceDeletion.objects.create(tenant_id=tenant.pk, tenant_slug=tenant.slug)
    confirmed = scrape(client)
    assert value(confirmed, "gpu_portal_tenants_sync_pending") == 1
    assert value(confirmed, "gpu_portal_tenant_sync_lag_oldest_seconds") >= 2 * 3600
