"""Settings for gpu-portal, read from the environment (12-factor) with safe local defaults.

Main variables: DATABASE_URL, REDIS_URL, SECRET_KEY, PORTAL_ENCRYPTION_KEY, DEBUG, ALLOWED_HOSTS;
every other tunable below is read from the environment too. See docs/configuration.md.
"""

import hashlib
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
    "notifications",
    "accounts",
    "guardrails",
]

MIDDLEWARE = [
    # request id, access log line and latency histogram around everything else (ops-observe)
    "portal.request_context.RequestIdMiddleware",
    "portal.metrics.RequestLatencyMiddleware",
    "portal.ops_views.OpsEndpointsMiddleware",  # /healthz /readyz /metrics, any Host, plain HTTP
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
# Safety on real clusters (#8): whose objects are ours, and the archive lifecycle.
PORTAL_INSTANCE = os.environ.get("PORTAL_INSTANCE", "gpu-portal")
PORTAL_ARCHIVE_GRACE_HOURS = float(os.environ.get("PORTAL_ARCHIVE_GRACE_HOURS", "24"))
PORTAL_ARCHIVE_CHECK_SECONDS = float(os.environ.get("PORTAL_ARCHIVE_CHECK_SECONDS", "300"))
COSTS_PULL_DELAY_MINUTES = int(os.environ.get("COSTS_PULL_DELAY_MINUTES", "5"))
COSTS_PULL_WINDOW_HOURS = int(os.environ.get("COSTS_PULL_WINDOW_HOURS", "24"))
COSTS_PROMETHEUS_RETRIES = int(os.environ.get("COSTS_PROMETHEUS_RETRIES", "3"))
COSTS_PROMETHEUS_BACKOFF = float(os.environ.get("COSTS_PROMETHEUS_BACKOFF", "0.5"))
COSTS_PROMETHEUS_TIMEOUT = float(os.environ.get("COSTS_PROMETHEUS_TIMEOUT", "60"))
COSTS_FORGOTTEN_JOB_DAYS = int(os.environ.get("COSTS_FORGOTTEN_JOB_DAYS", "3"))
COSTS_HOURLY_RETENTION_DAYS = int(os.environ.get("COSTS_HOURLY_RETENTION_DAYS", "400"))
COSTS_CURRENCY = os.environ.get("COSTS_CURRENCY", "USD")
# Admission guardrails: registry prefixes prod images may come from until a platform admin saves
# the list on the guardrails page (comma-separated; empty: prod admits no image once enforced).
PORTAL_GUARDRAILS_ALLOWED_REGISTRIES = [
    r.strip()
    for r in os.environ.get("PORTAL_GUARDRAILS_ALLOWED_REGISTRIES", "").split(",")
    if r.strip()
]
PORTAL_GUARDRAILS_EXPIRY_SECONDS = float(os.environ.get("PORTAL_GUARDRAILS_EXPIRY_SECONDS", "300"))
# Showback: burst (borrowed) GPU-hours cost this factor x the price (recorded with the usage)
COSTS_BURST_PRICE_FACTOR = os.environ.get("COSTS_BURST_PRICE_FACTOR", "1.0")
# Idle capacity on chargeback statements: "platform" (kept on the platform's line) or
# "guaranteed" (shared among tenants pro rata to their guaranteed quota on the cluster)
COSTS_IDLE_DISTRIBUTION = os.environ.get("COSTS_IDLE_DISTRIBUTION", "platform")
# Alertmanager receivers generated from the on-call directory.
PORTAL_CHAT_WEBHOOK_URL = os.environ.get("PORTAL_CHAT_WEBHOOK_URL", "")
PORTAL_ALERT_SMTP_SMARTHOST = os.environ.get("PORTAL_ALERT_SMTP_SMARTHOST", "localhost:25")
PORTAL_ALERT_SMTP_FROM = os.environ.get("PORTAL_ALERT_SMTP_FROM", "alertmanager@gpu-portal")

# How the clusters' API servers name portal users and identity-provider groups in RoleBindings
# (kube-apiserver --oidc-username-prefix / --oidc-groups-prefix), and the IdP group bound per
# tenant role ({slug}, {group} = owners|members|viewers; empty binds no group).
PORTAL_CLUSTER_USERNAME_PREFIX = os.environ.get("PORTAL_CLUSTER_USERNAME_PREFIX", "oidc:")
PORTAL_CLUSTER_GROUPS_PREFIX = os.environ.get("PORTAL_CLUSTER_GROUPS_PREFIX", "")
PORTAL_CLUSTER_TENANT_GROUP = os.environ.get("PORTAL_CLUSTER_TENANT_GROUP", "{slug}-{group}")

# Accounts: API tokens, sign-in lockout, API rate limits (docs/configuration.md).
PORTAL_API_TOKEN_DAYS = int(os.environ.get("PORTAL_API_TOKEN_DAYS", "90"))
PORTAL_API_TOKEN_MAX_DAYS = int(os.environ.get("PORTAL_API_TOKEN_MAX_DAYS", "365"))
PORTAL_LOGIN_MAX_FAILURES = int(os.environ.get("PORTAL_LOGIN_MAX_FAILURES", "5"))
PORTAL_LOGIN_MAX_FAILURES_PER_IP = int(os.environ.get("PORTAL_LOGIN_MAX_FAILURES_PER_IP", "20"))
PORTAL_LOGIN_WINDOW_SECONDS = int(os.environ.get("PORTAL_LOGIN_WINDOW_SECONDS", "900"))
PORTAL_NUM_PROXIES = int(os.environ.get("PORTAL_NUM_PROXIES", "0"))
PORTAL_API_RATE = os.environ.get("PORTAL_API_RATE", "1200/minute")
PORTAL_API_ANON_RATE = os.environ.get("PORTAL_API_ANON_RATE", "60/minute")
# OpenID Connect sign-in (accounts/oidc.py on mozilla-django-oidc). Without an issuer, password
# sign-in as before; with one, SSO first and passwords only for the "break-glass" group.
PORTAL_OIDC_ISSUER = os.environ.get("PORTAL_OIDC_ISSUER", "").rstrip("/")
PORTAL_OIDC_CLIENT_ID = os.environ.get("PORTAL_OIDC_CLIENT_ID", "gpu-portal")
PORTAL_OIDC_CLIENT_SECRET = os.environ.get("PORTAL_OIDC_CLIENT_SECRET", "")
PORTAL_OIDC_USERNAME_CLAIM = os.environ.get("PORTAL_OIDC_USERNAME_CLAIM", "preferred_username")
PORTAL_OIDC_GROUPS_CLAIM = os.environ.get("PORTAL_OIDC_GROUPS_CLAIM", "groups")
PORTAL_OIDC_ROLE_GROUPS = os.environ.get(
    "PORTAL_OIDC_ROLE_GROUPS",
    "platform-admin=platform-admin;sre=sre;finance=finance;ml-team=ml-team",
)
PORTAL_OIDC_PROVIDER_NAME = os.environ.get("PORTAL_OIDC_PROVIDER_NAME", "your company account")
PORTAL_OIDC_CLOCK_SKEW_SECONDS = int(os.environ.get("PORTAL_OIDC_CLOCK_SKEW_SECONDS", "30"))
AUTHENTICATION_BACKENDS = [
    "accounts.oidc.PortalOIDCBackend",
    "accounts.oidc.BreakGlassModelBackend",
]
OIDC_RP_SIGN_ALGO = os.environ.get("PORTAL_OIDC_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = os.environ.get("PORTAL_OIDC_SCOPES", "openid profile email")
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_STORE_ID_TOKEN = True  # the id_token_hint of RP-initiated logout
OIDC_TIMEOUT = float(os.environ.get("PORTAL_OIDC_TIMEOUT_SECONDS", "10"))
OIDC_OP_LOGOUT_URL_METHOD = "accounts.oidc.provider_logout_url"
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
LOGIN_REDIRECT_URL_FAILURE = "login"

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # shared by every web process, so API rate limits hold across them
    "throttle": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("PORTAL_CACHE_PREFIX", "gpu-portal"),
    },
}

