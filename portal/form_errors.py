"""A service's refusal shown on the form that asked for it."""

from django import forms

from .domain_errors import DomainError


def add_domain_error(form: forms.BaseForm, exc: DomainError) -> None:
    """Put the error on the field it names (a field-level message next to the input), or on
    the whole form when the field is not one of the form's."""
    form.add_error(exc.field if exc.field in form.fields else None, str(exc))
