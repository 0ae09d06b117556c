"""factory_boy factories for tenancy: users, tenants, environments, GPU profiles and quota."""

from decimal import Decimal

import factory
from django.contrib.auth.models import Group, User

from clusters.tests.factories import ClusterFactory
from portal import roles
from tenants.models import (
    Environment,
    GpuProfile,
    QuotaGrant,
    QuotaRequest,
    Tenant,
    TenantMembership,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if not create or not extracted:
            return
        for name in extracted:
            self.groups.add(Group.objects.get_or_create(name=name)[0])
        self.save()

    @factory.post_generation
    def persist_password(self, create, extracted, **kwargs):
        # set_password runs after the insert; store it so logins and force_login's session
        # hash match the database row
        if create:
            self.save(update_fields=["password"])


def user_in(group: str, **kwargs) -> User:
    return UserFactory(groups=[group], **kwargs)


def platform_admin(**kwargs) -> User:
    return user_in(roles.PLATFORM_ADMIN, **kwargs)


def sre(**kwargs) -> User:
    return user_in(roles.SRE, **kwargs)


def finance(**kwargs) -> User:
    return user_in(roles.FINANCE, **kwargs)


class GpuProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GpuProfile
        django_get_or_create = ("name",)

    name = "h100-80gb"
    display_name = "H100 80GB (dedicated)"
    gpu_model = "NVIDIA H100 80GB HBM3"
    gpu_product = "NVIDIA-H100-80GB-HBM3"
    partition = GpuProfile.Partition.DEDICATED
    resource_name = "nvidia.com/gpu"
    gpu_fraction = Decimal("1")
    memory_gb = 80


def mig_profile(**kwargs) -> GpuProfile:
    defaults = dict(
        name="h100-80gb-mig-1g-10gb",
        display_name="H100 80GB MIG 1g.10gb",
        partition=GpuProfile.Partition.MIG,
        mig_profile="1g.10gb",
        resource_name="nvidia.com/mig-1g.10gb",
        gpu_fraction=Decimal("0.1429"),
        memory_gb=10,
    )
    defaults.update(kwargs)
    return GpuProfileFactory(**defaults)


def time_sliced_profile(**kwargs) -> GpuProfile:
    defaults = dict(
        name="a10-24gb-shared",
        display_name="A10 24GB time-sliced x4",
        gpu_model="NVIDIA A10",
        gpu_product="NVIDIA-A10",
        partition=GpuProfile.Partition.TIME_SLICED,
        resource_name="nvidia.com/gpu.shared",
        gpu_fraction=Decimal("0.25"),
        replicas=4,
        memory_gb=24,
    )
    defaults.update(kwargs)
    return GpuProfileFactory(**defaults)


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")
    team = factory.LazyAttribute(lambda o: o.name)
    cost_center = "CC-1000"
    contact_email = factory.LazyAttribute(lambda o: f"{o.slug}@example.com")
    cluster = factory.SubFactory(ClusterFactory)
    status = Tenant.Status.ACTIVE


class EnvironmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Environment
        django_get_or_create = ("tenant", "name")

    tenant = factory.SubFactory(TenantFactory)
    name = "dev"
    cluster = factory.LazyAttribute(lambda o: o.tenant.cluster)
    namespace = factory.LazyAttribute(lambda o: Environment.namespace_for(o.tenant.slug, o.name))


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TenantMembership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = TenantMembership.Role.OWNER


class QuotaRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QuotaRequest

    environment = factory.SubFactory(EnvironmentFactory)
    tenant = factory.LazyAttribute(lambda o: o.environment.tenant)
    profile = factory.SubFactory(GpuProfileFactory)
    guaranteed = 2
    burst = 2
    justification = "Fine-tuning runs for the ranking model."


class QuotaGrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QuotaGrant

    environment = factory.SubFactory(EnvironmentFactory)
    tenant = factory.LazyAttribute(lambda o: o.environment.tenant)
    profile = factory.SubFactory(GpuProfileFactory)
    guaranteed = 2
    burst = 2