# Notifications (notifications app): e-mail through Django's SMTP backend, signed webhooks.
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:8000")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "gpu-portal@localhost")
# Webhook signing key. Unset, it is derived from SECRET_KEY (a one-way hash, so it reveals
# nothing of it) and `check --deploy` warns (gpu_portal.W011): receivers must know the key to
# verify signatures, so production sets its own.
PORTAL_WEBHOOK_SECRET = os.environ.get("PORTAL_WEBHOOK_SECRET", "")
PORTAL_WEBHOOK_SECRET_DERIVED = not PORTAL_WEBHOOK_SECRET
if PORTAL_WEBHOOK_SECRET_DERIVED:
    PORTAL_WEBHOOK_SECRET = (
        "derived:" + hashlib.sha256(b"gpu-portal webhooks\0" + SECRET_KEY.encode()).hexdigest()
    )
PORTAL_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("PORTAL_WEBHOOK_TIMEOUT_SECONDS", "10"))
PORTAL_WEBHOOK_ALLOW_HTTP = env_bool("PORTAL_WEBHOOK_ALLOW_HTTP", DEBUG)
PORTAL_NOTIFICATIONS_WEBHOOK_URL = os.environ.get("PORTAL_NOTIFICATIONS_WEBHOOK_URL", "")
PORTAL_NOTIFICATIONS_RETRY_SECONDS = float(
    os.environ.get("PORTAL_NOTIFICATIONS_RETRY_SECONDS", "30")
)
PORTAL_NOTIFICATIONS_MAX_ATTEMPTS = int(os.environ.get("PORTAL_NOTIFICATIONS_MAX_ATTEMPTS", "10"))
PORTAL_NOTIFICATIONS_REDELIVER_SECONDS = float(
    os.environ.get("PORTAL_NOTIFICATIONS_REDELIVER_SECONDS", "60")
)

