from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"

    def ready(self):
        from . import notify  # noqa: F401 - registers the tenant directory for notifications
