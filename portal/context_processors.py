"""Template context: the signed-in user's portal roles, for navigation."""

from . import guide, roles


def portal_roles(request):
    user = getattr(request, "user", None)
    return {
        "is_platform_admin": roles.is_platform_admin(user),
        "is_sre": roles.is_sre(user),
        "is_finance": roles.is_finance(user),
        "guide_url": guide.guide_url_for(user),
    }
