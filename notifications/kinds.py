"""The registry of notification kinds: what can happen, who hears about it by default.

Another app adds a kind with one call at import time (e.g. in its own `notify.py`):

    from notifications.kinds import Kind, register
    BUDGET_THRESHOLD = register(Kind("costs.budget_threshold", "Budget threshold reached",
                                     tenant_roles=("owner",), roles=("finance",)))

and emits it with `notifications.services.emit(kind=BUDGET_THRESHOLD.name, ...)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal import roles


@dataclass(frozen=True)
class Kind:
    """One kind of event.

    name: stable dotted identifier (stored in the outbox, sent in webhook payloads).
    label: what users read on their preferences page.
    roles: portal roles (Django groups) whose members receive it.
    tenant_roles: roles in the event's tenant (owner, member, viewer) whose holders receive it.
    email_by_default: whether a user who never chose receives it by e-mail.
    """

    name: str
    label: str
    roles: tuple[str, ...] = ()
    tenant_roles: tuple[str, ...] = ()
    email_by_default: bool = True


_kinds: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    existing = _kinds.get(kind.name)
    if existing is not None and existing != kind:
        raise ValueError(f"notification kind {kind.name!r} is registered twice, differently")
    _kinds[kind.name] = kind
    return kind


def get(name: str) -> Kind:
    try:
        return _kinds[name]
    except KeyError:
        raise LookupError(
            f"unknown notification kind {name!r}; register it in notifications.kinds first "
            f"(known: {', '.join(sorted(_kinds))})"
        ) from None


def all_kinds() -> list[Kind]:
    return sorted(_kinds.values(), key=lambda k: k.name)


# --- the portal's own kinds ------------------------------------------------------------------

TENANT_SUBMITTED = register(
    Kind(
        "tenant.submitted",
        "A tenant onboarding waits for a decision",
        roles=(roles.PLATFORM_ADMIN,),
    )
)
TENANT_DECIDED = register(
    Kind("tenant.decided", "A tenant onboarding was approved or rejected", tenant_roles=("owner",))
)
QUOTA_SUBMITTED = register(
    Kind(
        "quota.submitted",
        "A GPU quota request waits for a decision",
        roles=(roles.PLATFORM_ADMIN,),
        email_by_default=False,
    )
)
QUOTA_DECIDED = register(
    Kind("quota.decided", "A GPU quota request was approved or rejected", tenant_roles=("owner",))
)
SYNC_FAILED = register(
    Kind(
        "sync.failed",
        "A sync to a cluster failed, is blocked, conflicts or waits for confirmation",
        roles=(roles.PLATFORM_ADMIN,),
    )
)
PROMOTION_AWAITS_SIGN_OFF = register(
    Kind(
        "promotion.awaits_sign_off",
        "A promotion to prod waits for an SRE sign-off",
        roles=(roles.SRE,),
    )
)
DOCUMENT_OWNER_MISSING = register(
    Kind(
        "document.owner_missing",
        "An interface document has no owner before prod",
        tenant_roles=("owner", "member"),
    )
)
