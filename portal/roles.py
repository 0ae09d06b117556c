"""Portal-wide roles (Django groups) and the checks every view and API endpoint uses."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied

PLATFORM_ADMIN = "platform-admin"
SRE = "sre"
FINANCE = "finance"
ML_TEAM = "ml-team"

ALL_GROUPS = (PLATFORM_ADMIN, SRE, FINANCE, ML_TEAM)


def group_names(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    """The user's group names, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_portal_group_names", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._portal_group_names = cached
    return cached


def is_platform_admin(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or PLATFORM_ADMIN in group_names(user)


def is_sre(user) -> bool:
    return SRE in group_names(user)


def is_finance(user) -> bool:
    return FINANCE in group_names(user)


def sees_all_tenants(user) -> bool:
    """Platform admins, SREs and finance read every tenant; ML teams only their own."""
    return is_platform_admin(user) or is_sre(user) or is_finance(user)


def primary_role(user) -> str:
    """The role whose landing page the user sees first."""
    if is_platform_admin(user):
        return PLATFORM_ADMIN
    if is_sre(user):
        return SRE
    if is_finance(user):
        return FINANCE
    return ML_TEAM


_HAS_ROLE = {PLATFORM_ADMIN: is_platform_admin, SRE: is_sre, FINANCE: is_finance}


def require(user, *allowed: str, message: str = "") -> None:
    """Raise PermissionDenied (403; `message` is shown) unless the user holds one of the
    `allowed` portal roles (PLATFORM_ADMIN, SRE, FINANCE; superusers are platform admins).
    The one role check of views, API and services alike."""
    if not allowed or any(role not in _HAS_ROLE for role in allowed):
        raise ValueError(f"require() takes roles among {sorted(_HAS_ROLE)}, got {allowed}")
    if not any(_HAS_ROLE[role](user) for role in allowed):
        raise PermissionDenied(message)
