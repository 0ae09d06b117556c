"""Pure render functions of tenants/manifests.py: rows in, manifest dicts out."""

from tenants.manifests import (
    EnvironmentRow,
    GrantRow,
    TenantRow,
    render_environment,
    render_resource_quota,
    render_tenant,
)

TENANT = TenantRow(slug="vision", cost_center="CC-42", tier="medium")
H100 = GrantRow("h100-80gb", "NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu", 4, 2)
A100 = GrantRow("a100-40gb", "NVIDIA-A100-SXM4-40GB", "nvidia.com/gpu", 2, 0)
MIG = GrantRow("h100-mig-1g", "NVIDIA-H100-80GB-HBM3", "nvidia.com/mig-1g.10gb", 7, 7)


def env(name="dev", grants=(H100,), cluster_id=1):
    return EnvironmentRow(name, f"vision-{name}", cluster_id, "h100-pool", grants)


def by_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def test_every_tenant_object_carries_the_tenant_labels():
    for obj in render_environment(TENANT, env()):
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "gpu-portal"
        if obj["kind"] != "ResourceFlavor":
            assert labels["gpu-portal.io/tenant"] == "vision"
            assert labels["gpu-portal.io/environment"] == "dev"
            assert labels["gpu-portal.io/cost-center"] == "CC-42"


def test_shared_flavors_carry_no_tenant_label_so_no_tenant_prunes_them():
    for flavor in by_kind(render_environment(TENANT, env()), "ResourceFlavor"):
        assert "gpu-portal.io/tenant" not in flavor["metadata"]["labels"]
        assert flavor["metadata"]["labels"]["gpu-portal.io/shared"] == "true"


def test_quota_caps_each_gpu_resource_at_guaranteed_plus_burst_summed_over_profiles():
    hard = render_resource_quota(TENANT, env(grants=(H100, A100, MIG)))["spec"]["hard"]

    assert hard["requests.nvidia.com/gpu"] == "8"
    assert hard["requests.nvidia.com/mig-1g.10gb"] == "14"
    assert hard["requests.cpu"] == "64"
    assert hard["pods"] == "200"


def test_environment_without_grants_has_no_gpu_quota_lines():
    hard = render_resource_quota(TENANT, env(grants=()))["spec"]["hard"]

    assert not [k for k in hard if "nvidia.com" in k]


def test_cluster_queue_has_one_flavor_per_profile_grouped_by_resource():
    queue = by_kind(render_environment(TENANT, env(grants=(H100, A100, MIG))), "ClusterQueue")[0]

    groups = {tuple(g["coveredResources"]): g["flavors"] for g in queue["spec"]["resourceGroups"]}
    assert [f["name"] for f in groups[("nvidia.com/gpu",)]] == ["a100-40gb", "h100-80gb"]
    assert groups[("nvidia.com/mig-1g.10gb",)][0]["resources"][0] == {
        "name": "nvidia.com/mig-1g.10gb",
        "nominalQuota": 7,
        "borrowingLimit": 7,
    }
    assert queue["spec"]["cohortName"] == "h100-pool"


def test_flavor_selects_gpu_nodes_and_tolerates_the_gpu_taint():
    flavor = [
        f
        for f in by_kind(render_environment(TENANT, env()), "ResourceFlavor")
        if f["metadata"]["name"] == "h100-80gb"
    ][0]

    assert flavor["spec"]["nodeLabels"] == {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    assert flavor["spec"]["tolerations"][0]["key"] == "nvidia.com/gpu"


def test_role_bindings_map_tenant_groups_to_admin_edit_view():
    bindings = by_kind(render_environment(TENANT, env()), "RoleBinding")

    assert {(b["subjects"][0]["name"], b["roleRef"]["name"]) for b in bindings} == {
        ("vision-owners", "admin"),
        ("vision-members", "edit"),
        ("vision-viewers", "view"),
    }


def test_network_policy_denies_ingress_except_same_namespace_and_monitoring():
    policy = by_kind(render_environment(TENANT, env()), "NetworkPolicy")[0]

    assert policy["spec"]["podSelector"] == {}
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    sources = [rule["from"][0] for rule in policy["spec"]["ingress"]]
    assert {"podSelector": {}} in sources
    assert {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    } in sources


def test_namespace_comes_first_and_shared_flavors_appear_once_per_cluster():
    objects = render_tenant(TENANT, [env("dev"), env("prod")])

    assert objects[0].manifest["kind"] == "Namespace"
    flavors = [
        o.manifest["metadata"]["name"] for o in objects if o.manifest["kind"] == "ResourceFlavor"
    ]
    assert sorted(flavors) == ["gpu-portal-default", "h100-80gb"]


def test_environments_on_two_clusters_render_flavors_on_each():
    objects = render_tenant(TENANT, [env("dev", cluster_id=1), env("prod", cluster_id=2)])

    clusters = {o.cluster_id for o in objects if o.manifest["kind"] == "ResourceFlavor"}
    assert clusters == {1, 2}
