"""Every numeric field of every API operation refuses NaN, +-Infinity and values outside its
domain with a field error (400 problem+json), never a 500 or a stored value. The fields come
from the API's own OpenAPI schema, so a new numeric field is covered without editing this test;
the interface document's section fields (free-form in the schema) are listed by hand."""

import json

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from contracts.models import AlertPolicy, OnCallTeam
from tenants.models import TenantMembership
from tenants.tests.factories import (
    EnvironmentFactory,
    GpuProfileFactory,
    MembershipFactory,
    TenantFactory,
    UserFactory,
    finance,
    platform_admin,
    sre,
)
from workloads.tests.factories import RevisionFactory, WorkloadFactory

# raw JSON texts: 1e999 is how a JSON number overflows to infinity in Python's parser
NON_FINITE = ['"NaN"', '"Infinity"', '"-Infinity"', "1e999", "-1e999", '"1e999"']
OUT_OF_DOMAIN = ["-1", "1e30", "99999999999999999999"]


def _numeric_request_fields() -> list[tuple[str, str, tuple[str, ...]]]:
    raw = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))
    components = raw["components"]["schemas"]

    def resolve(schema):
        while "$ref" in schema:
            schema = components[schema["$ref"].split("/")[-1]]
        return schema

    def walk(schema, path):
        schema = resolve(schema)
        for sub in schema.get("allOf", []) + schema.get("oneOf", []):
            yield from walk(sub, path)
        kind = schema.get("type")
        if kind in ("integer", "number") or schema.get("format") == "decimal":
            yield path
        for name, sub in (schema.get("properties") or {}).items():
            if not sub.get("readOnly"):
                yield from walk(sub, (*path, name))

    found = []
    for route, operations in raw["paths"].items():
        for method, operation in operations.items():
            body = (operation.get("requestBody") or {}).get("content", {}).get("application/json")
            if body:
                found += [(method.upper(), route, p) for p in walk(body["schema"], ()) if p]
    return sorted(set(found))


FIELDS = _numeric_request_fields()
# the interface document's sections take their values free-form: (section, field, role)
DOCUMENT_FIELDS = [
    ("slos", "p99_latency_ms"),
    ("slos", "availability_pct"),
    ("slos", "max_cold_start_s"),
    ("model", "accuracy_drift_pct"),
]


def test_the_schema_walk_finds_the_numeric_fields():
    routes = {(m, r, ".".join(p)) for m, r, p in FIELDS}
    assert ("POST", "/api/v1/quota-requests/", "guaranteed") in routes
    assert ("POST", "/api/v1/tenants/", "initial_quota.burst") in routes
    assert ("POST", "/api/v1/gpu-profiles/", "gpu_fraction") in routes
    assert ("POST", "/api/v1/price-book/", "hourly_price") in routes
    assert len(FIELDS) > 30


@pytest.fixture
def world(db):
    admin = platform_admin(username="numbers-admin")
    tenant = TenantFactory(slug="numbers")
    EnvironmentFactory(tenant=tenant, name="dev")
    profile = GpuProfileFactory(name="numbers-gpu")
    workload = WorkloadFactory(tenant=tenant, name="numbers-ranker")
    RevisionFactory(workload=workload, number=1, profile=profile)
    owner = UserFactory(username="numbers-owner")
    MembershipFactory(tenant=tenant, user=owner, role=TenantMembership.Role.OWNER)
    OnCallTeam.objects.create(name="numbers-oncall", display_name="Numbers on-call")
    return {
        "admin": admin,
        "owner": owner,
        "sre": sre(username="numbers-sre"),
        "finance": finance(username="numbers-finance"),
        "params": {
            "{name}": profile.name,
            "{id}": str(workload.pk),
            "{pk}": str(workload.pk),
            "{slug}": tenant.slug,
        },  # fmt: skip
        "workload": workload,
    }


def _body(path: tuple[str, ...], raw_value: str) -> str:
    text = raw_value
    for name in reversed(path):
        text = "{" + json.dumps(name) + ": " + text + "}"
    return text


def _send(client, method, url, text):
    return client.generic(method, url, text, content_type="application/json")


def _assert_field_error(response, field: str, where: str):
    assert response.status_code == 400, f"{where}: {response.status_code} {response.content[:300]}"
    assert response["content-type"].startswith("application/problem+json"), where
    errors = response.json().get("errors") or {}
    assert field in errors, f"{where}: no error for {field}: {errors}"


