"""Every object the portal renders passes schema validation: built-in kinds against
kubernetes-validate (strict) and Kueue objects against the repository's own CRD copies in
clusters/crds/ (checked against ../shared/schemas/crds/ when that folder exists), over a
matrix of tenant tiers, GPU partitions, environments and Kubernetes versions."""

import itertools
from pathlib import Path

import pytest
from django.conf import settings

from clusters import registry
from clusters.validation import (
    IN_REPO_CRD_DIR,
    ManifestInvalid,
    problems_of,
    validate_builtin_with_library,
    validate_manifests,
)
from tenants.manifests import EnvironmentRow, GrantRow, TenantRow, render_environment

SHARED_CRDS = Path(settings.BASE_DIR).parent / "shared" / "schemas" / "crds"

PROFILES = {
    "dedicated": GrantRow("h100-80gb", "NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu", 8, 4),
    "mig": GrantRow("h100-mig-1g-10gb", "NVIDIA-H100-80GB-HBM3", "nvidia.com/mig-1g.10gb", 7, 0),
    "time-sliced": GrantRow("a10-shared", "NVIDIA-A10", "nvidia.com/gpu.shared", 0, 4),
    "mps": GrantRow("l4-mps", "NVIDIA-L4", "nvidia.com/gpu.shared", 3, 1),
}
TIERS = ["small", "medium", "large"]
ENVIRONMENTS = ["dev", "staging", "prod"]
VERSIONS = ["1.29", "1.31", "1.33"]
SLUGS = ["a", "team-with-a-forty-character-slug-abcdefg"]  # shortest and longest allowed


def matrix():
    for tier, env_name, slug in itertools.product(TIERS, ENVIRONMENTS, SLUGS):
        for size in (0, 1, 2, len(PROFILES)):
            for grants in itertools.combinations(PROFILES.values(), size):
                yield (
                    TenantRow(slug=slug, cost_center="CC-1000.ml_research", tier=tier),
                    EnvironmentRow(env_name, f"{slug}-{env_name}", 1, "h100-pool", grants),
                )


@pytest.fixture(autouse=True)
def in_repo_crds_only(settings):
    """Validate against the repository's own copies, whatever PORTAL_CRD_DIR says."""
    settings.PORTAL_CRD_DIR = IN_REPO_CRD_DIR


@pytest.mark.parametrize("version", VERSIONS)
def test_every_rendered_tenant_object_is_valid(version):
    count = 0
    for tenant, env in matrix():
        objects = render_environment(tenant, env)
        validate_manifests(objects, version)
        count += len(objects)
    assert count > 1000


def test_builtin_objects_also_pass_the_library_uncached():
    tenant, env = next(m for m in matrix() if len(m[1].grants) == len(PROFILES))
    checked = set()
    for obj in render_environment(tenant, env):
        if "kueue" not in obj["apiVersion"]:
            validate_builtin_with_library(obj, "1.31")
            checked.add(obj["kind"])
    assert {"Namespace", "ResourceQuota", "LimitRange", "RoleBinding", "NetworkPolicy"} <= checked


@pytest.mark.django_db
def test_objects_of_every_registered_provider_validate(kube_cluster):
    """Walks all registered manifest providers (tenants, workloads, contracts) for a tenant."""
    from clusters.tests.sync_helpers import approved_tenant
    from tenants.tests.factories import mig_profile, time_sliced_profile

    tenant = approved_tenant(kube_cluster, envs=("dev", "staging", "prod"))
    from tenants.tests.factories import QuotaGrantFactory

    for profile in (mig_profile(), time_sliced_profile()):
        QuotaGrantFactory(environment=tenant.environments.get(name="prod"), profile=profile)

    objects = [o.manifest for o in registry.desired_objects(tenant.pk)]

    assert len(objects) > 20
    validate_manifests(objects, kube_cluster.kubernetes_version)


def test_crds_are_read_from_the_repository_by_default(monkeypatch):
    import importlib

    from clusters.validation import crd_dirs
    from portal import settings as settings_module

    monkeypatch.delenv("PORTAL_CRD_DIR", raising=False)
    default = importlib.reload(settings_module).PORTAL_CRD_DIR
    assert Path(default).resolve() == IN_REPO_CRD_DIR
    assert crd_dirs() == [IN_REPO_CRD_DIR]
    assert {p.name for p in IN_REPO_CRD_DIR.glob("*.yaml")} >= {
        "kueue.x-k8s.io_clusterqueues.yaml",
        "monitoring.coreos.com_prometheusrules.yaml",
        "keda.sh_scaledobjects.yaml",
    }


def test_an_override_directory_is_searched_first_and_the_copies_fill_in(settings, tmp_path):
    from clusters.validation import crd_dirs

    settings.PORTAL_CRD_DIR = tmp_path
    assert crd_dirs() == [tmp_path.resolve(), IN_REPO_CRD_DIR]
    tenant, env = next(matrix())
    validate_manifests(render_environment(tenant, env), "1.31")  # Kueue kinds from the copies


def test_in_repo_crd_copies_match_the_shared_ones():
    if not SHARED_CRDS.is_dir():
        pytest.skip(f"not run: {SHARED_CRDS} does not exist (a clone with nothing beside it)")
    shared = sorted(p.name for p in SHARED_CRDS.glob("*.yaml"))
    assert shared == sorted(p.name for p in IN_REPO_CRD_DIR.glob("*.yaml"))
    for name in shared:
        assert (IN_REPO_CRD_DIR / name).read_text() == (SHARED_CRDS / name).read_text()


def test_unknown_field_in_a_custom_resource_names_object_and_field():
    tenant, env = next(matrix())
    queue = next(o for o in render_environment(tenant, env) if o["kind"] == "ClusterQueue")
    queue["spec"]["cohort"] = "old-v1beta1-name"

    with pytest.raises(ManifestInvalid) as exc:
        validate_manifests([queue], "1.31")

    assert "ClusterQueue a-dev: spec:" in str(exc.value)
    assert "'cohort' was unexpected" in str(exc.value)


def test_bad_quantity_and_name_are_caught_where_schemas_are_silent():
    tenant, env = next(matrix())
    quota = next(o for o in render_environment(tenant, env) if o["kind"] == "ResourceQuota")
    quota["spec"]["hard"]["requests.nvidia.com/gpu"] = "eight"
    quota["metadata"]["name"] = "Quota_1"

    fields = {p.field for p in problems_of(quota, "1.31")}

    assert fields == {"spec.hard.requests.nvidia.com/gpu", "metadata.name"}


def test_unknown_field_in_a_builtin_kind_is_refused():
    tenant, env = next(matrix())
    ns = next(o for o in render_environment(tenant, env) if o["kind"] == "Namespace")
    ns["spec"] = {"finalizerz": []}

    assert [p.field for p in problems_of(ns, "1.31")] == ["spec"]
