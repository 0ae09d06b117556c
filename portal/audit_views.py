"""The audit trail pages: pghistory events of every tracked model, filterable, exportable as CSV.

The reads live in portal/audit.py; this module is the filter form and the two pages.
"""

import csv
import json

import pghistory.models
from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import roles
from .audit import events_by_key, events_with_actors, filtered_events, tracked_models

PAGE_SIZE = 50
CSV_MAX_ROWS = 50_000


class AuditFilterForm(forms.Form):
    model = forms.ChoiceField(required=False)
    actor = forms.CharField(required=False, max_length=150)
    tenant = forms.SlugField(required=False, max_length=63)
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", "all")] + [
            (label, label) for label in sorted(tracked_models())
        ]

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", "The end date is before the start date.")
        return data


@login_required
@require_GET
def audit_list(request):
    # Platform admins own the audit; SREs read it to trace who changed what in incidents.
    roles.require(request.user, roles.PLATFORM_ADMIN, roles.SRE)
    form = AuditFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    if request.GET and not form.is_valid():
        events_qs = pghistory.models.Events.objects.none()
    else:
        events_qs = filtered_events(data)
    page = Paginator(events_qs.values_list("pgh_model", "pgh_id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    page.object_list = events_with_actors(events_by_key(events_qs, list(page.object_list)))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "portal/audit_list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


class _Echo:
    def write(self, value):
        return value


@login_required
@require_GET
def audit_csv(request):
    # Platform admins own the audit; SREs read it to trace who changed what in incidents.
    roles.require(request.user, roles.PLATFORM_ADMIN, roles.SRE)
    form = AuditFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    invalid = bool(request.GET) and not form.is_valid()
    events = [] if invalid else filtered_events(data)[:CSV_MAX_ROWS]
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(
            ["time", "actor", "url", "model", "object_id", "object", "action", "changes", "data"]
        )
        chunk = []
        for event in events:
            chunk.append(event)
            if len(chunk) == 500:
                yield from _csv_rows(writer, chunk)
                chunk = []
        yield from _csv_rows(writer, chunk)

    response = StreamingHttpResponse(rows(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="gpu-portal-audit.csv"'
    return response


def _cell(value: str) -> str:
    """Keep spreadsheets from reading a cell as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _csv_rows(writer, chunk):
    for e in events_with_actors(chunk):
        yield writer.writerow(
            [
                e.pgh_created_at.isoformat(),
                _cell(e.actor),
                _cell(e.url),
                e.pgh_obj_model,
                e.pgh_obj_id,
                _cell(str(e.object_label)),
                e.pgh_label,
                json.dumps(e.pgh_diff or {}, sort_keys=True, default=str),
                json.dumps(e.pgh_data or {}, sort_keys=True, default=str),
            ]
        )