# Measured SLOs (contracts app): Alertmanager reads/silences, Grafana dashboard ConfigMaps.
CONTRACTS_ALERTMANAGER_TIMEOUT = float(os.environ.get("CONTRACTS_ALERTMANAGER_TIMEOUT", "5"))
CONTRACTS_SILENCE_MAX_MINUTES = int(os.environ.get("CONTRACTS_SILENCE_MAX_MINUTES", "240"))
CONTRACTS_GRAFANA_DASHBOARD_LABEL = os.environ.get(
    "CONTRACTS_GRAFANA_DASHBOARD_LABEL", "grafana_dashboard"
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "portal.api_errors.problem_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "accounts.throttling.PortalRateThrottle",
        "accounts.throttling.AnonymousRateThrottle",
    ],
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

# LOG_FORMAT=json: one JSON object per line with request id, user, tenant and Celery task.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
from portal.log_format import logging_config  # noqa: E402

LOGGING = logging_config(log_format=LOG_FORMAT, level=os.environ.get("LOG_LEVEL", "INFO"))

# Observing the portal (docs/observing.md): /metrics wants "Authorization: Bearer <token>" when
# this is set; when empty it is open and must be fenced by a NetworkPolicy instead.
PORTAL_METRICS_TOKEN = os.environ.get("PORTAL_METRICS_TOKEN", "")
# A database that does not answer fails a request (and /readyz) in seconds, not minutes.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
    "connect_timeout", int(os.environ.get("PORTAL_DB_CONNECT_TIMEOUT_SECONDS", "5"))
)
# /readyz: how long each dependency may take to answer before the pod is reported not ready.
PORTAL_READINESS_TIMEOUT_SECONDS = float(os.environ.get("PORTAL_READINESS_TIMEOUT_SECONDS", "2"))
# Exactly one beat: every `celery beat` takes a Redis lease before it schedules (portal/beat.py).
CELERY_BEAT_SCHEDULER = "portal.beat:LeaderScheduler"
PORTAL_BEAT_LOCK_KEY = os.environ.get(
    "PORTAL_BEAT_LOCK_KEY", f"gpu-portal:beat-leader:{CELERY_TASK_DEFAULT_QUEUE}"
)
PORTAL_BEAT_LOCK_TTL_SECONDS = float(os.environ.get("PORTAL_BEAT_LOCK_TTL_SECONDS", "30"))
