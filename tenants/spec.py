"""Tenants as code: the declarative tenant document (its JSON Schema), the current state of a
tenant in that shape, and the plan that takes a tenant from what it is to what a document says.

Reads only. `tenants.spec_services.apply_tenant_spec` carries a plan out. The document:

    name, team, cost_center, contact_email, oncall_contact, description, tier, cluster
    environments: [dev, staging, prod]
    members: [{username, role}]                       role: owner | member | viewer
    quota: [{environment, profile, guaranteed, burst, justification}]

Quota above the live grant becomes a quota request that waits for a platform admin (never a
grant); quota below it is released at once. Members, quota lines and environments absent from
the document are removed only with `prune`; environments are never removed by a document (their
namespaces go with the tenant's archive), which the plan says.
"""

import hashlib
import json
from dataclasses import asdict, dataclass, field

import jsonschema
from django.contrib.auth import get_user_model

from clusters.models import Cluster

from .models import (
    MAX_UNITS,
    TENANT_SLUG_MAX,
    EnvironmentName,
    GpuProfile,
    QuotaGrant,
    QuotaRequest,
    Tenant,
    TenantMembership,
    Tier,
    dns1123_label,
)

DETAIL_FIELDS = ("name", "team", "cost_center", "contact_email", "oncall_contact", "description")
# Changing these changes what the tenant may use or where it lives: a platform admin decides.
ADMIN_FIELDS = ("tier", "cluster")

_text = {"type": "string", "minLength": 1}
SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "/api/v1/schemas/tenant-spec.json",
    "title": "gpu-portal tenant specification",
    "description": (
        "PUT /api/v1/tenants/{slug}/spec/ makes the tenant look like this document. Quota above "
        "the granted amount becomes a request waiting for approval; quota below is released; "
        "members and quota lines absent from the document are removed only with ?prune=true."
    ),
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "team", "cost_center", "contact_email", "tier", "cluster"],
    "properties": {
        "slug": {
            "type": "string",
            "pattern": dns1123_label.regex.pattern,
            "maxLength": TENANT_SLUG_MAX,
            "description": "Optional; must equal the slug in the URL.",
        },
        "name": {**_text, "maxLength": 100},
        "team": {**_text, "maxLength": 100},
        "cost_center": {
            "type": "string",
            "pattern": r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$",
            "maxLength": 63,
        },
        "contact_email": {"type": "string", "format": "email", "maxLength": 254},
        "oncall_contact": {"type": "string", "maxLength": 200},
        "description": {"type": "string", "maxLength": 2000},
        "tier": {"enum": list(Tier.values)},
        "cluster": {"type": "string", "minLength": 1, "maxLength": 63},
        "environments": {
            "type": "array",
            "items": {"enum": list(EnvironmentName.values)},
            "minItems": 1,
            "maxItems": 3,
            "uniqueItems": True,
            "default": ["dev"],
        },
        "members": {
            "type": "array",
            "maxItems": 500,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["username", "role"],
                "properties": {
                    "username": {"type": "string", "minLength": 1, "maxLength": 150},
                    "role": {"enum": list(TenantMembership.Role.values)},
                },
            },
            "default": [],
        },
        "quota": {
            "type": "array",
            "maxItems": 100,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["environment", "profile", "guaranteed"],
                "properties": {
                    "environment": {"enum": list(EnvironmentName.values)},
                    "profile": {"type": "string", "minLength": 1, "maxLength": 63},
                    "guaranteed": {"type": "integer", "minimum": 0, "maximum": MAX_UNITS},
                    "burst": {"type": "integer", "minimum": 0, "maximum": MAX_UNITS, "default": 0},
                    "justification": {
                        "type": "string",
                        "maxLength": 4000,
                        "description": "Required when the line asks for more than is granted.",
                    },
                },
            },
            "default": [],
        },
    },
}
_VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


