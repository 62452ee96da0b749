"""Watching the CDN: an uptime check on its domain, and alert policies on it and on 5xx responses.

The uptime check fetches the health object the CDN component puts in the bucket, over HTTPS
with the certificate validated, so it fails when the bucket, the grant to Cloud CDN, the load
balancer or the managed certificate is broken. The 5xx alert is the ratio of 5xx responses to
all responses of the HTTPS forwarding rules (the load balancer's `https_lb_rule` metrics).
Both tell the stack's email channels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

# Named imports load these lazily imported pulumi_gcp modules here, at import: the SDK evaluates a
# component's annotations while registering it, and Python 3.11's LazyLoader is not thread-safe.
from pulumi_gcp.monitoring import AlertPolicy, UptimeCheckConfig

UPTIME_PERIOD = "60s"
UPTIME_TIMEOUT = "10s"
# Error ratio above which the load balancer alerts, held for ALERT_DURATION.
ERROR_RATIO = 0.05
ALERT_DURATION = "300s"
REQUESTS = 'metric.type="loadbalancing.googleapis.com/https/request_count" AND resource.type="https_lb_rule"'


def _rules_filter(names: Sequence[str]) -> str:
    quoted = " OR ".join(f'resource.label.forwarding_rule_name="{n}"' for n in names)
    return f"{REQUESTS} AND ({quoted})"


@dataclass(frozen=True)
class CdnMonitoringArgs:
    """What is watched and who is told."""

    project: str
    domain: str
    path: str
    """Path the uptime check fetches (the health object)."""
    https_rule_names: pulumi.Input[Sequence[str]]
    channel_ids: pulumi.Input[Sequence[str]]
    provider: gcp.Provider
    labels: Mapping[str, str] = field(default_factory=dict)


class CdnMonitoring(pulumi.ComponentResource):
    """An uptime check on the CDN domain and the alert policies that report on the CDN."""

    uptime_check: UptimeCheckConfig
    uptime_alert: AlertPolicy
    error_alert: AlertPolicy

    def __init__(self, name: str, args: CdnMonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ziggie:gcp:CdnMonitoring", name, None, opts)
        on_gcp = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.uptime_check = gcp.monitoring.UptimeCheckConfig(
            f"{name}-uptime",
            project=args.project,
            display_name=f"CDN {args.domain}",
            period=UPTIME_PERIOD,
            timeout=UPTIME_TIMEOUT,
            http_check=gcp.monitoring.UptimeCheckConfigHttpCheckArgs(
                path=args.path, port=443, use_ssl=True, validate_ssl=True, request_method="GET"
            ),
            monitored_resource=gcp.monitoring.UptimeCheckConfigMonitoredResourceArgs(
                type="uptime_url", labels={"project_id": args.project, "host": args.domain}
            ),
            opts=on_gcp,
        )
        # Google's documented uptime alert: count the failing checker regions of this check.
        uptime_filter = self.uptime_check.uptime_check_id.apply(
            lambda check: (
                'metric.type="monitoring.googleapis.com/uptime_check/check_passed" '
                f'AND resource.type="uptime_url" AND metric.label.check_id="{check}"'
            )
        )
        self.uptime_alert = self._alert(
            f"{name}-uptime-alert",
            args,
            f"CDN {args.domain} is down",
            f"uptime check on {args.domain} fails",
            gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
                filter=uptime_filter,
                comparison="COMPARISON_GT",
                threshold_value=1,
                duration="60s",
                aggregations=[
                    gcp.monitoring.AlertPolicyConditionConditionThresholdAggregationArgs(
                        alignment_period="1200s",
                        per_series_aligner="ALIGN_NEXT_OLDER",
                        cross_series_reducer="REDUCE_COUNT_FALSE",
                        group_by_fields=["resource.label.*"],
                    )
                ],
                trigger=gcp.monitoring.AlertPolicyConditionConditionThresholdTriggerArgs(count=1),
            ),
            on_gcp,
        )
        rules = pulumi.Output.from_input(args.https_rule_names)
        # Numerator and denominator are aligned and summed alike, so the ratio compares like with like.
        align = {"alignment_period": "60s", "per_series_aligner": "ALIGN_RATE", "cross_series_reducer": "REDUCE_SUM"}
        self.error_alert = self._alert(
            f"{name}-5xx-alert",
            args,
            f"CDN {args.domain} serves 5xx",
            f"5xx ratio above {ERROR_RATIO:.0%}",
            gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
                filter=rules.apply(lambda names: _rules_filter(names) + ' AND metric.label.response_code_class="500"'),
                denominator_filter=rules.apply(_rules_filter),
                aggregations=[gcp.monitoring.AlertPolicyConditionConditionThresholdAggregationArgs(**align)],
                denominator_aggregations=[
                    gcp.monitoring.AlertPolicyConditionConditionThresholdDenominatorAggregationArgs(**align)
                ],
                comparison="COMPARISON_GT",
                threshold_value=ERROR_RATIO,
                duration=ALERT_DURATION,
                trigger=gcp.monitoring.AlertPolicyConditionConditionThresholdTriggerArgs(count=1),
            ),
            on_gcp,
        )
        self.register_outputs(
            {"uptime_check": self.uptime_check, "uptime_alert": self.uptime_alert, "error_alert": self.error_alert}
        )

    @staticmethod
    def _alert(
        resource_name: str,
        args: CdnMonitoringArgs,
        title: str,
        condition_title: str,
        threshold: gcp.monitoring.AlertPolicyConditionConditionThresholdArgs,
        opts: pulumi.ResourceOptions,
    ) -> AlertPolicy:
        """One single-condition alert policy telling the stack's channels."""
        return gcp.monitoring.AlertPolicy(
            resource_name,
            project=args.project,
            display_name=title,
            combiner="OR",
            conditions=[
                gcp.monitoring.AlertPolicyConditionArgs(display_name=condition_title, condition_threshold=threshold)
            ],
            notification_channels=args.channel_ids,
            user_labels=dict(args.labels),
            opts=opts,
        )
