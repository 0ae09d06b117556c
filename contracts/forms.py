"""One form per interface-document section, and the on-call directory form."""

from django import forms

from .models import InterfaceDocument, OnCallTeam, Signal


def team_field(label: str, required: bool = False) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=OnCallTeam.objects.order_by("name"),
        to_field_name="name",
        required=required,
        label=label,
    )


class OwnershipForm(forms.Form):
    owner_team = team_field("Owner team")


class PlatformForm(forms.Form):
    platform_contact = team_field("Platform contact")


class OnCallForm(forms.Form):
    sre_contact = team_field("SRE contact")


class ModelSectionForm(forms.ModelForm):
    class Meta:
        model = InterfaceDocument
        fields = ["model_name", "accuracy_metric", "accuracy_drift_pct"]
        labels = {
            "accuracy_metric": "Accuracy drift metric (Prometheus name, a 0-1 drift ratio)",
            "accuracy_drift_pct": "Accuracy drift threshold (%)",
        }


class SloForm(forms.ModelForm):
    class Meta:
        model = InterfaceDocument
        fields = ["p99_latency_ms", "availability_pct", "max_cold_start_s"]
        labels = {
            "p99_latency_ms": "P99 latency (ms)",
            "availability_pct": "Availability (%)",
            "max_cold_start_s": "Max cold start (s)",
        }


class RollbackSectionForm(forms.Form):
    rollback_trigger = forms.CharField(max_length=500, required=False, label="Automated trigger")
    rollback_owner = team_field("Manual decision owner")


class AlertsForm(forms.Form):
    """One row per signal; a row without a paged team is no alert."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for signal in Signal:
            key = signal.value.replace("-", "_")
            self.fields[f"{key}__paged_team"] = team_field(f"{signal.label}: paged team")
            self.fields[f"{key}__threshold"] = forms.CharField(
                max_length=50, required=False, label="threshold"
            )
            self.fields[f"{key}__window"] = forms.CharField(
                max_length=8, required=False, label="window", initial="5m"
            )

    def alerts(self) -> list[dict]:
        rows = []
        for signal in Signal:
            key = signal.value.replace("-", "_")
            team = self.cleaned_data.get(f"{key}__paged_team")
            if team is None:
                continue
            rows.append(
                {
                    "signal": signal.value,
                    "threshold": self.cleaned_data.get(f"{key}__threshold", ""),
                    "window": self.cleaned_data.get(f"{key}__window") or "5m",
                    "paged_team": team.name,
                }
            )
        return {"alerts": rows}

    @staticmethod
    def initial_from(document) -> dict:
        initial = {}
        for alert in document.alerts.all() if document else []:
            key = alert.signal.replace("-", "_")
            initial[f"{key}__paged_team"] = alert.paged_team.name
            initial[f"{key}__threshold"] = alert.threshold
            initial[f"{key}__window"] = alert.window
        return initial


SECTION_FORMS = {
    "ownership": OwnershipForm,
    "model": ModelSectionForm,
    "platform": PlatformForm,
    "oncall": OnCallForm,
    "slos": SloForm,
    "alerts": AlertsForm,
    "rollback": RollbackSectionForm,
}


def section_values(section: str, form) -> dict:
    if section == "alerts":
        return form.alerts()
    values = {}
    for name, value in form.cleaned_data.items():
        values[name] = value.name if isinstance(value, OnCallTeam) else value
    return values


def section_initial(section: str, document) -> dict:
    if document is None:
        return {}
    if section == "alerts":
        return AlertsForm.initial_from(document)
    form_class = SECTION_FORMS[section]
    fields = (
        form_class._meta.fields if hasattr(form_class, "_meta") else form_class.base_fields.keys()
    )
    initial = {}
    for name in fields:
        value = getattr(document, name)
        initial[name] = value.name if isinstance(value, OnCallTeam) else value
    return initial


class OnCallTeamForm(forms.ModelForm):
    pager_url = forms.URLField(
        required=False, assume_scheme="https", help_text="Webhook that pages the rotation"
    )

    class Meta:
        model = OnCallTeam
        fields = [
            "name",
            "display_name",
            "rotation",
            "escalation",
            "pager_url",
            "email",
            "chat_channel",
        ]
