"""The `gitops` backend: YAML files in a real git repository (subprocess `git`), one commit per
change, none when nothing changed; Argo CD or Flux applies them.

Layout: clusters/<cluster>/tenants/<tenant>/<namespace>/<kind>-<name>.yaml, cluster-scoped
objects under <tenant>/_cluster/, objects shared by tenants (GPU flavors) under
clusters/<cluster>/_shared/, and a kustomization.yaml in each of those directories.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import yaml
from django.conf import settings
from django.db import connection

from .backends import (
    ObjectOutcome,
    PermanentError,
    TransientError,
    is_shared,
    is_subset,
    object_key,
)

AUTHOR = ("gpu-portal", "gpu-portal@localhost")
REPO_LOCK_CLASS = 7302  # pg advisory lock (class, cluster id): one writer per repository


@contextmanager
def repository_lock(cluster_id: int):
    """Serialize writers of one cluster's repository across workers and hosts."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s, %s)", [REPO_LOCK_CLASS, cluster_id])
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s, %s)", [REPO_LOCK_CLASS, cluster_id])


def _git(repo: Path, *args: str, check: bool = True) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": AUTHOR[0],
        "GIT_AUTHOR_EMAIL": AUTHOR[1],
        "GIT_COMMITTER_NAME": AUTHOR[0],
        "GIT_COMMITTER_EMAIL": AUTHOR[1],
        "GIT_TERMINAL_PROMPT": "0",
    }
    proc = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=120
    )
    if check and proc.returncode != 0:
        message = (proc.stderr or proc.stdout).strip()
        transient = ("Could not resolve", "timed out", "Connection", "early EOF", "index.lock")
        if any(s in message for s in transient):
            raise TransientError(f"git {args[0]}: {message}")
        raise PermanentError(f"git {args[0]}: {message}")
    return proc.stdout


def file_path(cluster_name: str, tenant_slug: str, manifest: dict) -> str:
    meta = manifest["metadata"]
    leaf = f"{manifest['kind'].lower()}-{meta['name']}.yaml"
    if is_shared(manifest):
        return f"clusters/{cluster_name}/_shared/{leaf}"
    folder = meta.get("namespace") or "_cluster"
    return f"clusters/{cluster_name}/tenants/{tenant_slug}/{folder}/{leaf}"


def _dump(manifest: dict) -> str:
    return yaml.safe_dump(manifest, sort_keys=True, default_flow_style=False)


def _kustomization(resources: list[str]) -> str:
    return _dump(
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": sorted(resources),
        }
    )


