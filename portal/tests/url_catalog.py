"""Every URL pattern of the portal, walked from the resolver, and what its parameters mean:
tenant-owned objects (filled with another tenant's objects by test_url_isolation.py) or not."""

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

# Every parameter name a URL may take. A new name fails the walker until it is classified here.
PARAMETER_NAMES = {"slug", "name", "pk", "section", "field", "uidb64", "token", "path"}

# Routes whose parameters point at a tenant's objects: {route: {parameter: kind of object}}.
# Kinds: tenant (slug), workload_name, workload (pk), quota_request, grant, membership, section.
_SLUG = {"slug": "tenant"}
_WORKLOAD = {"slug": "tenant", "name": "workload_name"}
TENANT_OWNED: dict[str, dict[str, str]] = {
    # web
    "tenants_sync:panel": _SLUG,
    "tenants_sync:force": _SLUG,
    "tenants_sync:delete_namespaces": _SLUG,
    "tenants_sync:resolve_conflicts": _SLUG,
    "tenants_sync:adopt": _SLUG,
    "tenants:quota_approve": {"pk": "quota_request"},
    "tenants:quota_reject": {"pk": "quota_request"},
    "tenants:detail": _SLUG,
    "tenants:request_quota": _SLUG,
    "tenants:quota_capacity": _SLUG,
    "tenants:quota_cancel": {"slug": "tenant", "pk": "quota_request"},
    "tenants:archive": _SLUG,
    "tenants:revoke_grant": {"slug": "tenant", "pk": "grant"},
    "tenants:add_member": _SLUG,
    "tenants:remove_member": {"slug": "tenant", "pk": "membership"},
    "tenants:approve": _SLUG,
    "tenants:reject": _SLUG,
    "workloads:list": _SLUG,
    "workloads:create": _SLUG,
    "workloads:detail": _WORKLOAD,
    "workloads:revise": _WORKLOAD,
    "workloads:promote": _WORKLOAD,
    "workloads:rollback": _WORKLOAD,
    "workloads:canary": _WORKLOAD,
    "contracts:document": _WORKLOAD,
    "contracts:document_md": _WORKLOAD,
    "contracts:edit_section": {**_WORKLOAD, "section": "section"},
    "contracts:sign_off": _WORKLOAD,
    "contracts:workload_slo": _WORKLOAD,
    "contracts:silence": _WORKLOAD,
    "contracts:slo_override": _WORKLOAD,
    "contracts:tenant_slo": _SLUG,
    "costs:tenant": _SLUG,
    "guardrails:tenant": _SLUG,
    # API
    "api-tenant-sync": _SLUG,
    "api-tenant": _SLUG,
    "api-tenant-approve": _SLUG,
    "api-tenant-reject": _SLUG,
    "api-quota-request": {"pk": "quota_request"},
    "api-quota-request-approve": {"pk": "quota_request"},
    "api-quota-request-reject": {"pk": "quota_request"},
    "api-workload": {"pk": "workload"},
    "api-workload-revisions": {"pk": "workload"},
    "api-workload-promote": {"pk": "workload"},
    "api-workload-rollback": {"pk": "workload"},
    "api-interface-document": {"pk": "workload"},
    "api-interface-document-sign-off": {"pk": "workload"},
    "api-interface-document-md": {"pk": "workload"},
    "api-workload-slo": {"pk": "workload"},
    "api-tenant-slo": _SLUG,
    "costs-tenant": _SLUG,
    "tenants:spec": _SLUG,
    "api-tenant-spec": _SLUG,
}

