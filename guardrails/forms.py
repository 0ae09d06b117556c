"""Forms of the guardrails pages (platform admins only)."""

from django import forms

from tenants.models import Environment, EnvironmentName, Tenant, Tier
from workloads.models import Workload

from .models import ClusterGuardrails
from .rules import RULE_CHOICES

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class SettingsForm(forms.Form):
    allowed_registries = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One registry prefix per line, e.g. registry.example.com/ml. Prod images "
        "must come from one of them.",
    )
    baseline_tiers = forms.MultipleChoiceField(
        required=False,
        choices=Tier.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tiers whose namespaces run at Pod Security baseline instead of restricted.",
    )

    def cleaned_registries(self) -> list[str]:
        return self.cleaned_data["allowed_registries"].splitlines()


class ModeForm(forms.Form):
    mode = forms.ChoiceField(choices=ClusterGuardrails.Mode.choices)


class ExceptionFields(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    expires_at = forms.DateTimeField(
        label="Ends at (UTC)", widget=DATETIME, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d"]
    )


class PodSecurityExceptionForm(ExceptionFields):
    environment = forms.ModelChoiceField(
        queryset=Environment.objects.filter(tenant__status=Tenant.Status.ACTIVE)
        .select_related("tenant")
        .order_by("namespace"),
        label="Namespace",
    )
    field_order = ["environment", "reason", "expires_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["environment"].label_from_instance = lambda env: env.namespace


class RuleExemptionForm(ExceptionFields):
    workload = forms.ModelChoiceField(
        queryset=Workload.objects.filter(tenant__status=Tenant.Status.ACTIVE)
        .select_related("tenant")
        .order_by("tenant__slug", "name")
    )
    environment = forms.ChoiceField(choices=EnvironmentName.choices)
    rule = forms.ChoiceField(choices=RULE_CHOICES)
    field_order = ["workload", "environment", "rule", "reason", "expires_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workload"].label_from_instance = lambda w: f"{w.tenant.slug} / {w.name}"

    def clean(self):
        data = super().clean()
        workload, name = data.get("workload"), data.get("environment")
        if workload and name:
            env = Environment.objects.filter(tenant_id=workload.tenant_id, name=name).first()
            if env is None:
                self.add_error("environment", f"{workload.tenant.slug} has no {name} environment.")
            data["environment_row"] = env
        return data


class RevokeForm(forms.Form):
    kind = forms.ChoiceField(choices=[("pod-security", "pod-security"), ("rule", "rule")])
    pk = forms.IntegerField(min_value=1, max_value=2**62)
