# syntax=docker/dockerfile:1
# gpu-portal image: one image for web (gunicorn + whitenoise), Celery worker and Celery beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORTAL_GITOPS_ROOT=/data/gitops

# git: the GitOps backend commits desired state with the git CLI.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 portal \
 && mkdir -p /data/gitops /app \
 && chown -R portal:portal /data /app

WORKDIR /app

# Dependencies first (pinned in pyproject.toml) so code changes reuse this layer.
COPY pyproject.toml ./
RUN python - <<'PY' > /tmp/requirements.txt
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))
PY
RUN pip install -r /tmp/requirements.txt

COPY --chown=portal:portal . .

# Static files are collected at build time and served by whitenoise. Build-only secrets: the
# real SECRET_KEY and PORTAL_ENCRYPTION_KEY come from the environment at run time.
RUN DEBUG=0 SECRET_KEY=build-only PORTAL_ENCRYPTION_KEY=build-only \
    python manage.py collectstatic --noinput --verbosity 0 \
 && chown -R portal:portal /app/.devdata

USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--threads", "4", "--access-logfile", "-", "--no-control-socket"]
