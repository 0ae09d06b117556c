"""portal/api_fields.py: strict input fields, shared by every app's API."""

from decimal import Decimal

import pytest
from rest_framework import serializers

from portal import api_fields
from workloads.api import RevisionInput


class Probe(serializers.Serializer):
    count = api_fields.StrictIntegerField(required=False)
    flag = api_fields.StrictBooleanField(required=False)
    price = api_fields.StrictDecimalField(max_digits=8, decimal_places=2, required=False)
    name = api_fields.CharField(required=False)
    url = api_fields.URLField(required=False)


@pytest.mark.parametrize(
    "field, value",
    [
        ("count", "4"),
        ("count", 4.5),
        ("count", True),
        ("flag", "true"),
        ("flag", 1),
        ("price", True),
        ("price", float("nan")),
        ("price", float("inf")),
        ("price", "NaN"),
        ("name", 12),
        ("name", ["a"]),
        ("url", 5),
    ],
)
def test_a_value_of_the_wrong_type_is_a_field_error(field, value):
    probe = Probe(data={field: value})
    assert not probe.is_valid()
    assert list(probe.errors) == [field]


def test_values_of_the_right_type_pass():
    probe = Probe(
        data={"count": 4, "flag": False, "price": "12.50", "name": "x", "url": "https://a.io"}
    )
    assert probe.is_valid(), probe.errors
    assert probe.validated_data["price"] == Decimal("12.50")
    assert Probe(data={"price": 3}).is_valid()


def test_model_serializers_built_on_the_strict_base_get_strict_fields():
    revision = RevisionInput(data={"replicas": "2", "image": 5})
    assert not revision.is_valid()
    assert {"replicas", "image"} <= set(revision.errors)
