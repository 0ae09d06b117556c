"""The audit trail in one place: how models are tracked, who the actor of a write is, and how
events are read back.

Events are written by PostgreSQL triggers (django-pghistory), so nothing can skip them; the actor
and URL come from the pghistory context (HistoryMiddleware for the web, `request_context()` in the
API, `task_context()` in tasks). Every tracked model uses `audited()`; the pages in
`portal/audit_views.py` and the tenant history read through the functions below.
"""

import functools
import operator
from datetime import datetime, time, timedelta

import pghistory
import pghistory.core
import pghistory.models
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

# The audit trail's "tenant" filter resolves slugs on this tracked model. Named, not imported:
# portal sits below the domain apps.
TENANT_MODEL = "tenants.Tenant"


def audited(**kwargs):
    """Record inserts, updates and deletes of a model in PostgreSQL triggers (the audit trail).

    Keyword arguments go to `pghistory.track` (e.g. `exclude=[...]` for secrets or counters)."""
    return pghistory.track(
        pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), **kwargs
    )


def request_context(request):
    """Record the caller (token or session user) and URL as the actor of the writes inside."""
    return pghistory.context(user=request.user.id, url=request.path)


def task_context(task: str, **fields):
    """Record a background job (and what it worked on) as the actor of the writes inside."""
    return pghistory.context(task=task, **fields)


def tracked_models() -> dict[str, type]:
    """Tracked model label ("tenants.Tenant") -> its event model, for the model filter."""
    return {
        e.pgh_tracked_model._meta.label: e
        for e in pghistory.core.event_models()
        if getattr(e, "pgh_tracked_model", None) is not None
    }


def _is_user_field(field: str) -> bool:
    """Columns that point at a user (decided_by_id, requested_by_id, user_id, ...)."""
    return field.endswith("_by_id") or field == "user_id"


def events_with_actors(events) -> list:
    """Evaluate `events` and attach `actor` (username or "") in one more query; user columns in
    the changes are shown as usernames (`decided_by: alice`), not ids."""
    events = list(events)
    ids = set()
    for e in events:
        user_id = (e.pgh_context or {}).get("user")
        if isinstance(user_id, int):
            ids.add(user_id)
        e.changes = _changes(e)
        for field, before, after in e.changes:
            if _is_user_field(field):
                ids.update(v for v in (before, after) if isinstance(v, int))
    names = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))
    for e in events:
        context = e.pgh_context or {}
        e.actor = names.get(context.get("user"), "")
        e.url = context.get("url", "")
        data = e.pgh_data or {}
        e.object_label = data.get("slug") or data.get("namespace") or data.get("name") or ""
        e.changes = [
            (field.removesuffix("_id"), names.get(before, before), names.get(after, after))
            if _is_user_field(field)
            else (field, before, after)
            for field, before, after in e.changes
        ]
    return events


def _changes(event) -> list[tuple[str, object, object]]:
    """(field, before, after) for updates; the inserted or deleted row's fields otherwise."""
    if event.pgh_diff:
        return [(field, pair[0], pair[1]) for field, pair in sorted(event.pgh_diff.items())]
    data = event.pgh_data or {}
    if event.pgh_label == "delete":
        return [(k, v, None) for k, v in sorted(data.items())]
    return [(k, None, v) for k, v in sorted(data.items())]


def filtered_events(data: dict):
    """The Events queryset for cleaned filter data, newest first."""
    qs = pghistory.models.Events.objects.all()
    model = data.get("model")
    if model:
        qs = qs.across(tracked_models()[model])
    if data.get("tenant"):
        tenant = _tenant_by_slug(data["tenant"])
        if tenant is None:
            return qs.none()
        qs = qs.references(tenant)
    if data.get("actor"):
        user_id = (
            get_user_model()
            .objects.filter(username=data["actor"])
            .values_list("pk", flat=True)
            .first()
        )
        if user_id is None:
            return qs.none()
        qs = qs.filter(pgh_context__user=user_id)
    tz = timezone.get_current_timezone()
    if data.get("start"):
        qs = qs.filter(pgh_created_at__gte=datetime.combine(data["start"], time.min, tz))
    if data.get("end"):
        end = datetime.combine(data["end"] + timedelta(days=1), time.min, tz)
        qs = qs.filter(pgh_created_at__lt=end)
    return qs.order_by("-pgh_created_at", "-pgh_id")


def _tenant_by_slug(slug: str):
    event_model = tracked_models().get(TENANT_MODEL)
    if event_model is None:
        return None
    return event_model.pgh_tracked_model.objects.filter(slug=slug).first()


def events_by_key(events_qs, keys: list[tuple[str, int]]) -> list:
    """The events of `keys` (pgh_model, pgh_id), in that order. The page is chosen on keys
    first because pghistory computes each event's data and diff (JSON per row, a lookup of
    the previous row) for every row it reads: for the whole trail when the full query is
    sorted and sliced (~0.5 s at 11,000 events), for 50 rows here."""
    if not keys:
        return []
    wanted = functools.reduce(operator.or_, (Q(pgh_model=m, pgh_id=i) for m, i in keys))
    by_key = {(e.pgh_model, e.pgh_id): e for e in events_qs.filter(wanted)}
    return [by_key[key] for key in keys if key in by_key]
