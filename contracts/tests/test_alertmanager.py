"""The Alertmanager routing tree from the on-call directory passes `amtool check-config` and
routes each signal to the team the documents name."""

import subprocess

import pytest
import yaml

from contracts import selectors
from contracts.alertmanager import to_yaml
from contracts.models import AlertPolicy, InterfaceDocument, OnCallTeam
from workloads.tests.factories import WorkloadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def directory():
    return {
        "sre-core": OnCallTeam.objects.create(
            name="sre-core",
            display_name="SRE core",
            pager_url="https://pager.example.com/hooks/sre",
            email="sre@example.com",
            chat_channel="#sre",
        ),
        "search-ml": OnCallTeam.objects.create(
            name="search-ml", display_name="Search ML", email="search-ml@example.com"
        ),
        "gpu-platform": OnCallTeam.objects.create(
            name="gpu-platform",
            display_name="GPU platform",
            pager_url="https://pager.example.com/hooks/platform",
        ),
    }


@pytest.fixture
def document(directory):
    doc = InterfaceDocument.objects.create(
        workload=WorkloadFactory(name="ranker"),
        owner_team=directory["search-ml"],
        platform_contact=directory["gpu-platform"],
        sre_contact=directory["sre-core"],
    )
    AlertPolicy.objects.create(
        document=doc, signal="accuracy-drift", threshold="5%", paged_team=directory["search-ml"]
    )
    return doc


def route_for(config, team):
    return next(r for r in config["route"]["routes"] if r["receiver"] == team)


def test_config_passes_amtool_check_config(document, tmp_path):
    path = tmp_path / "alertmanager.yml"
    path.write_text(to_yaml(selectors.alertmanager_config()))
    result = subprocess.run(["amtool", "check-config", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Found:" in result.stdout and " - 4 receivers" in result.stdout


def test_each_team_gets_a_receiver_from_its_directory_entry(document):
    receivers = {r["name"]: r for r in selectors.alertmanager_config()["receivers"]}
    assert receivers["sre-core"]["webhook_configs"][0]["url"].endswith("/hooks/sre")
    assert receivers["sre-core"]["email_configs"][0]["to"] == "sre@example.com"
    assert receivers["search-ml"]["email_configs"][0]["to"] == "search-ml@example.com"


def test_routes_page_the_right_team_by_signal(document):
    config = selectors.alertmanager_config()
    sre = route_for(config, "sre-core")
    assert sre["matchers"] == ['team="sre-core"']
    assert {r["matchers"][0] for r in sre["routes"]} == {
        'signal="latency"',
        'signal="availability"',
    }
    ml = route_for(config, "search-ml")
    assert [r["matchers"][0] for r in ml["routes"]] == ['signal="accuracy-drift"']
    platform = route_for(config, "gpu-platform")
    assert {r["matchers"][0] for r in platform["routes"]} == {
        'signal="gpu-memory"',
        'signal="xid"',
    }


def test_amtool_routes_a_latency_alert_to_the_sre_team(document, tmp_path):
    path = tmp_path / "alertmanager.yml"
    path.write_text(to_yaml(selectors.alertmanager_config()))
    result = subprocess.run(
        [
            "amtool",
            "config",
            "routes",
            "test",
            f"--config.file={path}",
            "team=sre-core",
            "signal=latency",
        ],
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip() == "sre-core", result.stdout + result.stderr


def test_yaml_is_plain_alertmanager_config(document):
    config = yaml.safe_load(to_yaml(selectors.alertmanager_config()))
    assert set(config) == {"global", "route", "inhibit_rules", "receivers"}
