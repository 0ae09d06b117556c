"""`manage.py check --deploy` checks of how the portal is observed."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def metrics_token_set(app_configs=None, **kwargs):
    if settings.PORTAL_METRICS_TOKEN:
        return []
    return [
        checks.Warning(
            "/metrics is served without a token.",
            hint=(
                "Set PORTAL_METRICS_TOKEN and give Prometheus the same bearer token, or allow "
                "only Prometheus to reach the pods' port with a NetworkPolicy "
                "(docs/observing.md)."
            ),
            id="gpu_portal.W010",
        )
    ]
