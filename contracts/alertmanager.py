"""The Alertmanager routing tree and receivers generated from the on-call directory and the
alert tables of every interface document: alerts page the team their `team` label names, with
a route per (team, signal) pair the documents use. Pure: rows in, a config dict/YAML out."""

import yaml
from django.conf import settings

GROUP_BY = ["alertname", "tenant", "workload", "environment"]
DEFAULT_RECEIVER = "gpu-portal-unrouted"


def receiver_for(team) -> dict:
    receiver: dict = {"name": team.name}
    if team.pager_url:
        receiver["webhook_configs"] = [{"url": team.pager_url, "send_resolved": True}]
    if team.email:
        receiver["email_configs"] = [{"to": team.email, "send_resolved": True}]
    chat_url = getattr(settings, "PORTAL_CHAT_WEBHOOK_URL", "")
    if team.chat_channel and chat_url:
        receiver["slack_configs"] = [
            {"api_url": chat_url, "channel": team.chat_channel, "send_resolved": True}
        ]
    return receiver


def build_config(teams, signals_by_team: dict[str, set[str]]) -> dict:
    """`teams`: OnCallTeam rows; `signals_by_team`: team name -> signals that page it."""
    routes = []
    for team in teams:
        signals = sorted(signals_by_team.get(team.name, ()))
        route: dict = {"receiver": team.name, "matchers": [f'team="{team.name}"']}
        if signals:
            route["routes"] = [
                {
                    "receiver": team.name,
                    "matchers": [f'signal="{signal}"'],
                    # hardware signals repeat less: a node fix takes longer than a rollback
                    "repeat_interval": "12h" if signal in ("xid", "gpu-memory") else "1h",
                }
                for signal in signals
            ]
        routes.append(route)
    return {
        "global": {
            "resolve_timeout": "5m",
            "smtp_smarthost": getattr(settings, "PORTAL_ALERT_SMTP_SMARTHOST", "localhost:25"),
            "smtp_from": getattr(settings, "PORTAL_ALERT_SMTP_FROM", "alertmanager@gpu-portal"),
            "smtp_require_tls": False,
        },
        "route": {
            "receiver": DEFAULT_RECEIVER,
            "group_by": GROUP_BY,
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": routes,
        },
        "inhibit_rules": [
            {
                # a GPU Xid error explains the latency and error-budget alerts of the same pods
                "source_matchers": ['signal="xid"'],
                "target_matchers": ['signal=~"latency|availability"'],
                "equal": ["tenant", "workload", "environment"],
            }
        ],
        "receivers": [{"name": DEFAULT_RECEIVER}] + [receiver_for(t) for t in teams],
    }


def to_yaml(config: dict) -> str:
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False)


def _matches(matcher: str, labels: dict[str, str]) -> bool:
    """One matcher of the forms the generated routing uses: name="v", name=~"re", name!="v"."""
    import re

    for op in ("!~", "=~", "!=", "="):
        name, sep, value = matcher.partition(op)
        if sep:
            break
    value = value.strip().strip('"')
    actual = labels.get(name.strip(), "")
    if op == "=":
        return actual == value
    if op == "!=":
        return actual != value
    found = re.fullmatch(value, actual) is not None
    return found if op == "=~" else not found


def receivers_for(config: dict, labels: dict[str, str]) -> list[str]:
    """The receivers Alertmanager routes an alert with these labels to (first matching child
    wins at each level, `continue` goes on; no matching child: the parent's receiver)."""

    def walk(route: dict, inherited: str) -> list[str]:
        receiver = route.get("receiver", inherited)
        found: list[str] = []
        for child in route.get("routes", []):
            if all(_matches(m, labels) for m in child.get("matchers", [])):
                found.extend(walk(child, receiver))
                if not child.get("continue"):
                    break
        return found or [receiver]

    return walk(config["route"], DEFAULT_RECEIVER)
