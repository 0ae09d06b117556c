"""Users from the identity provider: created at first login, matched by (issuer, subject), roles
replaced from groups at every login, break-glass accounts never taken over."""

import pytest
from django.core.exceptions import SuspiciousOperation

from accounts.models import OidcIdentity
from accounts.services import identities
from tenants.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
ISS = "https://idp.example.com"


@pytest.fixture(autouse=True)
def mapping(settings):
    settings.PORTAL_OIDC_ROLE_GROUPS = "platform-admin=gpu-admins;sre=sre-team,oncall;finance=x"


def claims(sub="u-1", username="mia", groups=()):
    return {"iss": ISS, "sub": sub, "preferred_username": username, "groups": list(groups),
            "email": f"{username}@example.com"}  # fmt: skip


def group_names(user):
    return set(user.groups.values_list("name", flat=True))


def test_first_login_creates_the_user_with_the_roles_of_their_groups():
    user = identities.sign_in_from_provider(claims=claims(groups=["oncall", "x", "y"]))

    assert (user.username, user.email) == ("mia", "mia@example.com")
    assert group_names(user) == {"sre", "finance"}
    assert not user.has_usable_password()
    assert identities.user_for_identity(issuer=ISS, subject="u-1") == user


def test_every_login_replaces_the_roles_and_keeps_other_groups():
    user = identities.sign_in_from_provider(claims=claims(groups=["gpu-admins"]))
    user.groups.create(name="break-glass-reviewers")

    identities.sign_in_from_provider(claims=claims(groups=["sre-team"]), user=user)

    assert group_names(user) == {"sre", "break-glass-reviewers"}


def test_an_existing_password_account_is_linked_on_its_first_sso_login():
    existing = UserFactory(username="mia")

    user = identities.sign_in_from_provider(claims=claims())

    assert user == existing and OidcIdentity.objects.get().user == existing


def test_a_break_glass_account_is_never_taken_over_by_a_provider_username():
    UserFactory(username="root", groups=["break-glass"])
    with pytest.raises(SuspiciousOperation):
        identities.sign_in_from_provider(claims=claims(username="root"))


def test_a_second_subject_with_a_taken_username_is_refused():
    identities.sign_in_from_provider(claims=claims(sub="u-1"))
    with pytest.raises(SuspiciousOperation):
        identities.sign_in_from_provider(claims=claims(sub="u-2"))


def test_an_unknown_role_in_the_mapping_is_a_clear_configuration_error(settings):
    settings.PORTAL_OIDC_ROLE_GROUPS = "admin=gpu-admins"
    with pytest.raises(ValueError, match="unknown role 'admin'"):
        identities.role_mapping()
