"""Answering an action (a POST that runs a service): htmx gets the updated partial, with the
service's error in it; a plain form post gets a message and a redirect (the page works
without JavaScript). The one place that decides between the two, like NetBox's
utilities/htmx.py.

    return htmx.act(
        request,
        lambda: services.force_sync(actor=request.user, tenant_id=tenant.pk),
        done="Sync requested.",
        partial="tenants/_sync_panel.html",
        context=lambda: sync_context(tenant, request.user),
        redirect_to=reverse("tenants_sync:panel", args=[tenant.slug]),
    )

Partials show `{{ error }}` (empty when the action succeeded) in an element with role="alert".
"""

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from .domain_errors import DomainError


def answer(
    request: HttpRequest,
    *,
    partial: str,
    context: dict,
    redirect_to: str,
    done: str = "",
    error: str = "",
    trigger: str = "",
) -> HttpResponse:
    """htmx: `partial` rendered with `context` and `error` (plus the `trigger` event on success,
    for other parts of the page to refresh); otherwise the message and a redirect."""
    if request.htmx:
        response = render(request, partial, {**context, "error": error})
        if trigger and not error:
            response["HX-Trigger"] = trigger
        return response
    if error:
        messages.error(request, error)
    elif done:
        messages.success(request, done)
    return redirect(redirect_to)


def act(
    request: HttpRequest,
    action: Callable[[], object],
    *,
    done: str | Callable[[object], str],
    partial: str,
    context: Callable[[], dict],
    redirect_to: str,
    trigger: str = "",
) -> HttpResponse:
    """Run `action`; a DomainError becomes the answer's error. `context` is called after the
    action, so the partial shows the state it left; `done` may be built from its result."""
    error = ""
    result = None
    try:
        result = action()
    except DomainError as exc:
        error = str(exc)
    message = "" if error else (done(result) if callable(done) else done)
    return answer(
        request,
        partial=partial,
        context=context(),
        redirect_to=redirect_to,
        done=message,
        error=error,
        trigger=trigger,
    )