class GitOpsBackend:
    def __init__(self, cluster):
        self.cluster = cluster
        root = Path(settings.PORTAL_GITOPS_ROOT)
        self.remote = cluster.gitops_repo_url
        self.branch = cluster.gitops_branch or "main"
        self.repo = root / ("_clones" if self.remote else "") / cluster.name

    def _remote_url(self) -> str:
        creds = self.cluster.gitops_credentials
        if not creds or "://" not in self.remote or not self.remote.startswith("http"):
            return self.remote
        parts = urlsplit(self.remote)
        user, _, token = creds.partition(":") if ":" in creds else ("git", "", creds)
        netloc = f"{quote(user)}:{quote(token)}@{parts.hostname}"
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def ensure_repo(self) -> Path:
        if (self.repo / ".git").is_dir():
            if self.remote:
                _git(self.repo, "fetch", "origin", self.branch)
                _git(self.repo, "reset", "--hard", f"origin/{self.branch}")
            return self.repo
        self.repo.parent.mkdir(parents=True, exist_ok=True)
        if self.remote:
            _git(
                self.repo.parent,
                "clone",
                "--branch",
                self.branch,
                self._remote_url(),
                str(self.repo),
            )
        else:
            self.repo.mkdir(parents=True, exist_ok=True)
            _git(self.repo, "init", "--quiet", "--initial-branch", self.branch)
        return self.repo

    def _write_kustomizations(self) -> None:
        base = self.repo / "clusters" / self.cluster.name
        top: list[str] = []
        if (base / "_shared").is_dir():
            files = [
                p.name for p in (base / "_shared").glob("*.yaml") if p.name != "kustomization.yaml"
            ]
            (base / "_shared" / "kustomization.yaml").write_text(_kustomization(files))
            top.append("_shared")
        for tenant_dir in (
            sorted((base / "tenants").glob("*")) if (base / "tenants").is_dir() else []
        ):
            files = [
                str(p.relative_to(tenant_dir))
                for p in tenant_dir.rglob("*.yaml")
                if p.name != "kustomization.yaml"
            ]
            if files:
                (tenant_dir / "kustomization.yaml").write_text(_kustomization(files))
                top.append(f"tenants/{tenant_dir.name}")
        if base.is_dir():
            (base / "kustomization.yaml").write_text(_kustomization(top))

    def apply(
        self,
        *,
        tenant_slug: str,
        manifests: list[dict],
        previous_keys: list[list[str]],
        allow_namespace_deletion: bool = False,
        actor: str = "",
        generation: int = 0,
        previous_hashes: dict[str, str] | None = None,  # git itself tells what changed
        **_ownership,  # tenant_id, force_conflicts, adoptions: the repository has no owners
    ) -> list[ObjectOutcome]:
        with repository_lock(self.cluster.pk):
            return self._apply(
                tenant_slug=tenant_slug,
                manifests=manifests,
                allow_namespace_deletion=allow_namespace_deletion,
                actor=actor,
                generation=generation,
            )

    def _apply(
        self,
        *,
        tenant_slug: str,
        manifests: list[dict],
        allow_namespace_deletion: bool,
        actor: str,
        generation: int,
    ) -> list[ObjectOutcome]:
        repo = self.ensure_repo()
        tenant_dir = repo / "clusters" / self.cluster.name / "tenants" / tenant_slug
        existing = (
            {p: p.read_text() for p in tenant_dir.rglob("*.yaml") if p.name != "kustomization.yaml"}
            if tenant_dir.is_dir()
            else {}
        )
        outcomes: list[ObjectOutcome] = []
        wanted: set[Path] = set()
        for manifest in manifests:
            path = repo / file_path(self.cluster.name, tenant_slug, manifest)
            wanted.add(path)
            text = _dump(manifest)
            before = (
                existing.get(path)
                if not is_shared(manifest)
                else (path.read_text() if path.exists() else None)
            )
            if before == text:
                action = "unchanged"
            else:
                action = "created" if before is None else "configured"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
            outcomes.append(ObjectOutcome(*object_key(manifest), action=action))
        for path, text in existing.items():
            if path in wanted:
                continue
            manifest = yaml.safe_load(text) or {}
            if manifest.get("kind") == "Namespace" and not allow_namespace_deletion:
                continue
            path.unlink()
            outcomes.append(ObjectOutcome(*object_key(manifest), action="pruned"))
        if tenant_dir.is_dir():
            if not any(p.name != "kustomization.yaml" for p in tenant_dir.rglob("*.yaml")):
                shutil.rmtree(tenant_dir)
            else:
                for folder in sorted(
                    (p for p in tenant_dir.rglob("*") if p.is_dir()), reverse=True
                ):
                    if not any(folder.iterdir()):
                        folder.rmdir()
        self._write_kustomizations()
        _git(repo, "add", "--all", "clusters")
        if not _git(repo, "status", "--porcelain", "clusters").strip():
            return outcomes
        message = f"gpu-portal: sync tenant {tenant_slug} generation {generation}"
        _git(repo, "commit", "--quiet", "-m", f"{message}\n\nActor: {actor or 'gpu-portal'}")
        if self.remote:
            _git(repo, "push", "origin", f"HEAD:{self.branch}")
        return outcomes

    def drifted(self, *, tenant_slug: str, manifests: list[dict]) -> list[ObjectOutcome]:
        """Files edited or removed in the repository behind the portal's back."""
        with repository_lock(self.cluster.pk):
            repo = self.ensure_repo()
            drift = []
            for manifest in manifests:
                path = repo / file_path(self.cluster.name, tenant_slug, manifest)
                if not path.exists():
                    drift.append(
                        ObjectOutcome(*object_key(manifest), action="drifted", message="missing")
                    )
                elif not is_subset(manifest, yaml.safe_load(path.read_text()) or {}):
                    drift.append(
                        ObjectOutcome(
                            *object_key(manifest), action="drifted", message="file changed"
                        )
                    )
            return drift
