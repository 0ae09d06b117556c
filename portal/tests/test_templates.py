"""The templates keep the house rules: short lines, htmx loaded once (in base.html), no dead
`{% url ... as x %}{% if x %}` guards, partials named `_*.html` and full pages not."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted(
    p
    for p in ROOT.glob("**/templates/**/*.html")
    if not {".venv", "node_modules", "site", ".devdata"} & set(p.relative_to(ROOT).parts)
)
MAX_LINE = 160


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_there_are_templates_to_check():
    assert len(TEMPLATES) > 30


@pytest.mark.parametrize("path", TEMPLATES, ids=_name)
def test_template_keeps_the_house_rules(path):
    text = path.read_text()
    long = [n for n, line in enumerate(text.splitlines(), 1) if len(line) > MAX_LINE]
    assert not long, f"lines longer than {MAX_LINE}: {long}"
    if path.name != "base.html":
        assert "htmx.min.js" not in text, "htmx is loaded once, in base.html"
    guard = re.search(r"\{% url [^%]* as (\w+) %\}\s*\{% if \1 %\}", text)
    assert not guard, f"dead URL guard: {guard and guard.group(0)}"
    extends = "{% extends" in text
    if path.name.startswith("_"):
        assert not extends, "a partial (_*.html) does not extend a page"
    elif path.name != "base.html" and not text.lstrip().lower().startswith("<!doctype html>"):
        # a full page extends base.html; a standalone document (a printable statement) may not
        assert extends, "a full page extends base.html (or rename it _*.html as a partial)"
