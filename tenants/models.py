"""Tenancy: tenants, their members and environments, the GPU catalog, quota requests and grants.

State machines (status fields and their allowed transitions) are declared here; the transitions
themselves are done in services.py under select_for_update().
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from clusters.models import Cluster
from portal.audit import audited
from portal.domain_errors import ConflictError

TENANT_SLUG_MAX = 40  # so that "<slug>-staging" stays a valid 63-character namespace name
MAX_UNITS = 10_000  # no single request may ask for more units of a profile than this

dns1123_label = RegexValidator(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
    "Use lowercase letters, digits and '-', starting and ending with a letter or digit "
    "(a DNS-1123 label).",
)


class Decided:
    """A status with its allowed moves in `TRANSITIONS`, decided by someone, at a time, for a
    reason (the fields `status`, `decided_by`, `decided_at`, `decision_reason`). Every move goes
    through `decide()`, which refuses what `TRANSITIONS` does not allow. Callers lock the row
    (select_for_update) and check who may decide; this is the state machine only."""

    TRANSITIONS: dict

    def can_transition(self, to: str) -> bool:
        return to in self.TRANSITIONS[self.Status(self.status)]

    def decide(self, to: str, *, by, reason: str = "", at=None) -> None:
        if not self.can_transition(to):
            raise ConflictError(
                f"{self._meta.verbose_name.capitalize()} {self} is {self.status}; "
                f"it cannot become {to}."
            )
        self.status = to
        self.decided_by = by
        self.decided_at = at or timezone.now()
        self.decision_reason = reason
        self.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])


class EnvironmentName(models.TextChoices):
    DEV = "dev", "Development"
    STAGING = "staging", "Staging"
    PROD = "prod", "Production"


ENVIRONMENT_ORDER = [EnvironmentName.DEV, EnvironmentName.STAGING, EnvironmentName.PROD]


class Tier(models.TextChoices):
    """Size class of a tenant: sets the CPU, memory and pod limits of its namespaces."""

    SMALL = "small", "Small"
    MEDIUM = "medium", "Medium"
    LARGE = "large", "Large"


@audited()
class GpuProfile(models.Model):
    """One entry of the GPU catalog: a GPU model x a partitioning, as Kubernetes sees it."""

    class Partition(models.TextChoices):
        DEDICATED = "dedicated", "Dedicated GPU"
        MIG = "mig", "MIG instance"
        TIME_SLICED = "time-sliced", "Time-sliced"
        MPS = "mps", "MPS"

    name = models.SlugField(max_length=63, unique=True, validators=[dns1123_label])
    display_name = models.CharField(max_length=100)
    gpu_model = models.CharField(max_length=100, help_text="e.g. NVIDIA H100 80GB HBM3")
    gpu_product = models.CharField(
        max_length=100, help_text="Value of the nvidia.com/gpu.product node label"
    )
    partition = models.CharField(max_length=16, choices=Partition.choices)
    mig_profile = models.CharField(max_length=32, blank=True, help_text="e.g. 1g.10gb")
    resource_name = models.CharField(
        max_length=100, help_text="Kubernetes extended resource, e.g. nvidia.com/mig-1g.10gb"
    )
    gpu_fraction = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.0001")), MaxValueValidator(Decimal("1"))],
        help_text="Share of one physical GPU that one unit is (MIG 1g.10gb of 7 slices: 0.1429)",
    )
    replicas = models.PositiveSmallIntegerField(
        default=1, help_text="Shared replicas per GPU for time-slicing / MPS"
    )
    memory_gb = models.PositiveIntegerField(default=0, help_text="GPU memory per unit")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["gpu_model", "gpu_fraction", "name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def capacity_key(self) -> tuple[str, str]:
        return (self.gpu_product, self.resource_name)


# The generation counters are the sync engine's bookkeeping, not a change anyone made: the change
# that bumped them (a grant, an approval) is audited on its own row, and each sync is a SyncRun.
@audited(exclude=["desired_generation", "applied_generation", "updated_at"])
class Tenant(Decided, models.Model):
    """A team's home on the platform."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending approval"
        ACTIVE = "active", "Active"
        REJECTED = "rejected", "Rejected"
        ARCHIVED = "archived", "Archived"

    TRANSITIONS = {
        Status.PENDING: {Status.ACTIVE, Status.REJECTED},
        Status.ACTIVE: {Status.ARCHIVED},
        Status.REJECTED: set(),
        Status.ARCHIVED: set(),
    }

    name = models.CharField(max_length=100)
    slug = models.SlugField(
        max_length=TENANT_SLUG_MAX, unique=True, validators=[dns1123_label], allow_unicode=False
    )
    team = models.CharField(max_length=100)
    cost_center = models.CharField(
        max_length=63,
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$",
                "Use letters, digits, '-', '_' or '.' (it becomes a Kubernetes label value).",
            )
        ],
    )
    description = models.TextField(blank=True, max_length=2000)
    contact_email = models.EmailField()
    oncall_contact = models.CharField(max_length=200, blank=True)
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.SMALL)
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="tenants")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    decision_reason = models.TextField(blank=True, max_length=2000)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The transactional outbox: a change that must reach the cluster bumps desired_generation
    # in its own transaction; the sync engine records applied_generation when it lands.
    desired_generation = models.PositiveBigIntegerField(default=0)
    applied_generation = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return self.name

    @property
    def sync_pending(self) -> bool:
        return self.applied_generation < self.desired_generation


