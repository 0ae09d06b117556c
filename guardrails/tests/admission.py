"""ValidatingAdmissionPolicy admission as the API server does it, evaluated with a real CEL
implementation (cel-python), for the tests of the rendered policies.

Follows k8s.io/apiserver/pkg/admission/plugin/policy/validating (1.30+): for each binding whose
policy matches the request (matchConstraints resource rules and operations, the binding's
namespaceSelector), the params object is resolved from paramRef (missing -> the binding's
parameterNotFoundAction), the matchConditions are evaluated in order (any false: the policy does
not apply; an error: failurePolicy), then `variables` in order (each sees the ones before; one
that fails only fails the expressions that use it, as the API server's lazy evaluation does), then
every validation: false -> a violation with its messageExpression (or `message` when that fails or
is empty), an error -> failurePolicy. Violations are enforced by the binding's validationActions:
Deny rejects the request, Warn returns a warning, Audit adds an audit annotation.

What this harness leaves out: `authorizer` (our policies do not use it), cost limits, and type
checking against the OpenAPI schemas (the API server reports those as warnings only).
Objects are plain JSON as the API server hands them to CEL: quantities are strings.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import celpy

RESOURCES = {
    "Pod": ("", "v1", "pods"),
    "Deployment": ("apps", "v1", "deployments"),
    "ReplicaSet": ("apps", "v1", "replicasets"),
    "StatefulSet": ("apps", "v1", "statefulsets"),
    "DaemonSet": ("apps", "v1", "daemonsets"),
    "Job": ("batch", "v1", "jobs"),
    "CronJob": ("batch", "v1", "cronjobs"),
    "ConfigMap": ("", "v1", "configmaps"),
    "Service": ("", "v1", "services"),
}

_env = celpy.Environment()
_programs: dict[str, celpy.Runner] = {}


class CelError(Exception):
    pass


def evaluate(expression: str, activation: dict):
    """Compile (once) and evaluate one CEL expression; any failure is a CelError."""
    program = _programs.get(expression)
    if program is None:
        program = _env.program(_env.compile(expression))
        _programs[expression] = program
    try:
        result = program.evaluate(activation)
    except Exception as exc:  # noqa: BLE001 - celpy raises several kinds; all are CEL errors
        raise CelError(str(exc)[:300]) from None
    if isinstance(result, celpy.CELEvalError):
        raise CelError(str(result)[:300])
    return result


@dataclass
class Decision:
    allowed: bool = True
    denials: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    audit: list[str] = field(default_factory=list)
    evaluated: list[str] = field(default_factory=list)  # bindings whose policy applied


def _selector_matches(selector: dict, labels: dict) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _rule_matches(policy: dict, kind: str, operation: str, subresource: str) -> bool:
    group, version, resource = RESOURCES[kind]
    name = f"{resource}/{subresource}" if subresource else resource
    for rule in policy["spec"]["matchConstraints"]["resourceRules"]:
        if (
            group in rule["apiGroups"]
            and version in rule["apiVersions"]
            and operation in rule["operations"]
            and name in rule["resources"]
        ):
            return True
    return False


def _request(obj: dict, operation: str, user: str, subresource: str) -> dict:
    group, version, resource = RESOURCES[obj["kind"]]
    meta = obj.get("metadata") or {}
    return {
        "kind": {"group": group, "version": version, "kind": obj["kind"]},
        "resource": {"group": group, "version": version, "resource": resource},
        "subResource": subresource,
        "name": meta.get("name", ""),
        "namespace": meta.get("namespace", ""),
        "operation": operation,
        "userInfo": {"username": user, "groups": ["system:authenticated"]},
        "dryRun": False,
    }


def admit(
    obj: dict,
    *,
    namespace: dict,
    policies: list[dict],
    bindings: list[dict],
    params: list[dict],
    operation: str = "CREATE",
    old_object: dict | None = None,
    subresource: str = "",
    user: str = "alice",
) -> Decision:
    """The admission decision of the API server for one request against these objects."""
    decision = Decision()
    by_name = {p["metadata"]["name"]: p for p in policies}
    param_index = {(p["metadata"].get("namespace", ""), p["metadata"]["name"]): p for p in params}
    ns_labels = namespace["metadata"].get("labels") or {}
    for binding in bindings:
        policy = by_name.get(binding["spec"]["policyName"])
        if policy is None:
            continue  # a binding to a missing policy does nothing
        if not _rule_matches(policy, obj["kind"], operation, subresource):
            continue
        selector = (binding["spec"].get("matchResources") or {}).get("namespaceSelector") or {}
        if not _selector_matches(selector, ns_labels):
            continue
        label = (
            f"ValidatingAdmissionPolicy '{policy['metadata']['name']}' with binding "
            f"'{binding['metadata']['name']}' denied request: "
        )
        failures: list[str] = []
        ref = binding["spec"].get("paramRef")
        param = None
        if ref is not None:
            param = param_index.get((ref.get("namespace", ""), ref["name"]))
            if param is None:
                if ref.get("parameterNotFoundAction") == "Allow":
                    continue
                failures.append("failed to configure binding: no params found for policy binding")
        if not failures:
            failures = _evaluate_policy(
                policy, obj, old_object, param, namespace, operation, user, subresource
            )
            if failures is None:  # a matchCondition was false
                continue
            decision.evaluated.append(binding["metadata"]["name"])
        for message in failures:
            for action in binding["spec"]["validationActions"]:
                if action == "Deny":
                    decision.allowed = False
                    decision.denials.append(label + message)
                elif action == "Warn":
                    decision.warnings.append(
                        f"Validation failed for ValidatingAdmissionPolicy "
                        f"'{policy['metadata']['name']}' with binding "
                        f"'{binding['metadata']['name']}': {message}"
                    )
                elif action == "Audit":
                    decision.audit.append(message)
    return decision


def _evaluate_policy(policy, obj, old_object, param, namespace, operation, user, subresource):
    """Failure messages of one policy, or None when a matchCondition excludes the request."""
    spec = policy["spec"]
    fail_closed = spec.get("failurePolicy", "Fail") == "Fail"
    base = {
        "object": celpy.json_to_cel(obj),
        "oldObject": celpy.json_to_cel(old_object),
        "params": celpy.json_to_cel(param),
        "namespaceObject": celpy.json_to_cel(namespace),
        "request": celpy.json_to_cel(_request(obj, operation, user, subresource)),
    }
    condition_error = None
    for condition in spec.get("matchConditions") or []:
        try:
            if not bool(evaluate(condition["expression"], base | {"variables": {}})):
                return None
        except CelError as exc:
            condition_error = f"matchCondition '{condition['name']}' failed: {exc}"
    if condition_error:
        return [condition_error] if fail_closed else []
    variables = {}
    for var in spec.get("variables") or []:
        # one that fails only fails the expressions using it (the API server's lazy variables)
        with contextlib.suppress(CelError):
            variables[var["name"]] = evaluate(
                var["expression"], base | {"variables": celpy.celtypes.MapType(variables)}
            )
    activation = base | {"variables": celpy.celtypes.MapType(variables)}
    failures = []
    for validation in spec["validations"]:
        try:
            ok = evaluate(validation["expression"], activation)
        except CelError as exc:
            if fail_closed:
                failures.append(f"expression '{validation['expression']}' resulted in error: {exc}")
            continue
        if bool(ok):
            continue
        message = validation.get("message") or f"failed expression: {validation['expression']}"
        if validation.get("messageExpression"):
            try:
                text = evaluate(validation["messageExpression"], activation)
                if isinstance(text, str) and text.strip():
                    message = str(text)
            except CelError:
                pass  # the API server falls back to `message`
        failures.append(message)
    return failures
