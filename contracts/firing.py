"""Firing alerts of a tenant or a workload, read from the Alertmanager of each cluster its
environments run on (filtered there by our tenant/workload labels), with who is paged
according to the routing the portal generated. Reads, made when a page asks (htmx panel)."""

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings

from clusters.alertmanager_api import AlertmanagerClient, AlertmanagerError, FiringAlert

from . import selectors
from .alertmanager import DEFAULT_RECEIVER, receivers_for


@dataclass
class PagedAlert:
    cluster: str
    name: str
    workload: str
    environment: str
    severity: str
    signal: str
    summary: str
    since: datetime
    state: str
    receivers: list[str]
    teams: list = field(default_factory=list)  # OnCallTeam rows, in routing order

    @property
    def paged(self) -> str:
        if not self.teams:
            return "nobody (unrouted)"
        return ", ".join(str(t) for t in self.teams)


@dataclass
class FiringView:
    alerts: list[PagedAlert] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one per cluster that could not be read
    clusters_without_alertmanager: list[str] = field(default_factory=list)


def _client(cluster) -> AlertmanagerClient:
    return AlertmanagerClient.for_cluster(
        cluster, timeout=settings.CONTRACTS_ALERTMANAGER_TIMEOUT, retries=1, backoff=0.2
    )


def firing_alerts(clusters, matchers: dict[str, str]) -> FiringView:
    """Alerts firing now on `clusters` whose labels equal `matchers` (tenant, workload)."""
    view = FiringView()
    config = selectors.alertmanager_config()
    directory = selectors.directory()
    for cluster in sorted(set(clusters), key=lambda c: c.name):
        if not cluster.alertmanager_url:
            view.clusters_without_alertmanager.append(cluster.name)
            continue
        try:
            found: list[FiringAlert] = _client(cluster).alerts(matchers)
        except AlertmanagerError as exc:
            view.errors.append(f"{cluster.name}: {exc}")
            continue
        for alert in found:
            # Alertmanager's filter already matched; checked again so that a proxy which
            # ignores `filter` can never show one tenant another tenant's alerts
            if any(alert.label(k) != v for k, v in matchers.items()):
                continue
            routed = [r for r in receivers_for(config, alert.labels) if r != DEFAULT_RECEIVER]
            view.alerts.append(
                PagedAlert(
                    cluster=cluster.name,
                    name=alert.label("alertname"),
                    workload=alert.label("workload"),
                    environment=alert.label("environment"),
                    severity=alert.label("severity"),
                    signal=alert.label("signal"),
                    summary=alert.annotations.get("summary", ""),
                    since=alert.starts_at,
                    state=alert.state,
                    receivers=routed,
                    teams=[directory[r] for r in routed if r in directory],
                )
            )
    view.alerts.sort(key=lambda a: (a.since, a.name))
    return view


def tenant_alerts(tenant) -> FiringView:
    clusters = [env.cluster for env in tenant.environments.select_related("cluster")]
    return firing_alerts(clusters, {"tenant": tenant.slug})


def workload_alerts(workload) -> FiringView:
    clusters = [env.cluster for env in workload.tenant.environments.select_related("cluster")]
    return firing_alerts(clusters, {"tenant": workload.tenant.slug, "workload": workload.name})
