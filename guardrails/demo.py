"""Demo data for the guardrails: the demo workloads' registry on the allow-list. Idempotent;
the demo cluster stays in audit mode (report, never block), as a new cluster does."""

from .models import GuardrailSettings
from .selectors import SETTINGS_PK

DEMO_REGISTRIES = ["registry.example.com"]


def seed_demo() -> None:
    GuardrailSettings.objects.get_or_create(
        pk=SETTINGS_PK, defaults={"allowed_registries": DEMO_REGISTRIES}
    )
