"""Render, lint and validate the Helm chart: what `make deploy-check` runs and the tests call.

    python scripts/deploy_check.py [VALUES.yaml ...]

Without arguments it checks the chart's default values, every file in the chart's `ci/`
directory (ci/all-on-values.yaml turns every option on) and the documented examples/. For each
values set:

1. `helm lint --strict` through Helm's own engine (helm-python-sdk, no helm binary) for every
   Kubernetes version below;
2. `helm template` (the same engine) with hooks included;
3. every rendered object validated with kubernetes-validate, strict, for Kubernetes 1.29, 1.31
   and 1.33, custom resources against the CRDs in clusters/crds/
   (clusters.validation, the same code that guards the sync engine);
4. the chart's own promises: every portal pod non-root with a read-only root filesystem,
   resources and /tmp; exactly one beat with strategy Recreate; the migration Job a
   pre-install/pre-upgrade hook.

Exit status 0 when everything passes, 1 with every problem listed otherwise.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "deploy" / "helm" / "gpu-portal"
KUBERNETES_VERSIONS = ("1.29", "1.31", "1.33")
RELEASE = "gpu-portal"
NAMESPACE = "gpu-portal"


@dataclass
class Result:
    label: str
    objects: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    lint_messages: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for obj in self.objects:
            counts[obj["kind"]] = counts.get(obj["kind"], 0) + 1
        return dict(sorted(counts.items()))


def _setup_django() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()


def render(values: dict, chart_dir: Path = CHART) -> list[dict]:
    """Every object the chart renders for `values` (hooks included), parsed."""
    from helm_python import chart

    with chart.Chart.load(chart_dir) as ch:
        files = ch.render(values=values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objects = []
    for path, text in sorted(files.items()):
        if not path.endswith((".yaml", ".yml")):
            continue  # NOTES.txt
        for doc in yaml.safe_load_all(text):
            if doc:
                doc.setdefault("metadata", {}).setdefault("namespace", NAMESPACE)
                if doc.get("kind") in {"ClusterRole", "ClusterRoleBinding"}:
                    doc["metadata"].pop("namespace")
                objects.append(doc)
    return objects


def lint(values: dict, chart_dir: Path = CHART) -> tuple[list[str], list[str]]:
    """(problems, info messages) of `helm lint --strict` for each Kubernetes version; the same
    finding for several versions (or repeated by Helm) is reported once, with its versions."""
    from helm_python import chart

    found: dict[str, list[str]] = {}
    infos: list[str] = []
    for version in KUBERNETES_VERSIONS:
        report = chart.lint(
            chart_dir, values, strict=True, namespace=NAMESPACE, kube_version=f"{version}.0"
        )
        texts = list(report.get("errors") or [])
        for message in report.get("messages") or []:
            text = f"{message['path']}: {message['error']}"
            if message["severity"] >= 2:  # warning or error (strict: warnings fail)
                texts.append(text)
            elif text not in infos:
                infos.append(text)
        for text in texts:
            text = " ".join(text.split())
            if version not in found.setdefault(text, []):
                found[text].append(version)
    problems = [f"helm lint ({'/'.join(v)}): {text}" for text, v in found.items()]
    return problems, infos


def _pod_specs(obj: dict):
    kind, spec = obj["kind"], obj.get("spec") or {}
    if kind in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
        yield spec["template"]["spec"]
    elif kind == "CronJob":
        yield spec["jobTemplate"]["spec"]["template"]["spec"]


def promises(objects: list[dict]) -> list[str]:
    """What the chart guarantees beyond schemas (see module docstring)."""
    from clusters.validation import object_ref

    problems = []
    for obj in objects:
        ref = object_ref(obj)
        for pod in _pod_specs(obj):
            if not (pod.get("securityContext") or {}).get("runAsNonRoot"):
                problems.append(f"{ref}: pod securityContext.runAsNonRoot is not true")
            mounts_tmp = {v["name"] for v in pod.get("volumes") or [] if "emptyDir" in v}
            for c in pod["containers"]:
                sc = c.get("securityContext") or {}
                if not sc.get("readOnlyRootFilesystem"):
                    problems.append(f"{ref}: container {c['name']} root filesystem is writable")
                if sc.get("allowPrivilegeEscalation") is not False:
                    problems.append(f"{ref}: container {c['name']} may escalate privileges")
                if not (c.get("resources") or {}).get("requests"):
                    problems.append(f"{ref}: container {c['name']} has no resource requests")
                mounts = c.get("volumeMounts") or []
                tmp = [m for m in mounts if m["mountPath"] == "/tmp"]  # noqa: S108
                if not tmp or tmp[0]["name"] not in mounts_tmp:
                    problems.append(f"{ref}: container {c['name']} has no emptyDir at /tmp")
    beats = [
        o
        for o in objects
        if o["kind"] == "Deployment"
        and o["metadata"]["labels"].get("app.kubernetes.io/component") == "beat"
    ]
    if len(beats) != 1:
        problems.append(f"expected exactly one beat Deployment, found {len(beats)}")
    for beat in beats:
        if beat["spec"].get("replicas") != 1:
            problems.append(f"{object_ref(beat)}: replicas must be 1")
        if (beat["spec"].get("strategy") or {}).get("type") != "Recreate":
            problems.append(f"{object_ref(beat)}: strategy must be Recreate (one scheduler)")
    for obj in objects:
        if obj["kind"] == "Job" and "migrate" in obj["metadata"]["name"]:
            hooks = (obj["metadata"].get("annotations") or {}).get("helm.sh/hook", "")
            if set(hooks.split(",")) != {"pre-install", "pre-upgrade"}:
                problems.append(f"{object_ref(obj)}: must be a pre-install,pre-upgrade hook")
    return problems


def check(values: dict, label: str, chart_dir: Path = CHART) -> Result:
    """Lint, render and validate one values set; never raises for a chart problem."""
    _setup_django()
    from clusters.validation import problems_of

    result = Result(label)
    result.problems, result.lint_messages = lint(values, chart_dir)
    try:
        result.objects = render(values, chart_dir)
    except Exception as exc:  # a template error is a finding, reported with its message
        result.problems.append(f"helm template: {' '.join(str(exc).split())}")
        return result
    for version in KUBERNETES_VERSIONS:
        for obj in result.objects:
            result.problems += [f"[{version}] {p}" for p in problems_of(obj, version)]
    result.problems += promises(result.objects)
    return result


def values_sets(paths: list[str]) -> list[tuple[str, dict]]:
    if paths:
        return [(p, yaml.safe_load(Path(p).read_text()) or {}) for p in paths]
    sets = [("default values", {})]
    for path in sorted([*(CHART / "ci").glob("*.yaml"), *(CHART / "examples").glob("*.yaml")]):
        sets.append((str(path.relative_to(ROOT)), yaml.safe_load(path.read_text()) or {}))
    return sets


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    failed = False
    for label, values in values_sets(argv):
        result = check(values, label)
        kinds = ", ".join(f"{n} {k}" for k, n in result.kinds().items())
        versions = "/".join(KUBERNETES_VERSIONS)
        if result.ok:
            print(f"ok   {label}: {len(result.objects)} objects valid for {versions} ({kinds})")
        else:
            failed = True
            print(f"FAIL {label}: {len(result.problems)} problems")
            for problem in result.problems:
                print(f"     {problem}")
        for info in result.lint_messages:
            print(f"     lint info: {info}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
