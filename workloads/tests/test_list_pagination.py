"""The workload list of a tenant comes in pages of 50, with links that work without JavaScript."""

import re

import pytest
from django.urls import reverse

from .factories import DeploymentFactory, RevisionFactory, WorkloadFactory

pytestmark = pytest.mark.django_db


def _deployed_workloads(tenant, envs, count: int) -> None:
    for i in range(count):
        revision = RevisionFactory(
            workload=WorkloadFactory(tenant=tenant, name=f"w{i:03d}"), number=1
        )
        DeploymentFactory(current_revision=revision, environment=envs["dev"])


def _names(response) -> list[str]:
    return re.findall(r"/workloads/search/(w\d{3})/", response.content.decode())


@pytest.fixture
def sixty(tenant, envs, member, client):
    _deployed_workloads(tenant, envs, 60)
    client.force_login(member)


def _list_url(page=None) -> str:
    url = reverse("workloads:list", kwargs={"slug": "search"})
    return f"{url}?page={page}" if page else url


def test_first_page_shows_fifty_workloads_and_links_to_the_next(client, sixty):
    response = client.get(_list_url())
    assert _names(response) == [f"w{i:03d}" for i in range(50)]
    assert 'href="/workloads/search/?page=2" rel="next"' in response.content.decode()


def test_second_page_shows_the_rest_and_links_back(client, sixty):
    response = client.get(_list_url(2))
    assert _names(response) == [f"w{i:03d}" for i in range(50, 60)]
    body = response.content.decode()
    assert 'href="/workloads/search/?page=1" rel="prev"' in body
    assert "Page 2 of 2" in body and 'rel="next"' not in body


def test_the_htmx_refresh_keeps_the_page_the_user_is_on(client, sixty):
    body = client.get(_list_url(2)).content.decode()
    assert 'hx-get="/workloads/search/?page=2"' in body
    partial = client.get(_list_url(2), HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content
    assert _names(partial) == [f"w{i:03d}" for i in range(50, 60)]


def test_a_page_number_out_of_range_shows_the_last_page(client, sixty):
    response = client.get(_list_url(99))
    assert response.status_code == 200
    assert _names(response)[0] == "w050"


def test_a_page_number_that_is_not_a_number_shows_the_first_page(client, sixty):
    response = client.get(_list_url("abc"))
    assert response.status_code == 200
    assert _names(response)[0] == "w000"


def test_a_short_list_has_no_page_links(client, tenant, envs, member):
    _deployed_workloads(tenant, envs, 3)
    client.force_login(member)
    body = client.get(_list_url()).content.decode()
    assert "Page 1 of" not in body and 'rel="next"' not in body


def test_page_queries_do_not_grow_with_the_workloads(
    client, tenant, envs, member, django_assert_max_num_queries
):
    _deployed_workloads(tenant, envs, 120)
    client.force_login(member)
    with django_assert_max_num_queries(9):
        response = client.get(_list_url(2))
    assert len(_names(response)) == 50