@audited()
class TenantMembership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MEMBER = "member", "Member"
        VIEWER = "viewer", "Viewer"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tenant_memberships"
    )
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="uniq_tenant_member")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} of {self.tenant.slug}"

    @property
    def can_write(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.MEMBER)


@audited()
class Environment(models.Model):
    """One environment of a tenant: one namespace `<tenant>-<env>` on one cluster."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="environments")
    name = models.CharField(max_length=8, choices=EnvironmentName.choices)
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="environments")
    namespace = models.CharField(max_length=63, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="uniq_tenant_environment")
        ]
        ordering = ["tenant", "name"]

    def __str__(self) -> str:
        return self.namespace

    @staticmethod
    def namespace_for(tenant_slug: str, env_name: str) -> str:
        return f"{tenant_slug}-{env_name}"


units_validators = [MinValueValidator(0), MaxValueValidator(MAX_UNITS)]


@audited()
class QuotaRequest(Decided, models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    TRANSITIONS = {
        Status.PENDING: {Status.APPROVED, Status.REJECTED, Status.CANCELLED},
        Status.APPROVED: set(),
        Status.REJECTED: set(),
        Status.CANCELLED: set(),
    }

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="quota_requests")
    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="quota_requests"
    )
    profile = models.ForeignKey(GpuProfile, on_delete=models.PROTECT, related_name="+")
    guaranteed = models.PositiveIntegerField(validators=units_validators)
    burst = models.PositiveIntegerField(default=0, validators=units_validators)
    justification = models.TextField(max_length=4000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(guaranteed__gt=0) | Q(burst__gt=0), name="quota_request_not_empty"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant.slug}/{self.environment.name}: {self.profile.name}"


@audited()
class QuotaGrant(models.Model):
    """What a tenant environment may use of one profile. One live grant per (environment, profile);
    a later approved request replaces its numbers, revoking sets revoked_at."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="quota_grants")
    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="quota_grants"
    )
    profile = models.ForeignKey(GpuProfile, on_delete=models.PROTECT, related_name="+")
    guaranteed = models.PositiveIntegerField(validators=units_validators)
    burst = models.PositiveIntegerField(default=0, validators=units_validators)
    request = models.ForeignKey(
        QuotaRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="grants"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "profile"],
                condition=Q(revoked_at__isnull=True),
                name="uniq_live_grant_per_env_profile",
            )
        ]
        ordering = ["environment", "profile"]

    def __str__(self) -> str:
        return f"{self.environment.namespace}: {self.guaranteed}+{self.burst} {self.profile.name}"

    @property
    def limit(self) -> int:
        return self.guaranteed + self.burst


class TenantSpecApply(models.Model):
    """One applied tenant document (PUT .../spec/): who, when, its digest and the plan carried
    out. A document that changes nothing is not recorded (applying it again writes nothing)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="spec_applies")
    digest = models.CharField(max_length=71)
    document = models.JSONField()
    plan = models.JSONField()
    pruned = models.BooleanField(default=False)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    applied_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-applied_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.digest[:19]}"
