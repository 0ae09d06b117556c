"""portal/roles.py: require() is the one role check of views, API and services."""

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.core.exceptions import PermissionDenied

from portal import roles
from tenants.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def user_in(*groups):
    user = UserFactory()
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user


def test_a_user_with_one_of_the_roles_passes():
    roles.require(user_in(roles.SRE), roles.PLATFORM_ADMIN, roles.SRE)


def test_a_user_without_the_role_is_refused_with_the_message():
    with pytest.raises(PermissionDenied, match="Only finance maintains the price book."):
        roles.require(
            user_in(roles.SRE), roles.FINANCE, message="Only finance maintains the price book."
        )


def test_a_superuser_counts_as_platform_admin_and_nothing_else():
    admin = UserFactory(is_superuser=True)
    roles.require(admin, roles.PLATFORM_ADMIN)
    with pytest.raises(PermissionDenied):
        roles.require(admin, roles.FINANCE)


def test_anonymous_users_hold_no_role():
    with pytest.raises(PermissionDenied):
        roles.require(AnonymousUser(), roles.PLATFORM_ADMIN, roles.SRE, roles.FINANCE)


def test_an_unknown_role_is_a_programming_error_not_a_pass():
    with pytest.raises(ValueError):
        roles.require(user_in(roles.ML_TEAM), "platform_admin")
