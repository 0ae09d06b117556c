"""Workload pages: tenant isolation, bounded queries, create from a template, promote/rollback."""

import pytest
from django.urls import reverse

from tenants.tests.factories import QuotaGrantFactory, UserFactory, finance
from workloads.models import Template, Workload, WorkloadEnvironment

from .factories import DIGEST, DeploymentFactory, RevisionFactory, WorkloadFactory

pytestmark = pytest.mark.django_db


def test_list_shows_the_tenants_workloads_in_bounded_queries(
    client, tenant, member, envs, django_assert_max_num_queries
):
    for i in range(6):
        revision = RevisionFactory(workload=WorkloadFactory(tenant=tenant, name=f"w{i}"), number=1)
        DeploymentFactory(current_revision=revision, environment=envs["dev"])
    client.force_login(member)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("workloads:list", kwargs={"slug": "search"}))
    assert response.status_code == 200
    assert response.content.decode().count("dev: r1") == 6


def test_htmx_gets_only_the_list_partial(client, tenant, member):
    client.force_login(member)
    response = client.get(
        reverse("workloads:list", kwargs={"slug": "search"}), HTTP_HX_REQUEST="true"
    )
    assert b"<html" not in response.content and b"No workloads yet" in response.content


def test_a_non_member_gets_404_for_the_tenants_pages(client, tenant):
    workload = WorkloadFactory(tenant=tenant, name="ranker")
    RevisionFactory(workload=workload, number=1)
    outsider = UserFactory(username="eve")
    outsider.save()
    client.force_login(outsider)
    assert client.get(reverse("workloads:list", kwargs={"slug": "search"})).status_code == 404
    detail = reverse("workloads:detail", kwargs={"slug": "search", "name": "ranker"})
    assert client.get(detail).status_code == 404


def test_create_form_prefills_the_template_defaults(client, tenant, member, profiles):
    client.force_login(member)
    url = reverse("workloads:create", kwargs={"slug": "search"})
    page = client.get(url + "?template=batch").content.decode()
    assert 'value="0 2 * * *"' in page


def test_create_from_the_form_stores_revision_one(client, tenant, member, profiles):
    client.force_login(member)
    form = {
        "name": "ranker",
        "template": "inference",
        "image": "registry.example.com/search/ranker:1",
        "image_digest": DIGEST,
        "profile": profiles["mig"].pk,
        "gpus_per_replica": 1,
        "replicas": 2,
        "min_replicas": 1,
        "max_replicas": 4,
        "scaling_metric": "queue-depth",
        "scaling_target": 10,
        "autoscaler": "keda",
        "container_port": 8080,
        "cold_start_budget_s": 300,
        "checkpoint_volume_gi": 0,
        "ttl_seconds_after_finished": 86400,
        "backoff_limit": 3,
        "model_memory_gb": 9,
    }
    response = client.post(reverse("workloads:create", kwargs={"slug": "search"}), form)
    assert response.status_code == 302
    workload = Workload.objects.get(name="ranker")
    assert workload.revisions.get().profile == profiles["mig"]


def test_create_shows_field_errors(client, tenant, member, profiles):
    client.force_login(member)
    response = client.post(
        reverse("workloads:create", kwargs={"slug": "search"}),
        {"name": "Not Valid", "template": "inference"},
    )
    assert response.status_code == 200
    assert "DNS-1123" in response.content.decode()


def test_finance_cannot_open_the_create_form(client, tenant):
    client.force_login(finance(username="fin"))
    assert client.get(reverse("workloads:create", kwargs={"slug": "search"})).status_code == 403


def test_detail_shows_gate_results_and_promote_button(
    client, tenant, member, envs, profiles, django_assert_max_num_queries
):
    workload = WorkloadFactory(tenant=tenant, name="ranker", template=Template.INFERENCE)
    RevisionFactory(workload=workload, number=1, image_digest="")
    client.force_login(member)
    url = reverse("workloads:detail", kwargs={"slug": "search", "name": "ranker"})
    with django_assert_max_num_queries(30):
        page = client.get(url).content.decode()
    assert "quota</strong> fails" in page
    assert "Promote to dev" in page


def test_promote_and_roll_back_from_the_page(client, tenant, member, envs, profiles):
    workload = WorkloadFactory(tenant=tenant, name="ranker")
    first = RevisionFactory(workload=workload, number=1, profile=profiles["dedicated"])
    RevisionFactory(workload=workload, number=2, profile=profiles["dedicated"])
    DeploymentFactory(current_revision=first, environment=envs["dev"])
    QuotaGrantFactory(environment=envs["dev"], profile=profiles["dedicated"])
    client.force_login(member)
    kwargs = {"slug": "search", "name": "ranker"}
    client.post(reverse("workloads:promote", kwargs=kwargs), {"environment": "dev"})
    dep = WorkloadEnvironment.objects.get(workload=workload)
    assert dep.current_revision.number == 2
    response = client.post(
        reverse("workloads:rollback", kwargs=kwargs),
        {"environment": "dev", "reason": "p99"},
        follow=True,
    )
    dep.refresh_from_db()
    assert dep.current_revision.number == 1
    assert "Rolled dev back from revision 2 to 1" in response.content.decode()


def test_a_failed_promotion_shows_why(client, tenant, member, envs, profiles):
    workload = WorkloadFactory(tenant=tenant, name="ranker")
    RevisionFactory(workload=workload, number=1)
    client.force_login(member)
    response = client.post(
        reverse("workloads:promote", kwargs={"slug": "search", "name": "ranker"}),
        {"environment": "dev"},
        follow=True,
    )
    assert "gate quota failed: search-dev has no quota grant" in response.content.decode()


def test_list_query_count_does_not_grow_with_the_number_of_workloads(client, tenant, member, envs):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(member)
    url = reverse("workloads:list", kwargs={"slug": "search"})
    counts = []
    for batch in range(2):
        for i in range(1 + batch * 5):
            revision = RevisionFactory(
                workload=WorkloadFactory(tenant=tenant, name=f"b{batch}-{i}"), number=1
            )
            DeploymentFactory(current_revision=revision, environment=envs["prod"])
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_detail_query_count_does_not_grow_with_revisions(client, tenant, member, envs):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    workload = WorkloadFactory(tenant=tenant, name="ranker")
    first = RevisionFactory(workload=workload, number=1)
    DeploymentFactory(current_revision=first, environment=envs["dev"])
    client.force_login(member)
    url = reverse("workloads:detail", kwargs={"slug": "search", "name": "ranker"})
    counts = []
    for numbers in (range(2, 3), range(3, 9)):
        for number in numbers:
            RevisionFactory(workload=workload, number=number)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
