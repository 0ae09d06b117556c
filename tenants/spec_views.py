"""The tenant's page "as code": its current document (YAML, ready to commit) and the last plan
that was applied, with how to apply one."""

import yaml
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import selectors
from .spec import current_spec


@login_required
@require_GET
def tenant_spec(request, slug: str):
    tenant = selectors.get_tenant_for_user(request.user, slug)
    spec = current_spec(tenant)
    last = tenant.spec_applies.select_related("applied_by").first()
    context = {
        "tenant": tenant,
        "spec_yaml": yaml.safe_dump(spec, sort_keys=False, allow_unicode=True),
        "last": last,
        "can_apply": selectors.can_manage_members(request.user, tenant),
    }
    return render(request, "tenants/spec.html", context)