# Routes that take no tenant-owned parameter (lists filter by tenant; shared objects; public).
# {route: {parameter: kind}}; kinds: cluster, profile, oncall_team, onboard_field, reset.
NOT_TENANT_OWNED: dict[str, dict[str, str]] = {
    "home": {},
    "login": {},
    "logout": {},
    "password_change": {},
    "password_change_done": {},
    "password_reset": {},
    "password_reset_done": {},
    "password_reset_confirm": {"uidb64": "reset", "token": "reset"},
    "password_reset_complete": {},
    "audit:list": {},
    "audit:csv": {},
    "tenants:list": {},
    "tenants:onboard": {},
    "tenants:onboard_validate": {"field": "onboard_field"},
    "tenants:onboard_capacity": {},
    "tenants:approvals": {},
    "clusters:list": {},
    "clusters:create": {},
    "clusters:detail": {"name": "cluster"},
    "clusters:edit": {"name": "cluster"},
    "clusters:capacity_override": {"name": "cluster"},
    "clusters:preflight": {"name": "cluster"},
    "contracts:list": {},
    "contracts:oncall": {},
    "contracts:oncall_edit": {"pk": "oncall_team"},
    "contracts:alertmanager": {},
    "contracts:alertmanager_yaml": {},
    "contracts:slo_overview": {},
    "costs:overview": {},
    "costs:overview_csv": {},
    "costs:platform": {},
    "costs:price_book": {},
    "costs:budgets": {},
    "costs:statements": {},
    "costs:statement": {},
    "costs:statement_csv": {},
    "costs:cluster_pull_status": {"name": "cluster"},
    "notifications:preferences": {},
    "accounts:me": {},
    "oidc_authentication_init": {},
    "oidc_authentication_callback": {},
    "accounts:revoke_token": {},
    "api-auth-tokens": {},
    "api-auth-token-item": {"pk": "api_token"},
    "notifications:deliveries": {},
    "notifications:retry": {},
    "guardrails:overview": {},
    "guardrails:settings": {},
    "guardrails:grant_pod_security": {},
    "guardrails:grant_exemption": {},
    "guardrails:revoke": {},
    "guardrails:cluster": {"name": "cluster"},
    "guardrails:cluster_mode": {"name": "cluster"},
    "api-guardrails-clusters": {},
    "api-guardrails-cluster": {"name": "cluster"},
    "api-guardrails-exemptions": {},
    "api-token": {},
    "api-tenants": {},
    "api-quota-requests": {},
    "api-gpu-profiles": {},
    "api-gpu-profile": {"name": "profile"},
    "api-clusters": {},
    "api-cluster": {"name": "cluster"},
    "api-cluster-capacity": {"name": "cluster"},
    "api-cluster-preflight": {"name": "cluster"},
    "api-workloads": {},
    "api-oncall": {},
    "api-oncall-item": {"pk": "oncall_team"},
    "api-alertmanager-config": {},
    "costs-tenants": {},
    "costs-budgets": {},
    "price-book": {},
    "api-schema": {},
    "api-docs": {},
    "guide": {},
    "guide-page": {"path": "guide_path"},
    "api-tenant-spec-schema": {},
}

# Open to anyone by design: sign-in, password reset, the token endpoint, the OpenAPI schema/docs.
PUBLIC = {
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "api-token",
    "oidc_authentication_init",
    "oidc_authentication_callback",
    "api-schema",
    "api-docs",
    "guide",
    "guide-page",
    "api-tenant-spec-schema",
}

# Django's admin is for superusers and does its own permission checks; only its index is probed.
SKIPPED_NAMESPACES = {"admin"}


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name" or the bare name
    route: str  # "tenants/<slug:slug>/"
    parameters: tuple[str, ...]

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")

    def path(self, values: dict[str, str]) -> str:
        """The route with each <converter:parameter> replaced by values[parameter]."""
        out = "/" + self.route
        for parameter in self.parameters:
            start = out.index("<")
            out = out[:start] + str(values[parameter]) + out[out.index(">", start) + 1 :]
        return out


def walk(resolver=None, prefix: str = "", namespace: str = "") -> list[Route]:
    """Every URL pattern under `resolver` (default: the project's), depth first."""
    routes = []
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            routes += walk(pattern, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else str(pattern.name)
            routes.append(
                Route(name, prefix + str(pattern.pattern), tuple(pattern.pattern.converters))
            )
    return routes


def routes_to_probe() -> list[Route]:
    return [r for r in walk() if r.name.split(":")[0] not in SKIPPED_NAMESPACES]


def unclassified(routes: list[Route]) -> list[str]:
    """Problems that mean the walker does not know a route: each one a readable line."""
    problems = []
    for r in routes:
        unknown = set(r.parameters) - PARAMETER_NAMES
        if unknown:
            problems.append(f"{r.name} ({r.route}): unknown parameter(s) {sorted(unknown)}")
        table = TENANT_OWNED if r.name in TENANT_OWNED else NOT_TENANT_OWNED
        if r.name not in table:
            problems.append(f"{r.name} ({r.route}): in neither TENANT_OWNED nor NOT_TENANT_OWNED")
        elif set(table[r.name]) != set(r.parameters):
            problems.append(
                f"{r.name} ({r.route}): parameters {sorted(r.parameters)}, "
                f"catalogued as {sorted(table[r.name])}"
            )
        if "slug" in r.parameters and r.name not in TENANT_OWNED:
            problems.append(f"{r.name} ({r.route}): takes a tenant slug but is not TENANT_OWNED")
    return problems
