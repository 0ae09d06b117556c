"""Forms of the workloads pages: create from a template, change the spec, promote, roll back,
canary. Validation of the rules lives in services; these only shape the input."""

from django import forms

from tenants.models import ENVIRONMENT_ORDER, EnvironmentName, GpuProfile

from .models import REVISION_SPEC_FIELDS, Template, Workload, WorkloadRevision

ENVIRONMENT_CHOICES = [(e.value, e.label) for e in ENVIRONMENT_ORDER]


class RevisionSpecForm(forms.ModelForm):
    """The spec of a revision; the create form adds the workload's own fields."""

    profile = forms.ModelChoiceField(
        queryset=GpuProfile.objects.filter(is_active=True), label="GPU profile"
    )

    class Meta:
        model = WorkloadRevision
        fields = REVISION_SPEC_FIELDS
        labels = {
            "gpus_per_replica": "GPUs per replica (units of the profile)",
            "cold_start_budget_s": "Max cold start (s)",
            "checkpoint_volume_gi": "Checkpoint volume (GiB, training)",
            "schedule": "Schedule (cron, batch)",
            "ttl_seconds_after_finished": "Keep finished jobs for (s)",
            "backoff_limit": "Retries before failing (training/batch)",
        }


class WorkloadCreateForm(RevisionSpecForm):
    name = forms.CharField(
        max_length=40, help_text="Lowercase letters, digits and '-' (a DNS-1123 label)."
    )
    template = forms.ChoiceField(choices=Template.choices)
    description = forms.CharField(max_length=500, required=False)

    field_order = ["name", "template", "description", *REVISION_SPEC_FIELDS]

    def clean_name(self):
        name = self.cleaned_data["name"]
        try:
            Workload._meta.get_field("name").run_validators(name)
        except forms.ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None
        return name


class PromoteForm(forms.Form):
    environment = forms.ChoiceField(choices=ENVIRONMENT_CHOICES)


class RollbackForm(forms.Form):
    environment = forms.ChoiceField(choices=ENVIRONMENT_CHOICES)
    reason = forms.CharField(max_length=500, required=False)


class CanaryForm(forms.Form):
    environment = forms.ChoiceField(choices=ENVIRONMENT_CHOICES, initial=EnvironmentName.PROD)
    revision = forms.IntegerField(min_value=1, required=False)
    percent = forms.IntegerField(min_value=0, max_value=50, initial=10)