class SpecInvalid(Exception):
    """Field-level problems of a document, keyed by JSON pointer ("/quota/0/guaranteed")."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


def pointer(*parts) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def digest(document: dict) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def normalized(document) -> dict:
    """The document checked against the schema, with defaults filled in."""
    if not isinstance(document, dict):
        raise SpecInvalid({"": ["The tenant document must be a JSON or YAML object."]})
    errors: dict[str, list[str]] = {}
    for error in _VALIDATOR.iter_errors(document):
        errors.setdefault(pointer(*error.absolute_path), []).append(error.message)
    if errors:
        raise SpecInvalid(errors)
    doc = {
        "oncall_contact": "",
        "description": "",
        "environments": ["dev"],
        "members": [],
        "quota": [],
        **document,
    }
    doc["quota"] = [{"burst": 0, **line} for line in doc["quota"]]
    duplicates = {}
    for key, lines in (
        ("members", [m["username"] for m in doc["members"]]),
        ("quota", [(q["environment"], q["profile"]) for q in doc["quota"]]),
    ):
        seen = set()
        for i, item in enumerate(lines):
            if item in seen:
                duplicates[pointer(key, i)] = [f"{item!r} appears twice; list it once."]
            seen.add(item)
    if duplicates:
        raise SpecInvalid(duplicates)
    return doc


def current_spec(tenant: Tenant) -> dict:
    """The tenant as a document: GET of the spec URL; PUT of it back changes nothing."""
    grants = (
        QuotaGrant.objects.filter(tenant=tenant, revoked_at__isnull=True)
        .select_related("environment", "profile")
        .order_by("environment__name", "profile__name")
    )
    members = tenant.memberships.select_related("user").order_by("user__username")
    return {
        "slug": tenant.slug,
        "name": tenant.name,
        "team": tenant.team,
        "cost_center": tenant.cost_center,
        "contact_email": tenant.contact_email,
        "oncall_contact": tenant.oncall_contact,
        "description": tenant.description,
        "tier": tenant.tier,
        "cluster": tenant.cluster.name,
        "environments": sorted(
            tenant.environments.values_list("name", flat=True),
            key=lambda n: list(EnvironmentName.values).index(n),
        ),
        "members": [{"username": m.user.username, "role": m.role} for m in members],
        "quota": [
            {
                "environment": g.environment.name,
                "profile": g.profile.name,
                "guaranteed": g.guaranteed,
                "burst": g.burst,
            }
            for g in grants
        ],
    }


@dataclass(frozen=True)
class Step:
    """One thing the plan does. `action`: create, update, add, change, remove, request,
    release or skip (a removal that needs prune, or something a document cannot do)."""

    action: str
    target: str
    detail: str
    data: dict = field(default_factory=dict, compare=False)


@dataclass
class Plan:
    slug: str
    digest: str
    steps: list[Step]
    exists: bool

    @property
    def changes(self) -> list[Step]:
        return [s for s in self.steps if s.action != "skip"]

    def as_dict(self) -> dict:
        return {
            "slug": self.slug,
            "digest": self.digest,
            "changes": len(self.changes),
            "steps": [{k: v for k, v in asdict(s).items() if k != "data"} for s in self.steps],
        }


def _references(doc: dict) -> tuple[Cluster | None, dict, dict]:
    """Look up the cluster, users and profiles a document names; unknown ones are field errors."""
    errors: dict[str, list[str]] = {}
    cluster = Cluster.objects.filter(name=doc["cluster"]).first()
    if cluster is None:
        errors[pointer("cluster")] = [f"No cluster named {doc['cluster']!r}."]
    names = {m["username"] for m in doc["members"]}
    users = {u.username: u for u in get_user_model().objects.filter(username__in=names)}
    for i, member in enumerate(doc["members"]):
        if member["username"] not in users:
            errors[pointer("members", i, "username")] = [
                f"No user {member['username']!r}: they sign in once first."
            ]
    wanted = {q["profile"] for q in doc["quota"]}
    profiles = {p.name: p for p in GpuProfile.objects.filter(name__in=wanted)}
    for i, line in enumerate(doc["quota"]):
        profile = profiles.get(line["profile"])
        if profile is None:
            errors[pointer("quota", i, "profile")] = [f"No GPU profile {line['profile']!r}."]
        if line["environment"] not in doc["environments"]:
            errors[pointer("quota", i, "environment")] = [
                f"{line['environment']} is not one of the document's environments."
            ]
    if errors:
        raise SpecInvalid(errors)
    return cluster, users, profiles


def _justification(line: dict, index: int) -> str:
    text = (line.get("justification") or "").strip()
    if not text:
        raise SpecInvalid(
            {
                pointer("quota", index, "justification"): [
                    "Asking for more than is granted needs a justification: say what the GPUs "
                    "are for."
                ]
            }
        )
    return text


def plan_for(*, slug: str, document, tenant: Tenant | None, prune: bool) -> Plan:
    """What applying `document` to `tenant` (None: it does not exist yet) would do."""
    doc = normalized(document)
    if doc.get("slug", slug) != slug:
        raise SpecInvalid(
            {pointer("slug"): [f"The document is for {doc['slug']!r}, not {slug!r}."]}
        )
    cluster, users, profiles = _references(doc)
    steps: list[Step] = []
    if tenant is None:
        steps.append(
            Step("create", f"tenant {slug}", "onboard; waits for a platform admin's approval")
        )
        current = {"environments": [], "members": [], "quota": []}
    else:
        current = current_spec(tenant)
        for name in (*DETAIL_FIELDS, *ADMIN_FIELDS):
            if doc[name] != current[name]:
                steps.append(
                    Step(
                        "update",
                        f"tenant.{name}",
                        f"{current[name]!r} -> {doc[name]!r}",
                        {"field": name, "value": cluster if name == "cluster" else doc[name]},
                    )
                )
        for env in doc["environments"]:
            if env not in current["environments"]:
                steps.append(Step("add", f"environment {env}", f"namespace {slug}-{env}"))
        for env in current["environments"]:
            if env not in doc["environments"]:
                steps.append(
                    Step(
                        "skip",
                        f"environment {env}",
                        "environments are not removed by a document: archive the tenant",
                    )
                )

    have_members = {m["username"]: m["role"] for m in current["members"]}
    for member in doc["members"]:
        name, role = member["username"], member["role"]
        if name not in have_members:
            steps.append(Step("add", f"member {name}", role, {"user": users[name], "role": role}))
        elif have_members[name] != role:
            steps.append(
                Step(
                    "change",
                    f"member {name}",
                    f"{have_members[name]} -> {role}",
                    {"user": users[name], "role": role},
                )
            )
    for name, role in have_members.items():
        if name not in users:
            steps.append(
                Step("remove" if prune else "skip", f"member {name}", role, {"username": name})
            )

    have_quota = {(q["environment"], q["profile"]): q for q in current["quota"]}
    pending = set()
    if tenant is not None:
        pending = {
            (r.environment.name, r.profile.name, r.guaranteed, r.burst)
            for r in QuotaRequest.objects.filter(
                tenant=tenant, status=QuotaRequest.Status.PENDING
            ).select_related("environment", "profile")
        }
    for i, line in enumerate(doc["quota"]):
        key = (line["environment"], line["profile"])
        want_g, want_b = line["guaranteed"], line["burst"]
        have = have_quota.get(key, {"guaranteed": 0, "burst": 0})
        target = f"quota {key[0]}/{key[1]}"
        data = {"environment": key[0], "profile_name": key[1], "index": i}
        if (want_g, want_b) == (have["guaranteed"], have["burst"]):
            continue
        if want_g > have["guaranteed"] or want_b > have["burst"]:
            if (*key, want_g, want_b) in pending:
                continue  # the same request already waits for a decision
            steps.append(
                Step(
                    "request",
                    target,
                    f"{want_g} + {want_b} (granted {have['guaranteed']} + {have['burst']}); "
                    "waits for a platform admin",
                    {
                        **data,
                        "profile": profiles[key[1]],
                        "guaranteed": want_g,
                        "burst": want_b,
                        "justification": _justification(line, i),
                    },
                )
            )
        else:
            steps.append(
                Step(
                    "release",
                    target,
                    f"{have['guaranteed']} + {have['burst']} -> {want_g} + {want_b}",
                    {**data, "guaranteed": want_g, "burst": want_b},
                )
            )
    wanted_keys = {(q["environment"], q["profile"]) for q in doc["quota"]}
    for key, have in have_quota.items():
        if key not in wanted_keys:
            steps.append(
                Step(
                    "release" if prune else "skip",
                    f"quota {key[0]}/{key[1]}",
                    f"{have['guaranteed']} + {have['burst']} -> 0 + 0"
                    + ("" if prune else " (with prune=true)"),
                    {"environment": key[0], "profile_name": key[1], "guaranteed": 0, "burst": 0},
                )
            )
    return Plan(slug, digest(document), steps, exists=tenant is not None)
