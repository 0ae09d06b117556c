"""Forms of the costs app: a date range and a new price book entry."""

from datetime import date

from django import forms
from django.utils import timezone

from tenants.models import GpuProfile, Tenant

from . import ranges

MAX_RANGE_DAYS = 400


class RangeForm(forms.Form):
    """A date range: explicit start/end, else a quick range, else the trailing 30 days."""

    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "range" as a field name would clash with the range() method below
        self.fields["range"] = forms.ChoiceField(
            required=False, choices=[("", "")] + list(ranges.QUICK.items())
        )

    def clean(self):
        data = super().clean()
        today = timezone.now().date()
        if data.get("range") and not data.get("start") and not data.get("end"):
            data["start"], data["end"] = ranges.quick_range(data["range"], today)
            return data
        start, end = data.get("start"), data.get("end") or today
        start = start or ranges.default_range(end, today)[0]
        if start > end:
            self.add_error("start", "The start must be on or before the end.")
        elif (end - start).days > MAX_RANGE_DAYS:
            self.add_error("start", f"A range may span at most {MAX_RANGE_DAYS} days.")
        data["start"], data["end"] = start, end
        return data

    def range(self) -> tuple[date, date]:
        """The valid range, or the trailing 30 days when the input is invalid."""
        if self.is_valid():
            return self.cleaned_data["start"], self.cleaned_data["end"]
        return ranges.trailing(timezone.now().date())

    def quick_links(self) -> list[tuple[str, str]]:
        return list(ranges.QUICK.items())


class PriceForm(forms.Form):
    gpu_model = forms.ChoiceField(required=False, help_text="Price of one whole GPU")
    profile = forms.ModelChoiceField(
        queryset=GpuProfile.objects.all(),
        required=False,
        help_text="Optional: price one unit of this profile instead of its GPU fraction",
    )
    hourly_price = forms.DecimalField(max_digits=12, decimal_places=4, min_value=0)
    currency = forms.RegexField(r"^[A-Za-z]{3}$", initial="USD", max_length=3)
    effective_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, gpu_models: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["gpu_model"].choices = [("", "---------")] + [(m, m) for m in gpu_models]

    def clean(self):
        data = super().clean()
        if not data.get("gpu_model") and not data.get("profile"):
            self.add_error("gpu_model", "Pick a GPU model or a profile.")
        return data


class BudgetForm(forms.Form):
    tenant = forms.ModelChoiceField(
        queryset=Tenant.objects.order_by("slug"), required=False, to_field_name="slug"
    )
    cost_center = forms.CharField(max_length=64, required=False)
    monthly_amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    thresholds = forms.CharField(
        initial="50, 80, 100", help_text="Percent of the budget, comma separated"
    )
    alert_on_forecast = forms.BooleanField(required=False, initial=True)

    def clean_thresholds(self) -> list[int]:
        raw = [part.strip() for part in self.cleaned_data["thresholds"].split(",") if part.strip()]
        if not raw or not all(part.isdigit() for part in raw):
            raise forms.ValidationError("Give whole percentages separated by commas, e.g. 50, 80.")
        return [int(part) for part in raw]

    def clean(self):
        data = super().clean()
        if bool(data.get("tenant")) == bool((data.get("cost_center") or "").strip()):
            self.add_error("tenant", "Pick a tenant or type a cost center (one of the two).")
        return data
