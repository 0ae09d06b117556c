"""Who belongs to a tenant, answered by the app that owns tenants (notifications imports no
domain app). tenants registers its implementation at start-up (tenants/notify.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class TenantDirectory(Protocol):
    def member_ids(self, tenant_id: int, tenant_roles: Iterable[str]) -> set[int]:
        """Ids of users holding one of `tenant_roles` in the tenant."""

    def owned_tenants(self, user) -> list[tuple[int, str]]:
        """(id, slug) of the tenants whose webhook `user` may set (owners; admins: all)."""


class _NoTenants:
    def member_ids(self, tenant_id, tenant_roles):
        return set()

    def owned_tenants(self, user):
        return []


_directory: TenantDirectory = _NoTenants()


def register_tenant_directory(directory: TenantDirectory) -> None:
    global _directory
    _directory = directory


def tenant_directory() -> TenantDirectory:
    return _directory
