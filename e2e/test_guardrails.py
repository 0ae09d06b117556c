"""Browser journey of a platform admin: the cluster page shows the guardrails' mode (loaded by
htmx), the admin switches the cluster to enforce, then exempts a workload from a rule and sees a
field-level error for an end date in the past."""

from datetime import timedelta

from django.utils import timezone

from clusters.tests.factories import ClusterFactory
from guardrails.models import ClusterGuardrails, RuleExemption
from tenants.tests.factories import EnvironmentFactory, TenantFactory, platform_admin
from workloads.tests.factories import WorkloadFactory

from .conftest import screenshot, sign_in


def test_admin_enforces_guardrails_and_exempts_a_workload(browser_page):
    cluster = ClusterFactory(name="gpu-eu-1", kubernetes_version="1.31")
    ClusterFactory(name="gpu-legacy", kubernetes_version="1.29")
    tenant = TenantFactory(slug="search", cluster=cluster)
    EnvironmentFactory(tenant=tenant, name="prod")
    WorkloadFactory(tenant=tenant, name="ranker")
    page = browser_page
    sign_in(page, platform_admin().username)

    page.goto("/clusters/gpu-eu-1/")
    panel = page.locator("#guardrails-panel")
    panel.get_by_text("Audit (report, never block)").wait_for()
    screenshot(page, "guardrails-cluster-audit")
    panel.get_by_role("button", name="Switch to enforce (deny violations)").click()
    page.locator("#guardrails-panel").get_by_text("Enforce (deny violations)").wait_for()
    assert ClusterGuardrails.objects.get(cluster=cluster).mode == "enforce"

    page.goto("/clusters/gpu-legacy/")
    page.locator("#guardrails-panel").get_by_text("Not enforced on this cluster").wait_for()
    screenshot(page, "guardrails-cluster-legacy")

    page.goto("/guardrails/exceptions/rules/new/")
    page.select_option("select[name=workload]", label="search / ranker")
    page.select_option("select[name=environment]", "prod")
    page.select_option("select[name=rule]", "image-registry")
    page.fill("textarea[name=reason]", "vendor image, mirrored next sprint")
    page.fill("input[name=expires_at]", "2020-01-01T00:00")
    page.get_by_role("button", name="Grant").click()
    page.get_by_text("Choose an end date in the future.").wait_for()
    screenshot(page, "guardrails-exemption-error")
    until = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    page.fill("input[name=expires_at]", until)
    page.get_by_role("button", name="Grant").click()
    page.get_by_text("ranker is exempt from image-registry.").wait_for()
    assert RuleExemption.objects.get().reason == "vendor image, mirrored next sprint"
    screenshot(page, "guardrails-overview")
