"""The interface document as plain data: built from rows, rendered to Markdown (the shape teams
write by hand), parsed back from that Markdown, and diffed between versions. Pure functions."""

import re
from decimal import Decimal

EMPTY = "—"

SECTION_TITLES = {
    "ownership": "Ownership",
    "model": "Model",
    "slos": "SLOs",
    "resources": "Resources",
    "alerts": "Alerts",
    "rollback": "Rollback",
}
FIELD_LABELS = {
    "owner_team": "Owner team",
    "platform_contact": "Platform contact",
    "sre_contact": "SRE contact",
    "model_name": "Model",
    "model_artifact": "Artifact",
    "accuracy_metric": "Accuracy metric",
    "accuracy_drift_pct": "Accuracy drift threshold",
    "p99_latency_ms": "P99 latency",
    "availability_pct": "Availability",
    "max_cold_start_s": "Max cold start",
    "gpu_profile": "GPU profile",
    "gpus_per_replica": "GPUs per replica",
    "min_replicas": "Min replicas",
    "max_replicas": "Max replicas",
    "model_memory_gb": "Model size in GPU memory",
    "automated_trigger": "Automated trigger",
    "manual_owner": "Manual decision owner",
}
UNITS = {
    "p99_latency_ms": "ms",
    "availability_pct": "%",
    "max_cold_start_s": "s",
    "accuracy_drift_pct": "%",
    "model_memory_gb": "GB",
}
OWNERSHIP_FIELDS = ["owner_team", "platform_contact", "sre_contact"]
MODEL_FIELDS = ["model_name", "model_artifact", "accuracy_metric", "accuracy_drift_pct"]
SLO_FIELDS = ["p99_latency_ms", "availability_pct", "max_cold_start_s"]
RESOURCE_FIELDS = [
    "gpu_profile",
    "gpus_per_replica",
    "min_replicas",
    "max_replicas",
    "model_memory_gb",
]
ROLLBACK_FIELDS = ["automated_trigger", "manual_owner"]
ALERT_COLUMNS = ["signal", "threshold", "window", "paged_team"]
TEAM_FIELDS = {"owner_team", "platform_contact", "sre_contact", "manual_owner", "paged_team"}
INT_FIELDS = {
    "p99_latency_ms",
    "max_cold_start_s",
    "gpus_per_replica",
    "min_replicas",
    "max_replicas",
    "model_memory_gb",
}


def decimal_text(value) -> str | None:
    if value is None or value == "":
        return None
    return f"{Decimal(value).normalize():f}"


def _team(team) -> str | None:
    return team.name if team is not None else None


def build_content(document, workload, revision) -> dict:
    """The document's values as plain data. `revision` supplies the derived resources."""
    model_artifact = ""
    resources: dict = {}
    if revision is not None:
        model_artifact = revision.model_uri
        if revision.model_digest:
            model_artifact += f"@{revision.model_digest}"
        resources = {
            "gpu_profile": revision.profile.name,
            "gpus_per_replica": revision.gpus_per_replica,
            "min_replicas": revision.min_replicas,
            "max_replicas": revision.max_replicas,
            "model_memory_gb": revision.model_memory_gb,
        }
    return {
        "workload": workload.name,
        "tenant": workload.tenant.slug,
        "template": workload.template,
        "ownership": {
            "owner_team": _team(document.owner_team),
            "platform_contact": _team(document.platform_contact),
            "sre_contact": _team(document.sre_contact),
        },
        "model": {
            "model_name": document.model_name,
            "model_artifact": model_artifact,
            "accuracy_metric": document.accuracy_metric,
            "accuracy_drift_pct": decimal_text(document.accuracy_drift_pct),
        },
        "slos": {
            "p99_latency_ms": document.p99_latency_ms,
            "availability_pct": decimal_text(document.availability_pct),
            "max_cold_start_s": document.max_cold_start_s,
        },
        "resources": resources,
        "alerts": sorted(
            (
                {
                    "signal": a.signal,
                    "threshold": a.threshold,
                    "window": a.window,
                    "paged_team": a.paged_team.name,
                }
                for a in document.alerts.all()
            ),
            key=lambda a: a["signal"],
        ),
        "rollback": {
            "automated_trigger": document.rollback_trigger,
            "manual_owner": _team(document.rollback_owner),
        },
    }


# ---- Markdown ----------------------------------------------------------------------------


def _cell(text) -> str:
    text = "" if text is None else str(text)
    if text == "":
        return EMPTY
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _value_cell(field: str, value, directory: dict) -> str:
    if value is None or value == "":
        return EMPTY
    if field in TEAM_FIELDS:
        team = directory.get(value)
        contact = f" ({_cell(team.contact)})" if team is not None and team.contact else ""
        return f"`{value}`{contact}"
    if field == "accuracy_metric":
        return f"`{value}`"
    unit = UNITS.get(field)
    return f"{_cell(value)} {unit}" if unit else _cell(value)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _field_table(section: dict, fields: list[str], directory: dict) -> list[str]:
    rows = [[FIELD_LABELS[f], _value_cell(f, section.get(f), directory)] for f in fields]
    return _table(["Field", "Value"], rows)


