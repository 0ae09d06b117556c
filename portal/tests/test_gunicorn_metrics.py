"""Under gunicorn with several workers, one scrape counts the requests every worker served:
gunicorn.conf.py (picked up from the working directory, no flag) turns on prometheus_client's
multiprocess mode. A real gunicorn on a free 127.0.0.1 port, stopped by pid."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path):
    port = free_port()
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--workers", "2", "--no-control-socket"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "portal.settings"},
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        yield url, Path(log.name)
    finally:  # stopped by pid even when it never became ready
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(20)
        log.close()


def test_one_scrape_counts_the_requests_of_every_worker(gunicorn):
    url, log_path = gunicorn

    def hit(_):
        return requests.get(f"{url}/no-such-page/", timeout=10).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(hit, range(40))) == {404}

    text = requests.get(f"{url}/metrics", timeout=10).text
    counts = {
        s.labels["view"]: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "gpu_portal_http_request_duration_seconds_count"
        and s.labels["status"] == "404"
    }
    access = [
        json.loads(line)
        for line in log_path.read_text().splitlines()
        if line.startswith("{") and '"portal.request"' in line
    ]
    served_by = {entry["pid"] for entry in access if entry["http_path"] == "/no-such-page/"}
    assert len(served_by) == 2, "both workers should have served some requests"
    assert counts["unmatched"] == 40
    # gunicorn's own access log is silenced: one access line per request, the portal's
    assert len([e for e in access if e["http_path"] == "/no-such-page/"]) == 40
    assert not any(
        line for line in log_path.read_text().splitlines() if '"gunicorn.access"' in line
    )
