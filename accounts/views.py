"""Pages of accounts: sign-in (throttled) and the user's own page with their API tokens."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal import roles
from portal.domain_errors import DomainError

from . import oidc
from .forms import NewTokenForm, ThrottledAuthenticationForm
from .models import ApiToken
from .services import tokens


class LoginView(auth_views.LoginView):
    form_class = ThrottledAuthenticationForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sso_enabled"] = oidc.enabled()
        context["sso_name"] = settings.PORTAL_OIDC_PROVIDER_NAME
        return context


class LogoutView(auth_views.LogoutView):
    """Sign out here, and at the identity provider too when the session came from it."""

    def post(self, request, *args, **kwargs):
        if oidc.enabled() and request.session.get("oidc_id_token"):
            target = oidc.provider_logout_url(request)
            auth_logout(request)
            return redirect(target)
        return super().post(request, *args, **kwargs)


def _me(request, *, form=None, new_key=None, status=200):
    return render(
        request,
        "accounts/me.html",
        {
            "form": form or NewTokenForm(),
            "tokens": ApiToken.objects.filter(user=request.user),
            "new_key": new_key,
            "groups": sorted(roles.group_names(request.user)),
        },
        status=status,
    )


@login_required
def me(request):
    if request.method != "POST":
        return _me(request)
    form = NewTokenForm(request.POST)
    if not form.is_valid():
        return _me(request, form=form, status=400)
    try:
        _, key = tokens.create_token(
            user=request.user,
            name=form.cleaned_data["name"],
            days=form.cleaned_data["expires_in_days"],
        )
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        return _me(request, form=form, status=400)
    # rendered, not redirected: the key is shown this once and never stored
    return _me(request, new_key=key)


@login_required
@require_POST
def revoke(request):
    try:
        pk = int(request.POST.get("token", ""))
    except ValueError:
        pk = 0
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    try:
        tokens.revoke_token(actor=request.user, token=token)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Token {token.name} revoked.")
    return redirect("accounts:me")
