"""Setup shared by the benchmarks that run on their own database (costs, workloads, portal):
the common flags and the throwaway PostgreSQL database they point Django at."""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def parser(*, runs: int = 20, keep_help: str | None = None) -> argparse.ArgumentParser:
    """An argument parser with the flags every database benchmark takes: --runs and --keep."""
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=runs)
    p.add_argument("--keep", action="store_true", help=keep_help)
    return p


def prepare_database(name: str, *, keep: bool, celery_queue: str | None = None) -> None:
    """Create database `name` (dropped first unless `keep`) and point Django's settings at it."""
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        exists = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and not keep:
            c.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            c.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
    if celery_queue:
        os.environ["PORTAL_CELERY_QUEUE"] = celery_queue
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
