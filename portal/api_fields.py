"""Strict input fields for every app's API: a value of the wrong JSON type is a 400 naming the
field, never quietly coerced ("4" is not a number, 12 is not a string, "yes" is not a boolean;
NaN and Infinity are not numbers). Output and query-string parameters keep DRF's own fields.

Import these instead of `rest_framework.serializers`' fields in input serializers, and derive
input ModelSerializers from `StrictModelSerializer` so the fields built from the model are strict
too. The OpenAPI schema is the same as with DRF's fields (they are subclasses).
"""

import math
from decimal import Decimal

from django.db import models
from rest_framework import serializers


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: "4", 4.5 and true are type errors, not quietly coerced."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false only: "true", 1 and "yes" are type errors."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictDecimalField(serializers.DecimalField):
    """A JSON number or a decimal string ("12.50", the precise way to send money); never a
    boolean, NaN or Infinity."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float | str | Decimal):
            self.fail("invalid")
        if isinstance(data, float) and not math.isfinite(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictStringMixin:
    """A JSON string only: 12 or true for a text field is a type error, not "12"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError("Not a valid string.", code="invalid")
        return super().to_internal_value(data)


class CharField(StrictStringMixin, serializers.CharField):
    pass


class RegexField(StrictStringMixin, serializers.RegexField):
    pass


class EmailField(StrictStringMixin, serializers.EmailField):
    pass


class SlugField(StrictStringMixin, serializers.SlugField):
    pass


class URLField(StrictStringMixin, serializers.URLField):
    pass


# A ModelSerializer whose fields built from the model are the strict ones above. (A comment,
# not a docstring: drf-spectacular would show a docstring as every subclass's description.)
class StrictModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.BigIntegerField: StrictIntegerField,
        models.BooleanField: StrictBooleanField,
        models.CharField: CharField,
        models.DecimalField: StrictDecimalField,
        models.EmailField: EmailField,
        models.IntegerField: StrictIntegerField,
        models.PositiveBigIntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.PositiveSmallIntegerField: StrictIntegerField,
        models.SlugField: SlugField,
        models.SmallIntegerField: StrictIntegerField,
        models.TextField: CharField,
        models.URLField: URLField,
    }
