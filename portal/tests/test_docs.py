"""The user guide: built strictly with MkDocs, every page the guide promises reachable from its
navigation, every picture it shows taken by the browser journey, and served by the portal at
/guide/ with a link from each role's home page."""

import re
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command

from e2e.test_guide_screenshots import SCREENS
from tenants.tests.factories import UserFactory, finance, platform_admin, sre

ROOT = Path(settings.BASE_DIR)
DOCS = ROOT / "docs"
MKDOCS = [sys.executable, "-m", "mkdocs"]

# The pages the guide promises its readers (issue 20), each reachable from the navigation.
REQUIRED_PAGES = {
    "ML teams": [
        "guides/ml-teams/getting-access.md",
        "guides/ml-teams/onboarding.md",
        "guides/ml-teams/gpu-profiles.md",
        "guides/ml-teams/requesting-quota.md",
        "guides/ml-teams/templates.md",
        "guides/ml-teams/interface-document.md",
        "guides/ml-teams/promotion-and-rollback.md",
        "guides/ml-teams/cost-page.md",
        "guides/ml-teams/when-a-job-waits.md",
    ],
    "platform admins": [
        "guides/platform/connecting-a-cluster.md",
        "guides/platform/gpu-catalog.md",
        "guides/platform/approvals.md",
        "guides/platform/drift-and-sync.md",
        "guides/platform/archiving.md",
    ],
    "SREs": [
        "guides/sre/slos.md",
        "guides/sre/alert-routing.md",
        "guides/sre/generated-rules.md",
        "guides/sre/sign-off.md",
    ],
    "finance": [
        "guides/finance/price-book.md",
        "guides/finance/attribution.md",
        "guides/finance/exports.md",
    ],
    "operators": [
        "operating/install.md",
        "configuration.md",
        "operating/backup-restore.md",
        "operating/upgrades.md",
    ],
    "API users": ["api/reference.md", "api/examples.md"],
}
SCREENSHOT_REF = re.compile(r"img/screens/([\w.-]+)\.png")


def nav_pages(nav) -> set[str]:
    pages: set[str] = set()
    for entry in nav:
        if isinstance(entry, str):
            pages.add(entry)
        elif isinstance(entry, dict):
            for value in entry.values():
                pages |= nav_pages(value) if isinstance(value, list) else {value}
    return pages


def mkdocs_config() -> dict:
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text())


def build(config: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*MKDOCS, "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture(scope="module")
def openapi_file():
    """The API reference page renders the schema the code generates now."""
    call_command("spectacular", file=str(DOCS / "api" / "openapi.yaml"), stdout=StringIO())


@pytest.mark.parametrize("audience", sorted(REQUIRED_PAGES))
def test_every_promised_guide_page_exists_and_is_in_the_navigation(audience):
    in_nav = nav_pages(mkdocs_config()["nav"])
    for page in REQUIRED_PAGES[audience]:
        assert (DOCS / page).is_file(), f"{page} is missing"
        assert page in in_nav, f"{page} is not reachable from the navigation"


def test_every_screenshot_a_guide_shows_is_taken_by_the_journey():
    referenced = {
        name: md.relative_to(DOCS)
        for md in DOCS.rglob("*.md")
        for name in SCREENSHOT_REF.findall(md.read_text())
    }
    assert len(referenced) >= 10
    not_taken = {name: str(md) for name, md in referenced.items() if name not in SCREENS}
    assert not_taken == {}, "add these to e2e/test_guide_screenshots.py SCREENS"
    for name in SCREENS:
        assert (DOCS / "img" / "screens" / f"{name}.png").is_file(), (
            f"run `make docs-screenshots`: {name}.png is not committed"
        )


@pytest.mark.django_db
def test_the_guide_builds_in_strict_mode(openapi_file, tmp_path):
    result = build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, result.stderr[-3000:]
    site = tmp_path / "site"
    for pages in REQUIRED_PAGES.values():
        for page in pages:
            html = site / page.removesuffix(".md") / "index.html"
            assert html.is_file(), f"{page} was not built"
    assert (site / "api" / "openapi.yaml").is_file()
    assert "swagger-ui" in (site / "api" / "reference" / "index.html").read_text()


@pytest.mark.django_db
def test_a_missing_picture_fails_the_build(openapi_file, tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    page = docs / "guides" / "ml-teams" / "onboarding.md"
    page.write_text(page.read_text() + "\n![gone](../../img/screens/no-such-picture.png)\n")
    config = mkdocs_config()
    config["docs_dir"] = str(docs)
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config))

    result = build(tmp_path / "mkdocs.yml", tmp_path / "site")

    assert result.returncode != 0
    assert "no-such-picture.png" in result.stderr


# --- served by the portal --------------------------------------------------------------------


@pytest.fixture
def built_site(settings, tmp_path):
    site = tmp_path / "site"
    (site / "guides" / "ml-teams").mkdir(parents=True)
    (site / "index.html").write_text("<h1>gpu-portal guide</h1>")
    (site / "guides" / "ml-teams" / "index.html").write_text("<h1>For ML teams</h1>")
    (site / "style.css").write_text("h1 {}")
    (tmp_path / "secret.txt").write_text("outside the site")
    settings.PORTAL_GUIDE_DIR = site
    return site


def test_the_portal_serves_the_built_guide_to_anyone(client, built_site):
    assert b"gpu-portal guide" in client.get("/guide/").content
    page = client.get("/guide/guides/ml-teams/")
    assert page.status_code == 200 and b"For ML teams" in page.content
    assert client.get("/guide/style.css")["Content-Type"].startswith("text/css")


def test_nothing_outside_the_site_is_served(client, built_site):
    assert client.get("/guide/../secret.txt").status_code == 404
    assert client.get("/guide/%2e%2e/secret.txt").status_code == 404
    assert client.get("/guide/no-such-page/").status_code == 404


def test_an_unbuilt_guide_says_how_to_build_it(client, settings, tmp_path):
    settings.PORTAL_GUIDE_DIR = tmp_path / "nothing"
    response = client.get("/guide/")
    assert response.status_code == 404
    assert b"make docs" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make_user, section",
    [
        (UserFactory, "guides/ml-teams/"),
        (platform_admin, "guides/platform/"),
        (sre, "guides/sre/"),
        (finance, "guides/finance/"),
    ],
)
def test_home_links_to_the_guide_of_the_signed_in_role(client, make_user, section):
    client.force_login(make_user())
    html = client.get("/").content.decode()
    assert f'href="/guide/{section}"' in html
    assert "Read the guide for your role" in html
