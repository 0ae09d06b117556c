"""Writes of the GPU catalog: the profiles teams request quota of (platform admins only)."""

from django.db import transaction

from portal import roles
from portal.domain_errors import DomainError

from .models import GpuProfile, QuotaGrant
from .services import ADMINS_DECIDE, full_clean

PROFILE_FIELDS = (
    "display_name",
    "gpu_model",
    "gpu_product",
    "partition",
    "mig_profile",
    "resource_name",
    "gpu_fraction",
    "replicas",
    "memory_gb",
    "is_active",
)


@transaction.atomic
def create_gpu_profile(*, actor, name: str, **fields) -> GpuProfile:
    roles.require(actor, roles.PLATFORM_ADMIN, message=ADMINS_DECIDE)
    if GpuProfile.objects.filter(name=name).exists():
        raise DomainError(f"A profile named {name!r} exists; pick another name.", field="name")
    profile = GpuProfile(name=name, **{k: v for k, v in fields.items() if k in PROFILE_FIELDS})
    _check_profile(profile)
    profile.save()
    return profile


@transaction.atomic
def update_gpu_profile(*, actor, profile: GpuProfile, **fields) -> GpuProfile:
    """Catalog edits; the capacity key (gpu_product, resource_name) of a profile in use is
    frozen, since live grants were checked against it."""
    roles.require(actor, roles.PLATFORM_ADMIN, message=ADMINS_DECIDE)
    profile = GpuProfile.objects.select_for_update().get(pk=profile.pk)
    key_before = profile.capacity_key
    for key, value in fields.items():
        if key in PROFILE_FIELDS:
            setattr(profile, key, value)
    if (
        profile.capacity_key != key_before
        and QuotaGrant.objects.filter(profile=profile, revoked_at__isnull=True).exists()
    ):
        raise DomainError(
            "This profile has live grants: create a new profile instead of changing its GPU "
            "product or resource name.",
            field="resource_name",
        )
    _check_profile(profile)
    profile.save()
    return profile


def _check_profile(profile: GpuProfile) -> None:
    if profile.partition == GpuProfile.Partition.MIG and not profile.mig_profile:
        raise DomainError(
            "A MIG profile needs its MIG profile name, e.g. 1g.10gb.", field="mig_profile"
        )
    full_clean(profile)
