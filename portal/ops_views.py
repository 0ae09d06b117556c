"""Endpoints for the platform that runs the portal: liveness, readiness and Prometheus metrics.

None of them needs a session; /metrics wants the PORTAL_METRICS_TOKEN bearer token when set.
They are answered by OpsEndpointsMiddleware before host validation and the HTTPS redirect: the
kubelet and Prometheus call the pod by its IP over plain HTTP, which ALLOWED_HOSTS and
SECURE_SSL_REDIRECT would otherwise turn into a 400 or a 301. Nothing here builds a URL from
the Host header, so skipping the host check is safe.
"""

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import health, metrics


@never_cache
@require_GET
def healthz(request):
    """Liveness: the process answers. No dependency is checked, so an outage of PostgreSQL or
    Redis never makes Kubernetes restart every pod at once."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """Readiness: 200 when PostgreSQL and Redis answer and migrations are applied, else 503
    naming each failing part."""
    checks = health.readiness()
    failing = [c.name for c in checks if not c.ok]
    body = {
        "status": "unavailable" if failing else "ok",
        "failing": failing,
        "checks": {c.name: _check_body(c) for c in checks},
    }
    if failing:
        body["detail"] = "not ready: " + "; ".join(
            f"{c.name}: {c.detail}" for c in checks if not c.ok
        )
    return JsonResponse(body, status=503 if failing else 200)


def _check_body(check: health.Check) -> dict:
    return {"ok": check.ok, "detail": check.detail} if check.detail else {"ok": check.ok}


def _authorized(request) -> bool:
    token = settings.PORTAL_METRICS_TOKEN
    if not token:
        return True  # no token: fenced by a NetworkPolicy instead (docs/observing.md)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


@never_cache
@require_GET
def metrics_view(request):
    if not _authorized(request):
        response = HttpResponse(
            "Send the PORTAL_METRICS_TOKEN as 'Authorization: Bearer <token>' "
            "(bearer_token_file / authorization in the scrape config).\n",
            status=401,
            content_type="text/plain",
        )
        response["WWW-Authenticate"] = 'Bearer realm="gpu-portal metrics"'
        return response
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)


ENDPOINTS = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics_view}


class OpsEndpointsMiddleware:
    """Early in MIDDLEWARE (before SecurityMiddleware and CommonMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = ENDPOINTS.get(request.path_info)
        if view is None:
            return self.get_response(request)
        request.ops_endpoint = request.path_info.lstrip("/")
        return view(request)
