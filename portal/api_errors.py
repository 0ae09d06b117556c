"""API errors as RFC 7807 problem documents that keep DRF's field-level detail.

Every error body has `type`, `title`, `status` and `detail`; validation errors add `errors`
(field name -> list of messages), so clients can show each message beside its field.
"""

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import Http404, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions, status
from rest_framework.views import exception_handler

from .domain_errors import ConflictError, DomainError


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large"
    default_code = "too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict"
    default_code = "conflict"


def _problem(status_code: int, title: str, detail, errors=None) -> dict:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status_code,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def problem_exception_handler(exc, context):
    if isinstance(exc, ConflictError):
        exc = Conflict(detail=str(exc))
    elif isinstance(exc, DomainError):
        exc = exceptions.ValidationError({exc.field or "non_field_errors": [str(exc)]})
    elif isinstance(exc, DjangoValidationError):
        errors = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(errors)
    elif isinstance(exc, IntegrityError):
        # a concurrent write won a uniqueness race the service had checked: retryable, not a 500
        exc = Conflict(detail="The change conflicts with a concurrent one; reload and try again.")
    elif isinstance(exc, DataError):
        # PostgreSQL refused a value from the request (a NUL character in a name looked up by a
        # slug field or query parameter): bad input, not a server fault
        exc = exceptions.ValidationError(
            {
                "non_field_errors": [
                    "A value in the request cannot be stored or looked up (remove NUL characters)."
                ]
            }
        )
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(detail="The request body is larger than this API accepts.")
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    response = exception_handler(exc, context)
    if response is None:
        return None
    code = response.status_code
    title = getattr(exc, "default_detail", "Error")
    if isinstance(exc, exceptions.ValidationError):
        data = response.data
        if isinstance(data, list):
            data = {"non_field_errors": data}
        body = _problem(code, "Invalid input", "The request has invalid fields.", errors=data)
    else:
        detail = response.data.get("detail") if isinstance(response.data, dict) else response.data
        body = _problem(code, str(title), str(detail))
    response.data = body
    response.content_type = "application/problem+json"
    return response


def api_aware_page_not_found(request, exception=None):
    """handler404: a URL under /api/ that no route matches (e.g. /api/v1/workloads/-1/) is a
    problem document like every other API error; other URLs get Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            _problem(404, "Not found.", "No API resource at this URL."),
            status=404,
            content_type="application/problem+json",
        )
    return page_not_found(request, exception)
