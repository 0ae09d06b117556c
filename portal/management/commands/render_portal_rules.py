"""`manage.py render_portal_rules`: write the portal's own alerting rules into the Helm chart
(deploy/helm/gpu-portal/files/portal-rules.yaml); `--check` fails when the file is stale."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.alerting import RULES_PATH, render_rules_yaml


class Command(BaseCommand):
    help = "Render the portal's PrometheusRule groups into the Helm chart."

    def add_arguments(self, parser):
        parser.add_argument("--output", default=str(Path(settings.BASE_DIR) / RULES_PATH))
        parser.add_argument(
            "--check", action="store_true", help="Fail if the file differs; write nothing."
        )

    def handle(self, *args, output, check, **options):
        path = Path(output)
        text = render_rules_yaml()
        current = path.read_text() if path.exists() else None
        if check:
            if current != text:
                raise CommandError(
                    f"{path} is out of date with portal/alerting.py: "
                    "run `manage.py render_portal_rules` and commit the file."
                )
            self.stdout.write(f"{path} is up to date.")
            return
        if current == text:
            self.stdout.write(f"{path} unchanged.")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.stdout.write(f"wrote {path}")
