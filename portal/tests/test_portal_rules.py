"""The portal's own alerting rules: valid for promtool and the PrometheusRule CRD, firing on the
conditions they name (promtool test rules on synthetic series), and the file committed in the
Helm chart is exactly what the renderer produces."""

import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import CommandError, call_command

from portal.alerting import (
    RULES_PATH,
    portal_rule_groups,
    render_prometheus_rule,
    render_rules_yaml,
)
from workloads.tests.schemas import validate_object

RULES = Path(settings.BASE_DIR) / RULES_PATH


@pytest.fixture
def rule_file(tmp_path):
    path = tmp_path / "portal-rules.yaml"
    path.write_text(render_rules_yaml())
    return path


def test_rendered_rules_pass_promtool_check_rules(rule_file):
    result = subprocess.run(
        ["promtool", "check", "rules", str(rule_file)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 5 rules found" in result.stdout


def test_the_prometheus_rule_object_passes_the_crd_schema():
    validate_object(render_prometheus_rule())


def test_the_committed_chart_file_equals_the_renderer_output():
    assert RULES.read_text() == render_rules_yaml(), (
        "run `manage.py render_portal_rules` and commit deploy/helm/gpu-portal/files/"
    )
    call_command("render_portal_rules", "--check")


def test_the_check_flag_fails_on_a_stale_file(tmp_path):
    stale = tmp_path / "rules.yaml"
    stale.write_text("groups: []\n")
    with pytest.raises(CommandError, match="out of date"):
        call_command("render_portal_rules", "--check", "--output", str(stale))
    call_command("render_portal_rules", "--output", str(stale))
    assert stale.read_text() == render_rules_yaml()


def test_every_alert_says_how_bad_and_where_to_look():
    for rule in portal_rule_groups()["groups"][0]["rules"]:
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["labels"]["service"] == "gpu-portal"
        assert rule["annotations"]["summary"] and rule["annotations"]["runbook_url"]


UNIT_TESTS = """
rule_files: [RULES]
evaluation_interval: 1m
tests:
  # a web pod that cannot be scraped for 5 minutes
  - interval: 1m
    input_series:
      - series: up{job="gpu-portal",instance="10.0.0.7:8000",pod="web-1"}
        values: 1 1 0x10
      - series: up{job="gpu-portal",instance="10.0.0.8:8000",pod="web-2"}
        values: 1x12
    alert_rule_test:
      - eval_time: 8m
        alertname: GpuPortalWebDown
        exp_alerts:
          - exp_labels:
              {severity: critical, service: gpu-portal, job: gpu-portal,
               instance: "10.0.0.7:8000", pod: web-1}
            exp_annotations: DOWN_ANNOTATIONS
  # a sync withheld: the oldest lag grows a minute per minute from 10 min
  - interval: 1m
    input_series:
      - series: gpu_portal_tenant_sync_lag_oldest_seconds{instance="web-1"}
        values: 600+60x20
    alert_rule_test:
      - {eval_time: 5m, alertname: GpuPortalSyncLagging, exp_alerts: []}
      - eval_time: 10m
        alertname: GpuPortalSyncLagging
        exp_alerts:
          - exp_labels: {severity: warning, service: gpu-portal}
            exp_annotations: SYNC_ANNOTATIONS
  # in sync: the gauge stays at 0
  - interval: 1m
    input_series:
      - series: gpu_portal_tenant_sync_lag_oldest_seconds{instance="web-1"}
        values: 0x60
    alert_rule_test:
      - {eval_time: 60m, alertname: GpuPortalSyncLagging, exp_alerts: []}
  # one cluster's usage pull is 4 h behind, another 1 h
  - interval: 5m
    input_series:
      - series: gpu_portal_usage_pull_lag_seconds{cluster="eu-1",instance="web-1"}
        values: 14400+300x10
      - series: gpu_portal_usage_pull_lag_seconds{cluster="us-1",instance="web-1"}
        values: 3600x10
    alert_rule_test:
      - eval_time: 15m
        alertname: GpuPortalUsagePullLagging
        exp_alerts:
          - exp_labels: {severity: warning, service: gpu-portal, cluster: eu-1}
            exp_annotations: PULL_ANNOTATIONS
  # 10 % of requests answer 500: critical; 1 %: quiet
  - interval: 1m
    input_series:
      - series: gpu_portal_http_request_duration_seconds_count{view="home",status="200"}
        values: 0+90x20
      - series: gpu_portal_http_request_duration_seconds_count{view="home",status="500"}
        values: 0+10x20
      - series: gpu_portal_http_request_duration_seconds_count{view="x",method="GET",status="200"}
        values: 0+0x20
    alert_rule_test:
      - eval_time: 15m
        alertname: GpuPortalHighErrorRatio
        exp_alerts:
          - exp_labels: {severity: critical, service: gpu-portal}
            exp_annotations: ERROR_ANNOTATIONS
  - interval: 1m
    input_series:
      - series: gpu_portal_http_request_duration_seconds_count{view="home",status="200"}
        values: 0+99x20
      - series: gpu_portal_http_request_duration_seconds_count{view="home",status="500"}
        values: 0+1x20
    alert_rule_test:
      - {eval_time: 15m, alertname: GpuPortalHighErrorRatio, exp_alerts: []}
"""


def expected_annotations(alert: str, **rendered: str) -> str:
    """The rule's annotations with each template expression replaced by what it should render
    to: promtool then checks the templates, not only that the alert fired."""
    rules = {r["alert"]: r for r in portal_rule_groups()["groups"][0]["rules"]}
    annotations = dict(rules[alert]["annotations"])
    for template, text in rendered.items():
        annotations = {k: v.replace(template, text) for k, v in annotations.items()}
    assert not any("{{" in v for v in annotations.values()), annotations
    return yaml.safe_dump(annotations, default_flow_style=True, width=10_000).strip()


def test_alerts_fire_on_breaching_series_and_stay_quiet_on_healthy_ones(rule_file, tmp_path):
    text = UNIT_TESTS.replace("RULES", str(rule_file))
    text = text.replace(
        "DOWN_ANNOTATIONS",
        expected_annotations(
            "GpuPortalWebDown",
            **{"{{ $labels.pod }}": "web-1", "{{ $labels.instance }}": "10.0.0.7:8000"},
        ),
    )
    text = text.replace(
        "SYNC_ANNOTATIONS",
        expected_annotations(
            "GpuPortalSyncLagging", **{"{{ $value | humanizeDuration }}": "20m 0s"}
        ),
    )
    text = text.replace(
        "PULL_ANNOTATIONS",
        expected_annotations(
            "GpuPortalUsagePullLagging",
            **{"{{ $labels.cluster }}": "eu-1", "{{ $value | humanizeDuration }}": "4h 15m 0s"},
        ),
    )
    text = text.replace(
        "ERROR_ANNOTATIONS",
        expected_annotations(
            "GpuPortalHighErrorRatio", **{"{{ $value | humanizePercentage }}": "10%"}
        ),
    )
    tests = tmp_path / "tests.yaml"
    tests.write_text(text)
    yaml.safe_load(tests.read_text())  # the test file itself is well-formed
    result = subprocess.run(
        ["promtool", "test", "rules", str(tests)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
