"""The layering rule (docs/architecture.md) holds in the code, and the checker that says so
catches each kind of break (scripts/check_layers.py, also run by `make lint`)."""

from pathlib import Path

import pytest

from scripts.check_layers import check


def test_the_code_keeps_the_layering_rule():
    violations = check()
    assert not violations, "\n".join(map(str, violations))


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    for app in ("portal", "clusters", "tenants", "workloads", "contracts"):
        (tmp_path / app).mkdir()
        (tmp_path / app / "__init__.py").write_text("")
        (tmp_path / app / "apps.py").write_text("")
    for name in ("models", "registry", "kube", "selectors", "services", "views"):
        (tmp_path / "clusters" / f"{name}.py").write_text("")
    for name in ("roles", "audit", "audit_views", "urls"):
        (tmp_path / "portal" / f"{name}.py").write_text("")
    (tmp_path / "contracts" / "selectors.py").write_text("")
    (tmp_path / "tenants" / "views.py").write_text("")
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    "path, source, rule",
    [
        ("clusters/sync.py", "from tenants.models import Tenant\n", "clusters imports no domain"),
        (
            "workloads/services.py",
            "def gate():\n    from contracts.selectors import readiness\n",
            "never the reverse",
        ),
        ("tenants/selectors.py", "from portal.audit_views import x\n", "views module"),
        ("tenants/selectors.py", "from .views import x\n", "views module"),
        ("tenants/services.py", "from clusters import kube\n", "not a public module"),
        ("tenants/forms.py", "import clusters.views\n", "not a public module"),
        ("portal/views.py", "from tenants import selectors\n", "portal sits below"),
    ],
)
def test_the_checker_reports_each_kind_of_break(tmp_path, path, source, rule):
    root = _project(tmp_path, {path: source})
    violations = check(root)
    assert [v.path for v in violations] == [path]
    assert rule in violations[0].rule


def test_the_checker_allows_public_modules_tests_and_the_root_urlconf(tmp_path):
    root = _project(
        tmp_path,
        {
            "tenants/services.py": "from clusters import registry\nfrom portal import roles\n",
            "contracts/services.py": "from workloads import models\n",
            "clusters/tests/test_x.py": "from tenants.models import Tenant\n",
            "portal/urls.py": "from tenants.home_views import home\n",
        },
    )
    assert check(root) == []
