"""What a blocked promotion tells people: SREs when only their sign-off is missing, the tenant
when the interface document has no owner before prod. One notification per (workload, revision,
gate verdict): retrying the same blocked promotion does not page anyone again."""

from django.urls import reverse

from notifications import kinds
from notifications.services import emit


def promotion_blocked(*, workload, environment, revision, results, sign_off_gate, document_gate):
    by_name = {r.name: r for r in results}
    url = reverse("workloads:detail", args=[workload.tenant.slug, workload.name])
    common = dict(tenant_id=workload.tenant_id, tenant_slug=workload.tenant.slug, url=url)
    sign_off, document = by_name.get(sign_off_gate), by_name.get(document_gate)
    payload = {
        "tenant": workload.tenant.slug,
        "workload": workload.name,
        "environment": environment.name,
        "revision": revision.number,
    }
    if sign_off is not None and not sign_off.passed and document is not None and document.passed:
        emit(
            kind=kinds.PROMOTION_AWAITS_SIGN_OFF.name,
            subject=f"{workload.tenant.slug}/{workload.name} waits for SRE sign-off for "
            f"{environment.name}",
            body=f"Promotion of revision {revision.number} is blocked: {sign_off.reason}",
            payload=payload,
            dedupe_key=f"signoff:{workload.pk}:{revision.pk}:{sign_off.reason}",
            **common,
        )
    if (
        document is not None
        and not document.passed
        and ("owner team" in document.reason or "whole document" in document.reason)
    ):
        emit(
            kind=kinds.DOCUMENT_OWNER_MISSING.name,
            subject=f"Interface document of {workload.tenant.slug}/{workload.name} has no owner",
            body=f"Promotion to {environment.name} (on the way to prod) is blocked: "
            f"{document.reason} Name the owner team in the interface document.",
            payload=payload,
            dedupe_key=f"owner:{workload.pk}:{revision.pk}:{document.reason}",
            **common,
        )
