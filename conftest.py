"""Project-wide pytest configuration: real PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)."""

import os

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Shared fixtures: Kubernetes API emulator, real Celery worker (portal/testing/).
pytest_plugins = ["portal.testing.fixtures"]


def pytest_configure(config):
    from django.conf import settings

    # PBKDF2 at production strength costs ~0.3 s per password; factories and seed_demo set many.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # API rate limits count in Redis, shared by parallel pytest processes: give each its own
    # keys, and limits no ordinary test reaches (accounts/tests set low ones to test them).
    settings.CACHES["throttle"]["KEY_PREFIX"] = f"gpu-portal-test-{os.getpid()}"
    settings.PORTAL_API_RATE = settings.PORTAL_API_ANON_RATE = "100000/minute"
