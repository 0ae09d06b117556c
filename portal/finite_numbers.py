"""Numbers a person typed must be finite: NaN and +-Infinity parse as floats and Decimals, pass
min/max comparisons in surprising ways (NaN compares false to everything) and break rendering
later, so they are refused where the value comes in, with a message for the field."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

NOT_FINITE = "Enter a finite number (not NaN or infinity)."


def is_finite_number(value) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Decimal):
        return value.is_finite()
    if isinstance(value, str):
        try:
            return Decimal(value.strip().rstrip("%").strip()).is_finite()
        except InvalidOperation:
            return True  # not a number at all: the field's own parsing says so
    return True


def validate_finite(value) -> None:
    """A Django validator (forms, models, DRF fields via `validators=`)."""
    if value is not None and not is_finite_number(value):
        raise ValidationError(NOT_FINITE, code="not_finite")


def parse_ratio(text: str) -> Decimal:
    """'95%', '95' or '0.95' -> Decimal('0.95'); refuses what is not a ratio in (0, 1]."""
    raw = (text or "").strip()
    try:
        value = Decimal(raw.rstrip("%").strip())
    except InvalidOperation:
        raise ValidationError(
            f"'{text}' is not a number or percentage (e.g. 95%).", code="invalid"
        ) from None
    if not value.is_finite():
        raise ValidationError(NOT_FINITE, code="not_finite")
    ratio = value / 100 if raw.endswith("%") or value > 1 else value
    if not Decimal(0) < ratio <= Decimal(1):
        raise ValidationError(
            f"'{text}' is outside 0-100%: give a percentage such as 95% or a ratio such as 0.95.",
            code="out_of_range",
        )
    return ratio
