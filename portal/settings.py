"""Settings for gpu-portal, read from the environment (12-factor) with safe local defaults.

Main variables: DATABASE_URL, REDIS_URL, SECRET_KEY, PORTAL_ENCRYPTION_KEY, DEBUG, ALLOWED_HOSTS;
every other tunable below is read from the environment too. See docs/configuration.md.
"""

import os
from pathlib import Path

import dj_database_url

from portal import default_keys

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", True)
_DEV_SECRET = default_keys.DEV_SECRET_KEY
# An empty variable counts as unset (compose passes `SECRET_KEY: ${SECRET_KEY:-}` through).
SECRET_KEY = os.environ.get("SECRET_KEY") or (_DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise RuntimeError("SECRET_KEY must be set when DEBUG=0")

# Fernet key for cluster credentials at rest. The dev default is derived from SECRET_KEY so a
# fresh checkout works; production sets its own (see docs/configuration.md).
PORTAL_ENCRYPTION_KEY = os.environ.get("PORTAL_ENCRYPTION_KEY", "")
if not PORTAL_ENCRYPTION_KEY:
    if not DEBUG:
        raise RuntimeError("PORTAL_ENCRYPTION_KEY must be set when DEBUG=0")
    PORTAL_ENCRYPTION_KEY = default_keys.derived_encryption_key(SECRET_KEY)
# A key published in this repository protects nothing: refuse it outside DEBUG.
_published = default_keys.published_key_problems(SECRET_KEY, PORTAL_ENCRYPTION_KEY)
if _published and not DEBUG:
    raise RuntimeError("; ".join(_published))

ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "pgtrigger",
    "pghistory",
    "portal",
    "clusters",
    "tenants",
    "workloads",
    "contracts",
    "costs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "pghistory.middleware.HistoryMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal_roles",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gpu_portal"),
        conn_max_age=60,
    )
}
# Each pytest process gets its own test database so parallel runs never collide.
DATABASES["default"]["TEST"] = {
    "NAME": os.environ.get("PORTAL_TEST_DB_NAME", f"test_gpu_portal_{os.getpid()}")
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".devdata" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("PORTAL_CELERY_QUEUE", "gpu-portal")
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Periodic tasks are registered by each app in its tasks.py (on_after_finalize).
CELERY_TIMEZONE = "UTC"

# Where the GitOps backend keeps its repositories when a cluster names no remote.
# The user guide: the MkDocs site `make docs` builds, served by the portal at PORTAL_GUIDE_URL
# (set it to an external address if the guide is published elsewhere).
PORTAL_GUIDE_DIR = Path(os.environ.get("PORTAL_GUIDE_DIR", BASE_DIR / "site"))
PORTAL_GUIDE_URL = os.environ.get("PORTAL_GUIDE_URL", "/guide/")
PORTAL_GITOPS_ROOT = Path(os.environ.get("PORTAL_GITOPS_ROOT", BASE_DIR / ".devdata" / "gitops"))

# Usage pulls from each cluster's Prometheus (costs app): the first pull backfills this many
# days; hourly averages assume this scrape interval; counters of inference requests served.
COSTS_BACKFILL_DAYS = int(os.environ.get("COSTS_BACKFILL_DAYS", "30"))
COSTS_SCRAPE_INTERVAL_SECONDS = int(os.environ.get("COSTS_SCRAPE_INTERVAL_SECONDS", "60"))
COSTS_INFERENCE_COUNTERS = [
    name.strip()
    for name in os.environ.get(
        "COSTS_INFERENCE_COUNTERS",
        "gpu_portal_inference_requests_total,vllm:request_success_total,nv_inference_request_success",
    ).split(",")
    if name.strip()
]

# Sync engine: the outbox relay period (beat) and in-place API retries.
PORTAL_RECONCILE_SECONDS = float(os.environ.get("PORTAL_RECONCILE_SECONDS", "60"))
PORTAL_KUBE_BACKOFF_SECONDS = float(os.environ.get("PORTAL_KUBE_BACKOFF_SECONDS", "0.5"))
# CRDs custom resources are validated against: the repository's own copies by default; an
# override is searched first and the copies fill in any kind it lacks.
PORTAL_CRD_DIR = Path(os.environ.get("PORTAL_CRD_DIR", BASE_DIR / "clusters" / "crds"))

# Tunables with safe defaults; every one can be set from the environment (docs/configuration.md).
PORTAL_KUBE_RETRIES = int(os.environ.get("PORTAL_KUBE_RETRIES", "5"))
PORTAL_KUBE_TIMEOUT_SECONDS = float(os.environ.get("PORTAL_KUBE_TIMEOUT_SECONDS", "10"))
PORTAL_SYNC_RETRY_SECONDS = float(os.environ.get("PORTAL_SYNC_RETRY_SECONDS", "5"))
PORTAL_SYNC_MAX_RETRIES = int(os.environ.get("PORTAL_SYNC_MAX_RETRIES", "8"))
PORTAL_FAILED_RETRY_SECONDS = float(os.environ.get("PORTAL_FAILED_RETRY_SECONDS", "900"))
PORTAL_DRIFT_CHECK_SECONDS = float(os.environ.get("PORTAL_DRIFT_CHECK_SECONDS", "600"))
PORTAL_CAPACITY_REFRESH_SECONDS = float(os.environ.get("PORTAL_CAPACITY_REFRESH_SECONDS", "300"))
COSTS_PULL_DELAY_MINUTES = int(os.environ.get("COSTS_PULL_DELAY_MINUTES", "5"))
COSTS_PULL_WINDOW_HOURS = int(os.environ.get("COSTS_PULL_WINDOW_HOURS", "24"))
COSTS_PROMETHEUS_RETRIES = int(os.environ.get("COSTS_PROMETHEUS_RETRIES", "3"))
COSTS_PROMETHEUS_BACKOFF = float(os.environ.get("COSTS_PROMETHEUS_BACKOFF", "0.5"))
COSTS_PROMETHEUS_TIMEOUT = float(os.environ.get("COSTS_PROMETHEUS_TIMEOUT", "60"))
COSTS_FORGOTTEN_JOB_DAYS = int(os.environ.get("COSTS_FORGOTTEN_JOB_DAYS", "3"))
COSTS_HOURLY_RETENTION_DAYS = int(os.environ.get("COSTS_HOURLY_RETENTION_DAYS", "400"))
COSTS_CURRENCY = os.environ.get("COSTS_CURRENCY", "USD")
# Alertmanager receivers generated from the on-call directory.
PORTAL_CHAT_WEBHOOK_URL = os.environ.get("PORTAL_CHAT_WEBHOOK_URL", "")
PORTAL_ALERT_SMTP_SMARTHOST = os.environ.get("PORTAL_ALERT_SMTP_SMARTHOST", "localhost:25")
PORTAL_ALERT_SMTP_FROM = os.environ.get("PORTAL_ALERT_SMTP_FROM", "alertmanager@gpu-portal")

# Measured SLOs (contracts app): Alertmanager reads/silences, Grafana dashboard ConfigMaps.
CONTRACTS_ALERTMANAGER_TIMEOUT = float(os.environ.get("CONTRACTS_ALERTMANAGER_TIMEOUT", "5"))
CONTRACTS_SILENCE_MAX_MINUTES = int(os.environ.get("CONTRACTS_SILENCE_MAX_MINUTES", "240"))
CONTRACTS_GRAFANA_DASHBOARD_LABEL = os.environ.get(
    "CONTRACTS_GRAFANA_DASHBOARD_LABEL", "grafana_dashboard"
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "portal.api_errors.problem_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "gpu-portal API",
    "DESCRIPTION": "Tenants, GPU quota, workloads, interface documents and costs.",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {
        "EnvironmentNameEnum": "tenants.models.EnvironmentName",
        "TenantStatusEnum": "tenants.models.Tenant.Status",
        "QuotaRequestStatusEnum": "tenants.models.QuotaRequest.Status",
    },
}


if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
