"""Forms of accounts: the throttled password sign-in, and a new API token."""

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator

from .services import signin


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, refused while the account or the address is locked out; every
    attempt is recorded (accounts.SignInAttempt)."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        ip = signin.client_ip(self.request)
        try:
            signin.check_allowed(username=username, ip=ip, channel="web")
        except signin.Refused as exc:
            raise ValidationError(str(exc), code="locked") from None
        try:
            cleaned = super().clean()
        except ValidationError:
            if self.cleaned_data.get("password"):
                signin.record_failure(username=username, ip=ip, channel="web")
            raise
        if self.user_cache is not None:
            signin.record_success(username=username, ip=ip, channel="web")
        return cleaned

    def get_invalid_login_error(self):
        from . import oidc

        if oidc.enabled():
            return ValidationError(
                "Wrong username or password, or not a break-glass account: everyone else signs "
                "in with single sign-on (the button above).",
                code="invalid_login",
            )
        return super().get_invalid_login_error()


class NewTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. ci-pipeline.")
    expires_in_days = forms.IntegerField(min_value=1, label="Expires in (days)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expires_in_days"].initial = settings.PORTAL_API_TOKEN_DAYS
        self.fields["expires_in_days"].validators.append(
            MaxValueValidator(settings.PORTAL_API_TOKEN_MAX_DAYS)
        )
