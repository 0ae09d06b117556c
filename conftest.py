"""Project-wide pytest configuration: real PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)."""

import os

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
