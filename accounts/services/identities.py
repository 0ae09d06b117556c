"""Users from the identity provider: matched by (issuer, subject), created at first login, and
their portal roles (Django groups) set from their provider groups at every login."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import SuspiciousOperation
from django.db import transaction

from portal import roles

from ..models import OidcIdentity


def role_mapping() -> dict[str, set[str]]:
    """portal role -> provider groups, from PORTAL_OIDC_ROLE_GROUPS
    ("platform-admin=gpu-admins,infra-leads;sre=sre;finance=finops;ml-team=ml")."""
    mapping = {role: set() for role in roles.ALL_GROUPS}
    for part in settings.PORTAL_OIDC_ROLE_GROUPS.split(";"):
        if not part.strip():
            continue
        role, _, groups = part.partition("=")
        role = role.strip()
        if role not in mapping:
            raise ValueError(
                f"PORTAL_OIDC_ROLE_GROUPS names unknown role {role!r}: "
                f"use {', '.join(roles.ALL_GROUPS)}"
            )
        mapping[role] |= {g.strip() for g in groups.split(",") if g.strip()}
    return mapping


def roles_for_groups(groups) -> set[str]:
    groups = set(groups or ())
    return {role for role, mapped in role_mapping().items() if mapped & groups}


def user_for_identity(*, issuer: str, subject: str):
    identity = OidcIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject)
    identity = identity.first()
    return identity.user if identity else None


@transaction.atomic
def sign_in_from_provider(*, claims: dict, user=None):
    """Create (first login) or refresh the user of these verified claims; set their roles."""
    User = get_user_model()
    username = str(claims[settings.PORTAL_OIDC_USERNAME_CLAIM])[:150]
    groups = claims.get(settings.PORTAL_OIDC_GROUPS_CLAIM) or []
    if isinstance(groups, str):
        groups = [groups]
    if user is None:
        existing = User.objects.filter(username=username).first()
        if existing is not None:
            if OidcIdentity.objects.filter(user=existing).exists():
                raise SuspiciousOperation(
                    f"username {username!r} belongs to another identity-provider subject"
                )
            if existing.groups.filter(name="break-glass").exists() or existing.is_superuser:
                raise SuspiciousOperation(
                    f"username {username!r} is a break-glass or superuser account"
                )
            user = existing  # an account made before SSO: linked on its first SSO login
        else:
            user = User(username=username)
            user.set_unusable_password()
        OidcIdentity.objects.create(user=user if user.pk else _saved(user), issuer=claims["iss"],
                                    subject=claims["sub"])  # fmt: skip
    elif user.username != username and not User.objects.filter(username=username).exists():
        user.username = username  # renamed at the provider
    user.email = str(claims.get("email") or user.email)[:254]
    user.first_name = str(claims.get("given_name") or user.first_name)[:150]
    user.last_name = str(claims.get("family_name") or user.last_name)[:150]
    user.save()
    wanted = roles_for_groups(groups)
    current = set(user.groups.filter(name__in=roles.ALL_GROUPS).values_list("name", flat=True))
    for name in wanted - current:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    if current - wanted:
        user.groups.remove(*Group.objects.filter(name__in=current - wanted))
    return user


def _saved(user):
    user.save()
    return user
