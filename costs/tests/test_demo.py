"""Demo usage: hourly rows for every live grant of active tenants, marked as demo, idempotent."""

from costs.demo import seed_demo
from costs.models import DailyUsage, HourlyUsage, PriceBookEntry, Source
from costs.selectors import tenant_costs
from tenants.tests.factories import QuotaGrantFactory


def test_demo_seeds_hours_for_each_grant_marked_as_demo(db):
    grant = QuotaGrantFactory()

    created = seed_demo(days=2)

    assert created == 48
    assert set(HourlyUsage.objects.values_list("source", flat=True)) == {Source.DEMO}
    assert DailyUsage.objects.filter(tenant=grant.tenant).exists()
    assert PriceBookEntry.objects.filter(gpu_model=grant.profile.gpu_model).exists()


def test_demo_seed_twice_changes_nothing(db):
    QuotaGrantFactory()
    seed_demo(days=2)
    before = sorted(HourlyUsage.objects.values_list("hour", "unit_hours", "used_unit_hours"))

    seed_demo(days=2)

    assert (
        sorted(HourlyUsage.objects.values_list("hour", "unit_hours", "used_unit_hours")) == before
    )


def test_demo_usage_costs_something_and_is_flagged_as_demo(db):
    grant = QuotaGrantFactory()
    seed_demo(days=2)
    last = HourlyUsage.objects.latest("hour").hour.date()

    data = tenant_costs(tenant=grant.tenant, start=last.replace(day=1), end=last)

    assert data.demo
    assert data.total.cost > 0


def test_demo_usage_is_attributed_to_the_tenants_registered_workloads(db):
    from tenants.tests.factories import EnvironmentFactory
    from workloads.models import Template
    from workloads.tests.factories import WorkloadFactory

    prod_grant = QuotaGrantFactory(environment=EnvironmentFactory(name="prod"))
    tenant = prod_grant.tenant
    dev_grant = QuotaGrantFactory(environment=EnvironmentFactory(tenant=tenant, name="dev"))
    WorkloadFactory(tenant=tenant, name="ranker", template=Template.INFERENCE)
    WorkloadFactory(tenant=tenant, name="finetune", template=Template.TRAINING)

    seed_demo(days=1)

    by_env = dict(HourlyUsage.objects.values_list("environment_id", "workload").distinct())
    assert by_env == {prod_grant.environment_id: "ranker", dev_grant.environment_id: "finetune"}


def test_reseeding_replaces_demo_rows_of_workloads_that_are_gone(db):
    from workloads.tests.factories import WorkloadFactory

    grant = QuotaGrantFactory()
    workload = WorkloadFactory(tenant=grant.tenant, name="old-name", template="training")
    seed_demo(days=1)
    workload.delete()

    seed_demo(days=1)

    assert set(HourlyUsage.objects.values_list("workload", flat=True)) == {
        f"{grant.tenant.slug}-notebooks"
    }
