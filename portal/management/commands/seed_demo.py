"""`manage.py seed_demo`: idempotent demo data (groups, one login per role, a cluster, a GPU
catalog, tenants, and whatever the workloads / contracts / costs apps' `demo.py` add)."""

import importlib
import importlib.util
import os
import traceback

import pghistory
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portal import roles

# username -> (group or None for the superuser, password, what they are). Demo only: the
# command refuses to run with DEBUG=0 unless forced.
DEMO_USERS = {
    "admin": (None, "admin-demo-pass", "superuser (Django admin)"),
    "platform": (roles.PLATFORM_ADMIN, "platform-demo-pass", "platform admin"),
    "sre": (roles.SRE, "sre-demo-pass", "SRE"),
    "finance": (roles.FINANCE, "finance-demo-pass", "finance"),
    "mlteam": (roles.ML_TEAM, "mlteam-demo-pass", "ML team, owner of tenant 'vision'"),
    "vision-dev": (roles.ML_TEAM, "vision-dev-demo-pass", "ML team, member of 'vision'"),
    "search-lead": (roles.ML_TEAM, "search-demo-pass", "ML team, owner of 'search-ranking'"),
    "speech-lead": (roles.ML_TEAM, "speech-demo-pass", "ML team, owner of pending 'speech'"),
}

# Seeded in this order; the first two are required, the others are skipped when absent.
DEMO_MODULES = [
    "clusters.demo",
    "tenants.demo",
    "workloads.demo",
    "contracts.demo",
    "costs.demo",
    "guardrails.demo",
]
REQUIRED = {"clusters.demo", "tenants.demo"}


def seed_users() -> None:
    for name in roles.ALL_GROUPS:
        Group.objects.get_or_create(name=name)
    User = get_user_model()
    for username, (group, password, _) in DEMO_USERS.items():
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.com"}
        )
        if created or not user.check_password(password):
            user.set_password(password)
        if group is None:
            user.is_superuser = user.is_staff = True
        user.save()
        if group is not None:
            user.groups.add(Group.objects.get(name=group))


class Command(BaseCommand):
    help = "Load demo data (idempotent) and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="run even with DEBUG=0 (demo passwords!)"
        )
        parser.add_argument(
            "--strict", action="store_true", help="fail when an optional app's demo fails"
        )
        parser.add_argument(
            "--only",
            nargs="+",
            metavar="APP",
            help="seed only these apps' demo data (clusters and tenants always come first)",
        )

    def handle(self, *args, force=False, strict=False, only=None, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG=0: refusing to create demo users with well-known passwords; "
                "pass --force if this really is a demo installation."
            )
        with pghistory.context(command="seed_demo"):
            with transaction.atomic():
                seed_users()
            failed = []
            for module_name in DEMO_MODULES:
                app = module_name.split(".")[0]
                if only and module_name not in REQUIRED and app not in only:
                    continue
                if importlib.util.find_spec(module_name) is None:
                    self.stdout.write(f"  {module_name}: not present, skipped")
                    continue
                try:
                    with transaction.atomic():
                        importlib.import_module(module_name).seed_demo()
                except Exception:
                    if module_name in REQUIRED or strict:
                        raise
                    failed.append(module_name)
                    self.stderr.write(f"  {module_name}: FAILED\n{traceback.format_exc()}")
                    continue
                self.stdout.write(f"  {module_name}: seeded")
        self.print_logins()
        if failed:
            self.stderr.write(f"Demo data incomplete: {', '.join(failed)} failed (see above).")

    def print_logins(self) -> None:
        url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/"
        self.stdout.write(self.style.SUCCESS(f"Demo logins ({url}):"))
        for username, (_, password, what) in DEMO_USERS.items():
            self.stdout.write(f"  {username:<12} {password:<22} {what}")
