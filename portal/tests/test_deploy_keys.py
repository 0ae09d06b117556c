"""Published keys never protect a deployment: the settings refuse them with DEBUG=0,
`manage.py check --deploy` fails on them (gpu_portal.E001-E004), and docker-compose.yml's
config-check service keeps web, worker and beat from starting. Real `manage.py` processes."""

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.test import override_settings

from portal import checks, default_keys

ROOT = Path(__file__).resolve().parents[2]
STRONG_SECRET = "x7Jq2vN9-" + "k" * 10 + "Zp4Lw8Rt3Yb6Hc1Md5Fg0Qs2Vn7Xe9Ua4Ko8"
# Fixed (not generated at import), so parallel workers collect the same test ids.
STRONG_FERNET = base64.urlsafe_b64encode(b"gpu-portal tests: not a secret!!").decode()
OLD_COMPOSE_DEFAULT = "compose-demo-insecure-secret-key-change-me-0123456789"


def run(args, **env):
    # a clean process environment: none of the test session's Django variables
    dropped = {"SECRET_KEY", "DEBUG", "PORTAL_ENCRYPTION_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        args,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def check_deploy(**env):
    return run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"], **env)


def test_check_deploy_fails_on_the_dev_defaults():
    result = check_deploy()
    assert result.returncode == 1
    assert "(gpu_portal.E001) SECRET_KEY is a default published" in result.stderr
    assert "(gpu_portal.E002) PORTAL_ENCRYPTION_KEY is a default published" in result.stderr
    assert "secrets.token_urlsafe(50)" in result.stderr  # says how to fix it


def test_check_deploy_passes_with_keys_of_your_own():
    result = check_deploy(
        DEBUG="0",
        SECRET_KEY=STRONG_SECRET,
        PORTAL_ENCRYPTION_KEY=STRONG_FERNET,
        PORTAL_WEBHOOK_SECRET="webhook-secret-of-our-own",
        PORTAL_METRICS_TOKEN="metrics-token-of-our-own",
    )
    assert result.returncode == 0, result.stderr
    assert "gpu_portal." not in result.stdout + result.stderr


def test_check_deploy_warns_when_webhooks_are_signed_with_a_derived_key():
    result = check_deploy(DEBUG="0", SECRET_KEY=STRONG_SECRET, PORTAL_ENCRYPTION_KEY=STRONG_FERNET)
    assert result.returncode == 0, result.stderr  # a warning, not an error: nothing crashes
    assert "(gpu_portal.W011) PORTAL_WEBHOOK_SECRET is not set" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("secret_key", "encryption_key", "message"),
    [
        ("", STRONG_FERNET, "SECRET_KEY must be set when DEBUG=0"),
        (STRONG_SECRET, "", "PORTAL_ENCRYPTION_KEY must be set when DEBUG=0"),
        (OLD_COMPOSE_DEFAULT, STRONG_FERNET, "SECRET_KEY is a default published"),
        (default_keys.DEV_SECRET_KEY, STRONG_FERNET, "SECRET_KEY is a default published"),
        ("build-only", STRONG_FERNET, "SECRET_KEY is a default published"),
        (
            STRONG_SECRET,
            default_keys.derived_encryption_key(default_keys.DEV_SECRET_KEY),
            "PORTAL_ENCRYPTION_KEY is a default published",
        ),
    ],
    ids=[
        "empty-secret-key",
        "empty-encryption-key",
        "old-compose-default",
        "dev-default",
        "dockerfile-placeholder",
        "derived-from-dev-default",
    ],
)
def test_debug_0_refuses_empty_and_published_keys(secret_key, encryption_key, message):
    result = check_deploy(DEBUG="0", SECRET_KEY=secret_key, PORTAL_ENCRYPTION_KEY=encryption_key)
    assert result.returncode != 0
    assert message in result.stderr


def test_empty_variables_mean_unset_with_debug():
    """compose passes `SECRET_KEY: ${SECRET_KEY:-}`: empty must behave like unset for a demo."""
    result = run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings; print(settings.SECRET_KEY)",
        ],
        DEBUG="1",
        SECRET_KEY="",
        PORTAL_ENCRYPTION_KEY="",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == default_keys.DEV_SECRET_KEY


@override_settings(SECRET_KEY=STRONG_SECRET)
def test_encryption_key_derived_from_secret_key_is_an_error():
    derived = default_keys.derived_encryption_key(STRONG_SECRET)
    with override_settings(PORTAL_ENCRYPTION_KEY=derived):
        assert [e.id for e in checks.published_keys(None)] == ["gpu_portal.E003"]
    with override_settings(PORTAL_ENCRYPTION_KEY="not-a-fernet-key"):
        assert [e.id for e in checks.published_keys(None)] == ["gpu_portal.E004"]
    with override_settings(PORTAL_ENCRYPTION_KEY=STRONG_FERNET):
        assert checks.published_keys(None) == []


# --- docker-compose.yml ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def run_config_check(compose, **env):
    """The config-check service's command, as its container's shell would run it."""
    command = compose["services"]["config-check"]["command"]
    assert command[:2] == ["sh", "-c"]
    script = command[2].replace("$$", "$")  # compose's escape for a literal $
    path = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    return run(["sh", "-c", script], PATH=path, **env)


def test_compose_has_no_default_keys(compose):
    env = compose["x-portal-env"]
    assert env["SECRET_KEY"] == "${SECRET_KEY:-}"
    assert env["PORTAL_ENCRYPTION_KEY"] == "${PORTAL_ENCRYPTION_KEY:-}"


def test_compose_portal_services_wait_for_config_check(compose):
    for name in ("web", "worker", "beat"):
        depends = compose["services"][name]["depends_on"]
        assert depends["config-check"] == {"condition": "service_completed_successfully"}, name


def test_compose_config_check_refuses_debug_0_with_empty_keys(compose):
    result = run_config_check(compose, DEBUG="0", SECRET_KEY="", PORTAL_ENCRYPTION_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG=0" in result.stderr


def test_compose_config_check_refuses_debug_0_with_a_published_key(compose):
    result = run_config_check(
        compose, DEBUG="0", SECRET_KEY=OLD_COMPOSE_DEFAULT, PORTAL_ENCRYPTION_KEY=STRONG_FERNET
    )
    assert result.returncode != 0
    assert "SECRET_KEY is a default published" in result.stderr


def test_compose_config_check_passes_a_demo_and_real_keys(compose):
    demo = run_config_check(compose, DEBUG="1", SECRET_KEY="", PORTAL_ENCRYPTION_KEY="")
    assert demo.returncode == 0, demo.stderr
    assert "local demo" in demo.stdout
    real = run_config_check(
        compose, DEBUG="0", SECRET_KEY=STRONG_SECRET, PORTAL_ENCRYPTION_KEY=STRONG_FERNET
    )
    assert real.returncode == 0, real.stderr
