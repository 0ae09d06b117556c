"""The Prometheus client: typed results from a real Prometheus, the cluster's bearer token on
every request, and failures sorted into transient (retried) and permanent ones."""

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clusters.prometheus import (
    PrometheusClient,
    PrometheusPermanentError,
    PrometheusTransientError,
)
from clusters.tests.factories import ClusterFactory
from portal.testing.prometheus import OpenMetrics, free_port, start_prometheus

pytestmark = pytest.mark.prometheus

BASE = datetime(2026, 1, 5, tzinfo=UTC)


def hours_after(hours: int) -> datetime:
    return BASE + timedelta(hours=hours)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    metrics = OpenMetrics()
    for minute in range(3 * 60):
        ts = int(BASE.timestamp()) + minute * 60 + 30
        metrics.add("DCGM_FI_DEV_GPU_UTIL", {"namespace": "alpha-prod", "gpu": "0"}, ts, 50)
    server = start_prometheus(metrics.text(), tmp_path_factory.mktemp("prom"))
    yield server
    server.stop()


class Recorder(BaseHTTPRequestHandler):
    """A stand-in HTTP server that answers a scripted status (a real Prometheus cannot be
    made to answer 503 or check a bearer token)."""

    answers: list = []
    seen: list = []

    delay = 0.0

    def do_GET(self):  # noqa: N802
        self.seen.append(dict(self.headers))
        time.sleep(self.delay)
        status, body = self.answers.pop(0) if self.answers else (200, _ok())
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out first (the slow-Prometheus test)

    def log_message(self, *args):
        pass


def _ok():
    return {"status": "success", "data": {"resultType": "matrix", "result": []}}


@pytest.fixture
def recorder():
    Recorder.answers, Recorder.seen, Recorder.delay = [], [], 0.0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _client(url, **kwargs):
    return PrometheusClient(url, retries=2, backoff=0.001, timeout=2, **kwargs)


def test_range_query_returns_typed_series_with_points_at_each_step(prometheus):
    series = _client(prometheus.url).query_range(
        'sum(DCGM_FI_DEV_GPU_UTIL{namespace="alpha-prod"})',
        start=hours_after(1),
        end=hours_after(3),
        step=3600,
    )

    assert len(series) == 1
    assert [ts for ts, _ in series[0].points] == [
        (BASE + timedelta(hours=h)).timestamp() for h in (1, 2, 3)
    ]


def test_bad_promql_is_a_permanent_error(prometheus):
    with pytest.raises(PrometheusPermanentError, match="400"):
        _client(prometheus.url).query_range(
            "sum(", start=hours_after(1), end=hours_after(2), step=3600
        )


def test_unreachable_prometheus_is_transient_after_retries():
    client = _client(f"http://127.0.0.1:{free_port()}")

    with pytest.raises(PrometheusTransientError, match="unreachable"):
        client.query("up", at=BASE)
    assert client.queries_sent == 3  # first try + 2 retries


def test_server_errors_are_retried_then_succeed(recorder):
    Recorder.answers = [(503, {"status": "error", "error": "overloaded"})]
    client = _client(recorder)

    assert client.query_range("up", start=BASE, end=BASE, step=60) == []
    assert client.queries_sent == 2


def test_refused_credentials_are_permanent_and_say_what_to_fix(recorder):
    Recorder.answers = [(401, {"status": "error", "error": "unauthorized"})]

    with pytest.raises(PrometheusPermanentError, match="Prometheus token"):
        _client(recorder).query("up", at=BASE)
    assert len(Recorder.seen) == 1


@pytest.mark.django_db
def test_client_for_cluster_sends_its_decrypted_bearer_token(recorder):
    cluster = ClusterFactory(prometheus_url=recorder, prometheus_token="s3cret-token")

    PrometheusClient.for_cluster(cluster).query_range("up", start=BASE, end=BASE, step=60)

    assert Recorder.seen[0]["Authorization"] == "Bearer s3cret-token"


@pytest.mark.django_db
def test_cluster_without_prometheus_url_is_a_permanent_error():
    with pytest.raises(PrometheusPermanentError, match="no Prometheus URL"):
        PrometheusClient.for_cluster(ClusterFactory(prometheus_url=""))


def test_slow_prometheus_times_out_as_a_transient_error(recorder):
    Recorder.delay = 0.5
    client = PrometheusClient(recorder, retries=1, backoff=0.001, timeout=0.1)

    with pytest.raises(PrometheusTransientError, match="too slow"):
        client.query("up", at=BASE)
    assert client.queries_sent == 2


def test_error_messages_never_show_credentials_in_the_url():
    url = f"http://scraper:hunter2@127.0.0.1:{free_port()}"

    with pytest.raises(PrometheusTransientError) as caught:
        PrometheusClient(url, retries=0).query("up", at=BASE)

    assert "hunter2" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)