@pytest.mark.parametrize("value", NON_FINITE + OUT_OF_DOMAIN)
def test_every_numeric_api_field_refuses_non_finite_and_out_of_domain_values(world, value):
    clients = {}
    for role in ("admin", "owner", "finance"):
        clients[role] = APIClient()
        clients[role].force_authenticate(world[role])
    for method, route, path in FIELDS:
        client = clients[
            "finance"
            if route.startswith(("/api/v1/price-book/", "/api/v1/costs/"))
            else "owner"
            if route.startswith("/api/v1/workloads/")
            else "admin"
        ]
        url = route
        for placeholder, replacement in world["params"].items():
            url = url.replace(placeholder, replacement)
        if value == '"1e999"' and path[-1] in ("hourly_price", "gpu_fraction"):
            continue  # a decimal string of 1e999 is finite, and refused below as too large
        response = _send(client, method, url, _body(path, value))
        _assert_field_error(response, path[0], f"{method} {url} {'.'.join(path)}={value}")


@pytest.mark.parametrize("value", NON_FINITE + OUT_OF_DOMAIN)
@pytest.mark.parametrize(("section", "field"), DOCUMENT_FIELDS)
def test_interface_document_numbers_refuse_non_finite_and_out_of_domain_values(
    world, section, field, value
):
    client = APIClient()
    client.force_authenticate(world["sre"] if section == "slos" else world["owner"])
    url = f"/api/v1/workloads/{world['workload'].pk}/interface-document/"

    response = _send(client, "PATCH", url, f'{{"section": "{section}", "{field}": {value}}}')

    _assert_field_error(response, field, f"{section}.{field}={value}")


@pytest.mark.parametrize("threshold", ["NaN", "Infinity", "-Infinity", "nan%", "-5%", "150%", "0"])
def test_an_alert_threshold_that_is_not_a_finite_ratio_is_refused(world, threshold):
    client = APIClient()
    client.force_authenticate(world["sre"])
    url = f"/api/v1/workloads/{world['workload'].pk}/interface-document/"
    alert = {"signal": "gpu-memory", "threshold": threshold, "window": "5m",
             "paged_team": "numbers-oncall"}  # fmt: skip

    response = client.patch(url, {"section": "alerts", "alerts": [alert]}, format="json")

    _assert_field_error(response, "alerts", threshold)
    assert not AlertPolicy.objects.exists()


# --- web forms ------------------------------------------------------------------------------
def _forms(world):
    from clusters.forms import CapacityOverrideForm
    from contracts.forms import ModelSectionForm, SloForm
    from costs.forms import PriceForm
    from tenants.forms import OnboardingForm, QuotaRequestForm
    from workloads.forms import CanaryForm, RevisionSpecForm, WorkloadCreateForm

    tenant = world["workload"].tenant
    return [
        (OnboardingForm, {}, ["quota_guaranteed", "quota_burst"]),
        (QuotaRequestForm, {"tenant": tenant}, ["guaranteed", "burst"]),
        (CapacityOverrideForm, {}, ["override"]),
        (CanaryForm, {}, ["revision", "percent"]),
        (PriceForm, {"gpu_models": ["H100"]}, ["hourly_price"]),
        (SloForm, {}, ["p99_latency_ms", "availability_pct", "max_cold_start_s"]),
        (ModelSectionForm, {}, ["accuracy_drift_pct"]),
        (RevisionSpecForm, {}, None),
        (WorkloadCreateForm, {}, None),
    ]


@pytest.mark.parametrize("value", ["NaN", "nan", "Infinity", "-inf", "1e999", "-1e999"])
def test_every_numeric_form_field_refuses_non_finite_values(world, value):
    from django import forms

    checked = 0
    for form_class, kwargs, names in _forms(world):
        numeric = names or [
            name
            for name, field in form_class.base_fields.items()
            if isinstance(field, forms.IntegerField | forms.DecimalField | forms.FloatField)
        ]
        assert numeric, form_class
        form = form_class(data=dict.fromkeys(numeric, value), **kwargs)
        form.is_valid()
        for name in numeric:
            assert name in form.errors, f"{form_class.__name__}.{name}={value} accepted"
            checked += 1
    assert checked > 20