def render_markdown(content: dict, *, version: int, directory: dict, sign_off: str = "") -> str:
    """`directory` maps on-call team names to OnCallTeam rows (for their contact columns)."""
    lines = [
        f"# Interface document: {content['workload']}",
        "",
        f"Tenant: `{content['tenant']}` · Template: {content['template']} · Version: {version}",
        "",
        "## Ownership",
        "",
    ]
    lines += _field_table(content["ownership"], OWNERSHIP_FIELDS, directory)
    lines += ["", "## Model", ""]
    lines += _field_table(content["model"], MODEL_FIELDS, directory)
    lines += ["", "## SLOs", ""]
    lines += _field_table(content["slos"], SLO_FIELDS, directory)
    lines += ["", "## Resources", ""]
    if content["resources"]:
        lines.append("Derived from the workload's latest revision.")
        lines.append("")
        lines += _field_table(content["resources"], RESOURCE_FIELDS, directory)
    else:
        lines.append("No revision yet.")
    lines += ["", "## Alerts", ""]
    rows = [
        [
            f"`{a['signal']}`",
            _cell(a["threshold"]),
            _cell(a["window"]),
            _value_cell("paged_team", a["paged_team"], directory),
        ]
        for a in content["alerts"]
    ]
    lines += _table(["Signal", "Threshold", "Window", "Paged team"], rows)
    lines += ["", "## Rollback", ""]
    lines += _field_table(content["rollback"], ROLLBACK_FIELDS, directory)
    lines += ["", "## Production readiness", "", sign_off or "Not signed off by an SRE.", ""]
    return "\n".join(lines)


_SPLIT = re.compile(r"(?<!\\)\|")


def _split_row(line: str) -> list[str]:
    cells = _SPLIT.split(line.strip())[1:-1]
    return [c.strip().replace("\\|", "|").replace("\\\\", "\\") for c in cells]


def _parse_value(field: str, cell: str):
    if cell == EMPTY:
        return None if field in TEAM_FIELDS | INT_FIELDS | _DECIMAL_FIELDS else ""
    if field in TEAM_FIELDS or field == "accuracy_metric":
        match = re.match(r"^`([^`]*)`", cell)
        return match.group(1) if match else cell
    unit = UNITS.get(field)
    if unit and cell.endswith(" " + unit):
        cell = cell[: -len(unit) - 1]
    if field in INT_FIELDS:
        return int(cell)
    return cell


_DECIMAL_FIELDS = {"availability_pct", "accuracy_drift_pct"}
_LABEL_TO_FIELD = {label: field for field, label in FIELD_LABELS.items()}


def _sections(markdown: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = None
    for line in markdown.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    return sections


def _table_rows(lines: list[str]) -> list[list[str]]:
    rows = [_split_row(line) for line in lines if line.strip().startswith("|")]
    return rows[2:]  # header and separator


def parse_markdown(markdown: str) -> dict:
    """The values of a Markdown export, in build_content()'s shape."""
    header = re.search(r"^# Interface document: (\S+)", markdown, re.M)
    meta = re.search(r"^Tenant: `([^`]+)` · Template: (\S+)", markdown, re.M)
    sections = _sections(markdown)
    content: dict = {
        "workload": header.group(1) if header else "",
        "tenant": meta.group(1) if meta else "",
        "template": meta.group(2) if meta else "",
    }
    for key, title in SECTION_TITLES.items():
        lines = sections.get(title, [])
        if key == "alerts":
            content["alerts"] = [
                {
                    "signal": _parse_value("accuracy_metric", row[0]),
                    "threshold": "" if row[1] == EMPTY else row[1],
                    "window": "" if row[2] == EMPTY else row[2],
                    "paged_team": _parse_value("paged_team", row[3]),
                }
                for row in _table_rows(lines)
            ]
            continue
        values = {}
        for row in _table_rows(lines):
            field = _LABEL_TO_FIELD.get(row[0])
            if field is not None:
                values[field] = _parse_value(field, row[1])
        content[key] = values
    return content


# ---- diff --------------------------------------------------------------------------------


def diff_contents(old: dict, new: dict) -> list[dict]:
    """Readable changes between two versions: section, field label, before, after."""
    changes = []
    for key in ("ownership", "model", "slos", "resources", "rollback"):
        before, after = old.get(key) or {}, new.get(key) or {}
        for field in sorted(set(before) | set(after), key=lambda f: list(FIELD_LABELS).index(f)):
            if before.get(field) != after.get(field):
                changes.append(
                    {
                        "section": SECTION_TITLES[key],
                        "field": FIELD_LABELS[field],
                        "before": _plain(before.get(field)),
                        "after": _plain(after.get(field)),
                    }
                )
    old_alerts = {a["signal"]: a for a in old.get("alerts", [])}
    new_alerts = {a["signal"]: a for a in new.get("alerts", [])}
    for signal in sorted(set(old_alerts) | set(new_alerts)):
        before, after = old_alerts.get(signal), new_alerts.get(signal)
        if before != after:
            changes.append(
                {
                    "section": "Alerts",
                    "field": signal,
                    "before": _alert_text(before),
                    "after": _alert_text(after),
                }
            )
    return changes


def _plain(value) -> str:
    return EMPTY if value is None or value == "" else str(value)


def _alert_text(alert: dict | None) -> str:
    if alert is None:
        return EMPTY
    threshold = alert["threshold"] or "from SLO"
    return f"{threshold} for {alert['window']} pages {alert['paged_team']}"
