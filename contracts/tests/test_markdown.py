"""The Markdown export has the design doc's shape and round-trips the values of a document."""

from types import SimpleNamespace

from contracts.document import diff_contents, parse_markdown, render_markdown

from .examples import example_content

DIRECTORY = {
    "sre-core": SimpleNamespace(contact="https://pager.example.com/sre, #sre-oncall"),
    "search-ml": SimpleNamespace(contact="search-ml@example.com"),
}


def test_markdown_export_round_trips_a_document_filled_like_the_design_doc():
    content = example_content()
    markdown = render_markdown(content, version=4, directory=DIRECTORY)
    assert parse_markdown(markdown) == content


def test_markdown_export_has_the_sections_teams_write():
    markdown = render_markdown(example_content(), version=4, directory=DIRECTORY)
    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert headings == [
        "# Interface document: ranker",
        "## Ownership",
        "## Model",
        "## SLOs",
        "## Resources",
        "## Alerts",
        "## Rollback",
        "## Production readiness",
    ]
    assert "| P99 latency | 250 ms |" in markdown
    assert "| SRE contact | `sre-core` (https://pager.example.com/sre, #sre-oncall) |" in markdown


def test_an_empty_document_round_trips_too():
    content = example_content()
    content["ownership"] = dict.fromkeys(content["ownership"])
    content["slos"] = dict.fromkeys(content["slos"])
    content["model"] = {
        "model_name": "",
        "model_artifact": "",
        "accuracy_metric": "",
        "accuracy_drift_pct": None,
    }
    content["alerts"] = []
    content["rollback"] = {"automated_trigger": "", "manual_owner": None}
    markdown = render_markdown(content, version=0, directory={})
    assert parse_markdown(markdown) == content


def test_diff_names_the_changed_fields_with_before_and_after():
    old = example_content()
    new = example_content()
    new["slos"]["p99_latency_ms"] = 200
    new["alerts"] = new["alerts"][1:]
    changes = diff_contents(old, new)
    assert {"section": "SLOs", "field": "P99 latency", "before": "250", "after": "200"} in changes
    assert {
        "section": "Alerts",
        "field": "accuracy-drift",
        "before": "5% for 1h pages search-ml",
        "after": "—",
    } in changes
    assert len(changes) == 2
