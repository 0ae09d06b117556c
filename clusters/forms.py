"""Forms of the cluster registry. Credential fields are write-only: never rendered back."""

from django import forms

from .models import Cluster
from .services import CREDENTIAL_FIELDS

SECRET_WIDGET = forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})


class ClusterForm(forms.ModelForm):
    api_server_url = forms.URLField(required=False, assume_scheme="https", max_length=200)
    prometheus_url = forms.URLField(required=False, assume_scheme="https", max_length=200)
    api_token = forms.CharField(required=False, widget=SECRET_WIDGET, strip=True)
    ca_cert = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="CA certificate (PEM)"
    )
    kubeconfig = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    gitops_credentials = forms.CharField(
        required=False, widget=SECRET_WIDGET, help_text="token, or user:token, for HTTPS pushes"
    )
    prometheus_token = forms.CharField(required=False, widget=SECRET_WIDGET)
    alertmanager_url = forms.URLField(required=False, assume_scheme="https", max_length=200)
    alertmanager_token = forms.CharField(required=False, widget=SECRET_WIDGET)
    grafana_url = forms.URLField(required=False, assume_scheme="https", max_length=200)

    class Meta:
        model = Cluster
        fields = [
            "name", "display_name", "region", "kubernetes_version", "gpu_pool", "backend",
            "is_active", "api_server_url", "verify_tls", "gitops_repo_url", "gitops_branch",
            "prometheus_url", "alertmanager_url", "grafana_url",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Credentials never go back to the browser: the stored value is only "set"/"not set".
        for name in CREDENTIAL_FIELDS:
            self.initial[name] = ""
            if self.instance.pk:
                state = "set" if getattr(self.instance, name) else "not set"
                self.fields[name].help_text = f"Currently {state}; leave empty to keep."
                self.fields[f"clear_{name}"] = forms.BooleanField(
                    required=False, label=f"Remove the stored {name.replace('_', ' ')}"
                )
        if self.instance.pk:
            self.fields["name"].disabled = True


class CapacityOverrideForm(forms.Form):
    gpu_product = forms.CharField(max_length=100)
    resource_name = forms.CharField(max_length=100)
    override = forms.IntegerField(
        required=False, min_value=0, max_value=1_000_000, help_text="empty clears the override"
    )
