# syntax=docker/dockerfile:1
# gpu-portal image: one image for web (gunicorn + whitenoise), Celery worker, Celery beat and
# migrations; the command chooses which (docker-compose.yml, deploy/helm/gpu-portal).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORTAL_GITOPS_ROOT=/data/gitops \
    HOME=/tmp

# git: the GitOps backend commits desired state with the git CLI.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 portal \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp portal \
 && mkdir -p /data/gitops /app \
 && chown -R 10001:10001 /data

WORKDIR /app

# Dependencies first (pinned in pyproject.toml) so code changes reuse this layer.
COPY pyproject.toml ./
RUN python - <<'PY' > /tmp/requirements.txt
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))
PY
RUN pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt

# Code is owned by root and read-only to the portal user; only /data and /tmp are written
# (the Helm chart mounts both and runs with a read-only root filesystem).
COPY . .

# Static files are collected at build time and served by whitenoise. The keys here are random
# and thrown away; the real SECRET_KEY and PORTAL_ENCRYPTION_KEY come from the environment at
# run time (published defaults are refused with DEBUG=0).
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    PORTAL_ENCRYPTION_KEY="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    DEBUG=0 python manage.py collectstatic --noinput --verbosity 0

# Numeric, so Kubernetes can verify runAsNonRoot.
USER 10001:10001
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--threads", "4", "--access-logfile", "-", "--no-control-socket", "--worker-tmp-dir", "/tmp"]
