"""Generated alerting rules: valid for promtool and the PrometheusRule CRD, and `promtool test
rules` proves the latency and burn-rate alerts fire on breaching series and stay quiet otherwise."""

import subprocess

import pytest
import yaml

from contracts.manifests import render_prometheus_rule
from contracts.rules import RuleInput, rules_spec
from workloads.tests.schemas import validate_object

from .examples import example_content

NS = 'namespace="search-prod"'


def rule_input(**content_changes) -> RuleInput:
    content = example_content()
    content.update(content_changes)
    return RuleInput(
        tenant="search",
        workload="ranker",
        environment="prod",
        namespace="search-prod",
        template="inference",
        content=content,
    )


def rules_by_name(spec):
    return {r["alert"]: r for r in spec["groups"][0]["rules"]}


@pytest.fixture
def rule_file(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules_spec(rule_input()), sort_keys=False))
    return path


def test_generated_rules_pass_promtool_check_rules(rule_file):
    result = subprocess.run(
        ["promtool", "check", "rules", str(rule_file)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 6 rules found" in result.stdout


def test_prometheus_rule_object_passes_the_crd_schema():
    validate_object(render_prometheus_rule(rule_input()))


def test_every_alert_is_labelled_team_tenant_workload_severity_and_signal():
    for rule in rules_spec(rule_input())["groups"][0]["rules"]:
        labels = rule["labels"]
        assert {"team", "tenant", "workload", "severity", "signal"} <= set(labels)
        assert labels["tenant"] == "search" and labels["workload"] == "ranker"


def test_alerts_page_the_team_the_document_names_per_signal():
    rules = rules_by_name(rules_spec(rule_input()))
    assert rules["WorkloadLatencyOverSLO"]["labels"]["team"] == "sre-core"
    assert rules["WorkloadAccuracyDrift"]["labels"]["team"] == "search-ml"
    assert rules["WorkloadGpuMemoryExhausted"]["labels"]["team"] == "gpu-platform"
    # no xid row: the platform contact owns GPU hardware signals
    assert rules["WorkloadGpuXidError"]["labels"]["team"] == "gpu-platform"


def test_gpu_alerts_are_scoped_to_the_workloads_pods():
    rules = rules_by_name(rules_spec(rule_input()))
    for name in ("WorkloadGpuMemoryExhausted", "WorkloadGpuXidError"):
        assert f'{NS},pod=~"ranker-(canary-)?[a-z0-9]+-[a-z0-9]{{5}}"' in rules[name]["expr"]
    assert "DCGM_FI_DEV_FB_USED" in rules["WorkloadGpuMemoryExhausted"]["expr"]
    assert "> 0.95" in rules["WorkloadGpuMemoryExhausted"]["expr"]
    assert "DCGM_FI_DEV_XID_ERRORS" in rules["WorkloadGpuXidError"]["expr"]


def test_no_accuracy_drift_alert_without_a_named_metric():
    content = example_content()
    content["model"]["accuracy_metric"] = ""
    spec = rules_spec(rule_input(model=content["model"]))
    assert "WorkloadAccuracyDrift" not in rules_by_name(spec)


def test_burn_rate_thresholds_are_multiples_of_the_error_budget():
    rules = rules_by_name(rules_spec(rule_input()))
    assert "> 0.0144" in rules["WorkloadErrorBudgetBurn1h"]["expr"]
    assert "[5m]" in rules["WorkloadErrorBudgetBurn1h"]["expr"]
    assert "> 0.006" in rules["WorkloadErrorBudgetBurn6h"]["expr"]
    assert "[30m]" in rules["WorkloadErrorBudgetBurn6h"]["expr"]


def _expected(rule) -> list:
    return [{"exp_labels": rule["labels"], "exp_annotations": rule["annotations"]}]


def _latency_series(pod: str, slow: bool) -> list[dict]:
    # one request per second; healthy ones all finish within 100 ms, slow ones take 0.5-1 s
    fast = "0+0x90" if slow else "0+60x90"
    rows = []
    for le in ("0.1", "0.25", "0.5"):
        rows.append((le, fast))
    rows += [("1", "0+60x90"), ("+Inf", "0+60x90")]
    return [
        {
            "series": f'inference_request_duration_seconds_bucket{{{NS},pod="{pod}",le="{le}"}}',
            "values": values,
        }
        for le, values in rows
    ]


def _request_series(pod: str, errors_per_min: int) -> list[dict]:
    return [
        {
            "series": f'inference_requests_total{{{NS},pod="{pod}",code="200"}}',
            "values": "0+1000x480",
        },
        {
            "series": f'inference_requests_total{{{NS},pod="{pod}",code="500"}}',
            "values": f"0+{errors_per_min}x480",
        },
    ]


def test_promtool_unit_tests_prove_latency_and_burn_rate_alerts(rule_file, tmp_path):
    rules = rules_by_name(rules_spec(rule_input()))
    latency = rules["WorkloadLatencyOverSLO"]
    fast_burn = rules["WorkloadErrorBudgetBurn1h"]
    slow_burn = rules["WorkloadErrorBudgetBurn6h"]
    tests = {
        "rule_files": [rule_file.name],
        "evaluation_interval": "1m",
        "tests": [
            {  # P99 of 0.5-1 s against a 250 ms SLO: fires after its 5 minutes (canary too)
                "interval": "1m",
                "input_series": _latency_series("ranker-canary-7d9f8c6b5-abcde", slow=True),
                "alert_rule_test": [
                    {"eval_time": "3m", "alertname": latency["alert"], "exp_alerts": []},
                    {
                        "eval_time": "30m",
                        "alertname": latency["alert"],
                        "exp_alerts": _expected(latency),
                    },
                ],
            },
            {  # healthy latency: quiet
                "interval": "1m",
                "input_series": _latency_series("ranker-7d9f8c6b5-abcde", slow=False),
                "alert_rule_test": [
                    {"eval_time": "30m", "alertname": latency["alert"], "exp_alerts": []}
                ],
            },
            {  # another workload's slow pods, even one named ranker-v2, do not page this one
                "interval": "1m",
                "input_series": _latency_series("ranker-v2-5c4b8d7f9-xkq2z", slow=True)
                + _latency_series("embedder-5c4b8d7f9-xkq2z", slow=True),
                "alert_rule_test": [
                    {"eval_time": "30m", "alertname": latency["alert"], "exp_alerts": []}
                ],
            },
            {  # 9 % errors against a 0.1 % budget burns it 90x: both windows page
                "interval": "1m",
                "input_series": _request_series("ranker-7d9f8c6b5-abcde", errors_per_min=100),
                "alert_rule_test": [
                    {
                        "eval_time": "90m",
                        "alertname": fast_burn["alert"],
                        "exp_alerts": _expected(fast_burn),
                    },
                    {
                        "eval_time": "420m",
                        "alertname": slow_burn["alert"],
                        "exp_alerts": _expected(slow_burn),
                    },
                ],
            },
            {  # 0.1 % errors is exactly the budget (1x burn): quiet
                "interval": "1m",
                "input_series": _request_series("ranker-7d9f8c6b5-abcde", errors_per_min=1),
                "alert_rule_test": [
                    {"eval_time": "90m", "alertname": fast_burn["alert"], "exp_alerts": []},
                    {"eval_time": "420m", "alertname": slow_burn["alert"], "exp_alerts": []},
                ],
            },
        ],
    }
    test_file = tmp_path / "rules_test.yaml"
    test_file.write_text(yaml.safe_dump(tests, sort_keys=False))
    result = subprocess.run(
        ["promtool", "test", "rules", str(test_file)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_unit_test_would_catch_a_quiet_latency_alert(rule_file, tmp_path):
    """The harness itself can fail: expecting an alert on healthy series is reported."""
    latency = rules_by_name(rules_spec(rule_input()))["WorkloadLatencyOverSLO"]
    tests = {
        "rule_files": [rule_file.name],
        "tests": [
            {
                "interval": "1m",
                "input_series": _latency_series("ranker-7d9f8c6b5-abcde", slow=False),
                "alert_rule_test": [
                    {
                        "eval_time": "30m",
                        "alertname": latency["alert"],
                        "exp_alerts": _expected(latency),
                    }
                ],
            }
        ],
    }
    test_file = tmp_path / "rules_test.yaml"
    test_file.write_text(yaml.safe_dump(tests))
    result = subprocess.run(
        ["promtool", "test", "rules", str(test_file)], capture_output=True, text=True
    )
    assert result.returncode == 1
