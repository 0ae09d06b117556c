"""PromQL and alerting rules generated from an interface document (pure: plain data in, a
PrometheusRule spec out): P99 latency vs the SLO, multi-window multi-burn-rate availability,
GPU memory exhaustion and Xid errors from DCGM, and accuracy drift where a metric is named."""

from dataclasses import dataclass, field
from decimal import Decimal

from . import sli

# (long window, short window, burn-rate factor, for, severity): the SRE workbook's pair of
# multi-window alerts that page on a 2 % / 5 % error-budget burn of a 30-day budget.
BURN_RATE_WINDOWS = [
    ("1h", "5m", Decimal("14.4"), "2m", "critical"),
    ("6h", "30m", Decimal("6"), "15m", "critical"),
]
DEFAULT_GPU_MEMORY_RATIO = Decimal("0.95")
SIGNAL_DEFAULT_OWNER = {
    "latency": "sre_contact",
    "availability": "sre_contact",
    "gpu-memory": "platform_contact",
    "xid": "platform_contact",
    "accuracy-drift": "owner_team",
}


@dataclass(frozen=True)
class RuleInput:
    tenant: str
    workload: str
    environment: str
    namespace: str
    template: str
    content: dict = field(hash=False)


def ratio(text: str, default: Decimal) -> Decimal:
    """'95%' -> 0.95, '0.95' -> 0.95, '' -> default."""
    text = (text or "").strip()
    if not text:
        return default
    if text.endswith("%"):
        return Decimal(text[:-1].strip()) / 100
    value = Decimal(text)
    return value / 100 if value > 1 else value


def num(value: Decimal) -> str:
    return f"{value.normalize():f}"


def selector(rule_input: RuleInput, extra: str = "") -> str:
    return sli.selector(rule_input.namespace, rule_input.workload, extra)


def latency_expr(rule_input: RuleInput, latency_ms: int, window: str = "5m") -> str:
    seconds = num(Decimal(latency_ms) / 1000)
    return (
        f"{sli.p99_latency_seconds(rule_input.namespace, rule_input.workload, window)} > {seconds}"
    )


def error_ratio(rule_input: RuleInput, window: str) -> str:
    return sli.error_ratio(rule_input.namespace, rule_input.workload, window)


def burn_rate_expr(rule_input: RuleInput, availability_pct: Decimal, long, short, factor) -> str:
    budget = (Decimal(100) - Decimal(availability_pct)) / 100
    threshold = num(factor * budget)
    return (
        f"{error_ratio(rule_input, long)} > {threshold}\n"
        f"and\n{error_ratio(rule_input, short)} > {threshold}"
    )


def gpu_memory_expr(rule_input: RuleInput, limit: Decimal) -> str:
    sel = selector(rule_input)
    return (
        f"max by (pod) (DCGM_FI_DEV_FB_USED{sel} / "
        f"(DCGM_FI_DEV_FB_USED{sel} + DCGM_FI_DEV_FB_FREE{sel})) > {num(limit)}"
    )


def xid_expr(rule_input: RuleInput) -> str:
    return f"max by (pod) (DCGM_FI_DEV_XID_ERRORS{selector(rule_input)}) != 0"


def drift_expr(rule_input: RuleInput, metric: str, limit: Decimal) -> str:
    return f"max({metric}{selector(rule_input)}) > {num(limit)}"


def _team_for(content: dict, signal: str, policies: dict) -> str | None:
    if signal in policies:
        return policies[signal]["paged_team"]
    owner_field = SIGNAL_DEFAULT_OWNER[signal]
    return content["ownership"].get(owner_field) or content["ownership"].get("sre_contact")


def alert_rules(rule_input: RuleInput) -> list[dict]:
    content = rule_input.content
    slos = content["slos"]
    policies = {a["signal"]: a for a in content["alerts"]}
    rules: list[dict] = []

    def add(name, signal, expr, for_, severity, summary):
        team = _team_for(content, signal, policies)
        if team is None:
            return
        rule = {
            "alert": name,
            "expr": expr,
            "labels": {
                "team": team,
                "tenant": rule_input.tenant,
                "workload": rule_input.workload,
                "environment": rule_input.environment,
                "severity": severity,
                "signal": signal,
            },
            "annotations": {
                "summary": summary,
                "description": (
                    f"{rule_input.workload} in {rule_input.namespace}: {summary}. "
                    "See its interface document in gpu-portal."
                ),
            },
        }
        if for_:
            rule["for"] = for_
        rules.append(rule)

    serves = rule_input.template == "inference"
    if serves and slos.get("p99_latency_ms"):
        window = policies.get("latency", {}).get("window") or "5m"
        add(
            "WorkloadLatencyOverSLO",
            "latency",
            latency_expr(rule_input, int(slos["p99_latency_ms"])),
            window,
            "critical",
            f"P99 latency above the {slos['p99_latency_ms']} ms SLO for {window}",
        )
    if serves and slos.get("availability_pct"):
        for long, short, factor, for_, severity in BURN_RATE_WINDOWS:
            add(
                f"WorkloadErrorBudgetBurn{long}",
                "availability",
                burn_rate_expr(rule_input, Decimal(slos["availability_pct"]), long, short, factor),
                for_,
                severity,
                f"burning the {slos['availability_pct']} % availability error budget "
                f"{num(factor)}x too fast over {long} and {short}",
            )
    memory = policies.get("gpu-memory", {})
    limit = ratio(memory.get("threshold", ""), DEFAULT_GPU_MEMORY_RATIO)
    add(
        "WorkloadGpuMemoryExhausted",
        "gpu-memory",
        gpu_memory_expr(rule_input, limit),
        memory.get("window") or "5m",
        "critical",
        f"GPU framebuffer over {num(limit * 100)} % used",
    )
    add(
        "WorkloadGpuXidError",
        "xid",
        xid_expr(rule_input),
        policies.get("xid", {}).get("window") or "",
        "critical",
        "the GPU reported an Xid error",
    )
    model = content["model"]
    if model.get("accuracy_metric"):
        drift = policies.get("accuracy-drift", {})
        default = Decimal(model.get("accuracy_drift_pct") or "5") / 100
        limit = ratio(drift.get("threshold", ""), default)
        add(
            "WorkloadAccuracyDrift",
            "accuracy-drift",
            drift_expr(rule_input, model["accuracy_metric"], limit),
            drift.get("window") or "30m",
            "warning",
            f"model accuracy drifted over {num(limit * 100)} %",
        )
    return rules


def rule_group_name(rule_input: RuleInput) -> str:
    return f"gpu-portal.{rule_input.tenant}.{rule_input.workload}.{rule_input.environment}"


def rules_spec(rule_input: RuleInput) -> dict:
    """A PrometheusRule spec; also a valid `promtool check rules` file as it is."""
    return {"groups": [{"name": rule_group_name(rule_input), "rules": alert_rules(rule_input)}]}
