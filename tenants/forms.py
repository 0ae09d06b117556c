"""Forms of the tenancy pages: onboarding, quota requests and decisions."""

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from clusters.models import Cluster

from .models import (
    MAX_UNITS,
    TENANT_SLUG_MAX,
    Environment,
    EnvironmentName,
    GpuProfile,
    Tenant,
    TenantMembership,
    Tier,
    dns1123_label,
)
from .services import RESERVED_SLUGS


def validate_new_slug(value: str) -> None:
    if len(value) > TENANT_SLUG_MAX:
        raise ValidationError(
            f"At most {TENANT_SLUG_MAX} characters, so '<slug>-staging' stays a valid namespace "
            f"(this one has {len(value)})."
        )
    dns1123_label(value)
    if value in RESERVED_SLUGS:
        raise ValidationError(f"'{value}' is reserved; pick another slug.")
    if Tenant.objects.filter(slug=value).exists():
        raise ValidationError(f"The slug '{value}' is taken; pick another.")


class OnboardingForm(forms.Form):
    name = forms.CharField(max_length=100)
    slug = forms.CharField(
        max_length=200,  # checked (and explained) by validate_new_slug
        help_text="Lowercase letters, digits and '-', at most 40 characters. "
        "Namespaces are <slug>-<environment>.",
        validators=[validate_new_slug],
    )
    team = forms.CharField(max_length=100)
    cost_center = forms.CharField(
        max_length=63, help_text="Becomes the gpu-portal.io/cost-center label."
    )
    environments = forms.MultipleChoiceField(
        choices=EnvironmentName.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[EnvironmentName.DEV],
    )
    contact_email = forms.EmailField(label="Contact email")
    oncall_contact = forms.CharField(
        max_length=200, required=False, label="On-call contact", help_text="Pager or channel."
    )
    tier = forms.ChoiceField(choices=Tier.choices, initial=Tier.SMALL)
    cluster = forms.ModelChoiceField(queryset=Cluster.objects.filter(is_active=True))
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    quota_environment = forms.ChoiceField(
        choices=[("", "---------"), *EnvironmentName.choices],
        required=False,
        label="Initial quota: environment",
    )
    quota_profile = forms.ModelChoiceField(
        queryset=GpuProfile.objects.filter(is_active=True),
        required=False,
        label="Initial quota: GPU profile",
    )
    quota_guaranteed = forms.IntegerField(
        min_value=0, max_value=MAX_UNITS, required=False, label="Guaranteed units"
    )
    quota_burst = forms.IntegerField(
        min_value=0, max_value=MAX_UNITS, required=False, label="Burst units"
    )
    quota_justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=4000,
        required=False,
        label="Justification",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # inline validation: each field posts the form and gets its own error list back
        for name, field in self.fields.items():
            field.widget.attrs.update(
                {
                    "hx-post": reverse("tenants:onboard_validate", args=[name]),
                    "hx-trigger": "change, keyup changed delay:500ms",
                    "hx-target": f"#errors-{name}",
                    "hx-swap": "outerHTML",
                    "aria-describedby": f"errors-{name}",
                }
            )
        clusters = self.fields["cluster"].queryset
        if len(clusters) == 1:
            self.fields["cluster"].initial = clusters[0].pk

    def clean_cost_center(self):
        value = self.cleaned_data["cost_center"]
        Tenant._meta.get_field("cost_center").run_validators(value)
        return value

    def clean(self):
        data = super().clean()
        profile = data.get("quota_profile")
        if profile:
            env = data.get("quota_environment")
            if not env:
                self.add_error("quota_environment", "Pick the environment the GPUs are for.")
            elif env not in data.get("environments", []):
                self.add_error("quota_environment", "Pick one of the environments ticked above.")
            no_units = not (data.get("quota_guaranteed") or data.get("quota_burst"))
            if no_units and "quota_guaranteed" not in self.errors:
                self.add_error("quota_guaranteed", "Ask for at least one guaranteed or burst unit.")
            if not (data.get("quota_justification") or "").strip():
                self.add_error("quota_justification", "Say what the GPUs are for.")
        return data

    def initial_quota(self) -> dict | None:
        data = self.cleaned_data
        if not data.get("quota_profile"):
            return None
        return dict(
            environment=data["quota_environment"],
            profile=data["quota_profile"],
            guaranteed=data.get("quota_guaranteed") or 0,
            burst=data.get("quota_burst") or 0,
            justification=data["quota_justification"],
        )


class QuotaRequestForm(forms.Form):
    environment = forms.ModelChoiceField(queryset=Environment.objects.none())
    profile = forms.ModelChoiceField(
        queryset=GpuProfile.objects.filter(is_active=True), label="GPU profile"
    )
    guaranteed = forms.IntegerField(
        min_value=0,
        max_value=MAX_UNITS,
        initial=1,
        help_text="Reserved for you: never over-committed.",
    )
    burst = forms.IntegerField(
        min_value=0,
        max_value=MAX_UNITS,
        initial=0,
        help_text="On top of guaranteed, borrowed from idle capacity; may be preempted.",
    )
    justification = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["environment"].queryset = tenant.environments.order_by("name")

    def clean(self):
        data = super().clean()
        if data.get("guaranteed") == 0 and data.get("burst") == 0:
            self.add_error("guaranteed", "Ask for at least one guaranteed or burst unit.")
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.TextInput(attrs={"placeholder": "Reason (the requester sees it)"}),
    )


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=TenantMembership.Role.choices)
