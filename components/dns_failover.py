"""One side of Route 53 DNS failover: a health check on this stack's host and its record.

prod owns the hosted zone (or uses an existing one) and the PRIMARY record; dr adds the
SECONDARY record with its own health check in the zone prod exports. Both records share a
name and type and differ by set identifier.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

# Route 53 publishes health-check metrics to CloudWatch in us-east-1 only.
HEALTH_METRICS_REGION = "us-east-1"


@dataclass(frozen=True)
class DnsFailoverArgs:
    """The record, its target and the health check that decides failover."""

    zone_name: str
    record_name: str
    target: str
    role: Literal["PRIMARY", "SECONDARY"]
    set_identifier: str
    zone_id: pulumi.Input[str] | None = None
    """An existing zone; None creates one (prod only)."""
    record_type: Literal["A", "CNAME"] = "CNAME"
    health_check_path: str = "/health"
    port: int = 443
    request_interval: int = 30
    failure_threshold: int = 3
    regions: Sequence[str] = ("eu-west-1", "us-east-1", "us-west-2")
    alarm: bool = True
    ttl: int = 60
    protect_zone: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.request_interval not in (10, 30):
            raise ValueError(f"request_interval must be 10 or 30 seconds, not {self.request_interval}")
        if not 1 <= self.failure_threshold <= 10:
            raise ValueError(f"failure_threshold must be 1 to 10, not {self.failure_threshold}")
        if self.regions and len(self.regions) < 3:
            raise ValueError("Route 53 needs at least three checker regions")
        if not self.health_check_path.startswith("/"):
            raise ValueError("health_check_path must start with /")


class DnsFailover(pulumi.ComponentResource):
    """A failover record answered while its health check passes (PRIMARY) or as fallback."""

    zone: aws.route53.Zone | None
    health_check: aws.route53.HealthCheck
    alarm: aws.cloudwatch.MetricAlarm | None
    record: aws.route53.Record
    zone_id: pulumi.Output[str]
    health_check_id: pulumi.Output[str]
    record_fqdn: pulumi.Output[str]

    def __init__(self, name: str, args: DnsFailoverArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ziggie:aws:DnsFailover", name, None, opts)
        # Route 53 is a global service: its zone, health check and records take no region.
        self.zone = None
        if args.zone_id is None:
            self.zone = aws.route53.Zone(
                f"{name}-zone",
                name=args.zone_name,
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect_zone),
            )
        zone_id: pulumi.Input[str] = self.zone.zone_id if self.zone is not None else args.zone_id  # type: ignore[assignment]

        self.health_check = aws.route53.HealthCheck(
            f"{name}-health",
            type="HTTPS",
            fqdn=args.target,
            port=args.port,
            resource_path=args.health_check_path,
            request_interval=args.request_interval,
            failure_threshold=args.failure_threshold,
            measure_latency=True,
            enable_sni=True,
            regions=list(args.regions) or None,
            tags={**args.tags, "Name": f"{args.record_name} {args.role.lower()}"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.alarm = None
        if args.alarm:
            self.alarm = aws.cloudwatch.MetricAlarm(
                f"{name}-health-alarm",
                alarm_description=f"{args.target} ({args.role}) fails its Route 53 health check",
                namespace="AWS/Route53",
                metric_name="HealthCheckStatus",
                dimensions={"HealthCheckId": self.health_check.id},
                statistic="Minimum",
                period=60,
                evaluation_periods=1,
                comparison_operator="LessThanThreshold",
                threshold=1,
                treat_missing_data="breaching",
                region=HEALTH_METRICS_REGION,
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self),
            )
        # Route 53 answers the PRIMARY while its health check passes and the SECONDARY
        # otherwise; a SECONDARY with its own check stops answering when the standby is down too.
        self.record = aws.route53.Record(
            f"{name}-record",
            zone_id=zone_id,
            name=args.record_name,
            type=args.record_type,
            ttl=args.ttl,
            records=[args.target],
            set_identifier=args.set_identifier,
            failover_routing_policies=[{"type": args.role}],
            health_check_id=self.health_check.id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.zone_id = pulumi.Output.from_input(zone_id)
        self.health_check_id = self.health_check.id
        self.record_fqdn = self.record.fqdn
        self.register_outputs(
            {"zone_id": self.zone_id, "health_check_id": self.health_check_id, "record_fqdn": self.record_fqdn}
        )
