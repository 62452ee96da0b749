"""One side of Route 53 DNS failover: address records of this stack's hosts, a health check on
the serving host and the failover record.

prod owns the hosted zone (creates it, or is given an existing one) and the PRIMARY record;
dr adds the SECONDARY record, with its own health check, to the zone prod exports. Both
records share name and type and differ by set identifier. Each host with a public IP gets an
A (and AAAA) record named by its publicAddress; the failover record is a CNAME to the serving
host's name, and its health check probes that host's IP directly, sending the failover name
for SNI and Host, so the check tests exactly the address the record leads to.

Route 53 is a global service: pulumi-aws v7 gives `route53.Zone`, `HealthCheck` and `Record`
no `region` argument, because there is no regional endpoint to choose - the provider calls the
one global Route 53 API whatever its region. The only regional piece here is the alarm:
Route 53 publishes health-check metrics to CloudWatch in us-east-1 only, so the alarm must sit
there whichever regions the hosts are in.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

# Route 53 sends health-check metrics (AWS/Route53 HealthCheckStatus) to CloudWatch in us-east-1 only.
HEALTH_METRICS_REGION = "us-east-1"
# The regions Route 53 health checkers run in; a check names at least three of them.
CHECKER_REGIONS = frozenset(
    {
        "us-east-1",
        "us-west-1",
        "us-west-2",
        "eu-west-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-northeast-1",
        "sa-east-1",
    }
)
MIN_CHECKER_REGIONS = 3
_HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class HostAddress:
    """One host's address records: `name` gets an A record for `ipv4` and an AAAA for `ipv6`."""

    name: str
    ipv4: str | None = None
    ipv6: str | None = None

    def __post_init__(self) -> None:
        if not _HOST_NAME.match(self.name.rstrip(".").lower()):
            raise ValueError(f"address record name must be a host name, not {self.name!r}")
        if self.ipv4 is None and self.ipv6 is None:
            raise ValueError(f"address record {self.name} has neither ipv4 nor ipv6")
        for version, value in ((4, self.ipv4), (6, self.ipv6)):
            if value is not None and (not _is_ip(value) or ipaddress.ip_address(value).version != version):
                raise ValueError(f"{self.name}: {value!r} is not an IPv{version} address")


@dataclass(frozen=True)
class DnsFailoverArgs:
    """The failover record, the host it answers with and the health check that decides failover."""

    zone_name: str
    """The hosted zone's name (`ziggie.example`)."""
    record_name: str
    """The name users resolve (`app.ziggie.example`), inside the zone."""
    target: str
    """The serving host's name (its publicAddress): the failover record is a CNAME to it."""
    probe_ip: str
    """The serving host's IPv4 address: what the health check probes."""
    role: Literal["PRIMARY", "SECONDARY"]
    set_identifier: str
    """Tells this record from the other side's; unique per name and type."""
    addresses: Sequence[HostAddress] = ()
    """Address records of this stack's hosts, created in the zone."""
    zone_id: pulumi.Input[str] | None = None
    """An existing zone to put the records in; it wins over `create_zone`."""
    create_zone: bool = True
    """Create the zone when `zone_id` is None. Only a PRIMARY may: the zone belongs to prod."""
    health_check_path: str = "/health"
    port: int = 443
    request_interval: int = 30
    """Seconds between probes from each checker: Route 53 takes 10 or 30."""
    failure_threshold: int = 3
    """Consecutive failed probes before the endpoint counts as unhealthy (1 to 10)."""
    regions: Sequence[str] = ("eu-west-1", "us-east-1", "us-west-2")
    """Checker regions (at least three); empty lets Route 53 use all of them."""
    alarm: bool = True
    """A CloudWatch alarm (in us-east-1) when the health check fails."""
    alarm_actions: Sequence[pulumi.Input[str]] = ()
    """ARNs notified when the alarm fires and when it clears (SNS topics in us-east-1)."""
    ttl: int = 60
    """Seconds resolvers cache the answer: bounds how long clients follow a dead host after failover."""
    protect_zone: bool = False
    """Protect a zone this component creates (prod): deleting it takes every record with it."""
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        zone, record = self.zone_name.rstrip("."), self.record_name.rstrip(".")
        if not (record == zone or record.endswith("." + zone)):
            raise ValueError(f"record_name {self.record_name} is not inside the zone {self.zone_name}")
        if record == zone:
            raise ValueError(f"a CNAME cannot sit at the zone apex {self.zone_name}")
        if self.zone_id is None and not self.create_zone:
            raise ValueError("zone_id is None and create_zone is False: the record would have no zone")
        if self.zone_id is None and self.role == "SECONDARY":
            raise ValueError(
                "a SECONDARY record needs the zone_id of the PRIMARY's zone; a zone of its own with "
                "the same name would answer no resolver"
            )
        if _is_ip(self.target) or not _HOST_NAME.match(self.target.rstrip(".").lower()):
            raise ValueError(f"the failover record's target must be a host name, not {self.target!r}")
        if not _is_ip(self.probe_ip) or ipaddress.ip_address(self.probe_ip).version != 4:
            raise ValueError(f"probe_ip must be an IPv4 address, not {self.probe_ip!r}")
        names = [a.name.rstrip(".") for a in self.addresses]
        for address in self.addresses:
            name = address.name.rstrip(".")
            if not (name == zone or name.endswith("." + zone)):
                raise ValueError(f"address record {address.name} is not inside the zone {self.zone_name}")
            if names.count(name) > 1:
                raise ValueError(f"address record {address.name} is given twice")
        own = {a.name.rstrip("."): a for a in self.addresses}.get(self.target.rstrip("."))
        if own is not None and own.ipv4 != self.probe_ip:
            # The check would test one machine while the record sends users to another.
            raise ValueError(
                f"probe_ip {self.probe_ip} is not the address of {self.target} ({own.ipv4}), which the record answers"
            )
        if not 1 <= len(self.set_identifier) <= 128:
            raise ValueError("set_identifier must be 1 to 128 characters")
        if not self.health_check_path.startswith("/"):
            raise ValueError(f"health_check_path must start with /, not {self.health_check_path!r}")
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port must be 1 to 65535, not {self.port}")
        if self.request_interval not in (10, 30):
            raise ValueError(f"request_interval must be 10 or 30 seconds, not {self.request_interval}")
        if not 1 <= self.failure_threshold <= 10:
            raise ValueError(f"failure_threshold must be 1 to 10, not {self.failure_threshold}")
        if self.regions:
            unknown = sorted(set(self.regions) - CHECKER_REGIONS)
            if unknown:
                raise ValueError(
                    f"regions {', '.join(unknown)} host no Route 53 health checkers; "
                    f"choose from {', '.join(sorted(CHECKER_REGIONS))}"
                )
            if len(set(self.regions)) < MIN_CHECKER_REGIONS:
                raise ValueError(
                    f"Route 53 needs at least three checker regions, all different; {len(set(self.regions))} given"
                )
        for action in self.alarm_actions:
            # The alarm lives in us-east-1, and CloudWatch takes only actions of its own region.
            if (
                isinstance(action, str)
                and action.startswith("arn:")
                and action.split(":")[3:4] != [HEALTH_METRICS_REGION]
            ):
                raise ValueError(f"alarm action {action} is not in {HEALTH_METRICS_REGION}, where the alarm lives")
        if not 0 <= self.ttl <= 2147483647:
            raise ValueError(f"ttl must be 0 to 2147483647 seconds, not {self.ttl}")


class DnsFailover(pulumi.ComponentResource):
    """A failover record answered while its health check passes, or as the fallback."""

    zone: aws.route53.Zone | None
    address_records: dict[str, aws.route53.Record]
    health_check: aws.route53.HealthCheck
    alarm: aws.cloudwatch.MetricAlarm | None
    record: aws.route53.Record
    zone_id: pulumi.Output[str]
    name_servers: pulumi.Output[Sequence[str]] | None
    health_check_id: pulumi.Output[str]
    record_fqdn: pulumi.Output[str]

    def __init__(self, name: str, args: DnsFailoverArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ziggie:aws:DnsFailover", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.zone = None
        self.name_servers = None
        zone_id: pulumi.Input[str]
        if args.zone_id is not None:
            zone_id = args.zone_id
        else:
            self.zone = aws.route53.Zone(
                f"{name}-zone",
                name=args.zone_name,
                comment=f"Failover records for {args.record_name}",
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect_zone),
            )
            zone_id = self.zone.zone_id
            # The parent zone delegates to these four: until it does, nothing here resolves.
            self.name_servers = self.zone.name_servers

        self.address_records = {}
        for address in self.addresses_sorted(args):
            short = address.name.rstrip(".").removesuffix("." + args.zone_name.rstrip("."))
            for record_type, ip in (("A", address.ipv4), ("AAAA", address.ipv6)):
                if ip is None:
                    continue
                self.address_records[f"{address.name} {record_type}"] = aws.route53.Record(
                    f"{name}-{short}-{record_type.lower()}",
                    zone_id=zone_id,
                    name=address.name,
                    type=record_type,
                    ttl=args.ttl,
                    records=[ip],
                    opts=child,
                )

        self.health_check = aws.route53.HealthCheck(
            f"{name}-health",
            type="HTTPS",
            # By IP, so the check tests the host the record leads to and not whatever a
            # resolver returns; with both set, Route 53 sends the fqdn as the Host header and,
            # with enable_sni, in the TLS handshake, so nginx serves this name's certificate
            # and server block (pulumi-aws route53/health_check.py, `fqdn`: "If a value is set
            # for ip_address, the value set for fqdn will be passed in the Host header").
            ip_address=args.probe_ip,
            fqdn=args.record_name,
            enable_sni=True,
            port=args.port,
            resource_path=args.health_check_path,
            request_interval=args.request_interval,
            failure_threshold=args.failure_threshold,
            measure_latency=True,
            regions=list(args.regions) or None,
            tags={**args.tags, "Name": f"{args.record_name} {args.role.lower()} via {args.target}"},
            opts=child,
        )

        self.alarm = None
        if args.alarm:
            actions = list(args.alarm_actions) or None
            self.alarm = aws.cloudwatch.MetricAlarm(
                f"{name}-health-alarm",
                alarm_description=f"{args.target} ({args.probe_ip}, {args.role} for {args.record_name}) fails its "
                "Route 53 health check",
                namespace="AWS/Route53",
                metric_name="HealthCheckStatus",
                dimensions={"HealthCheckId": self.health_check.id},
                statistic="Minimum",
                period=60,
                evaluation_periods=1,
                comparison_operator="LessThanThreshold",
                threshold=1,
                # No data means the checkers are not reporting: treat it as down, not as fine.
                treat_missing_data="breaching",
                # Told when it fails and when it recovers, so nobody is left guessing.
                alarm_actions=actions,
                ok_actions=actions,
                region=HEALTH_METRICS_REGION,
                tags=dict(args.tags),
                opts=child,
            )

        # Route 53 answers the PRIMARY while its health check passes and the SECONDARY
        # otherwise; a SECONDARY with its own check stops answering when the standby is down
        # too, and Route 53 then falls back to the PRIMARY rather than to nothing.
        self.record = aws.route53.Record(
            f"{name}-record",
            zone_id=zone_id,
            name=args.record_name,
            type="CNAME",
            ttl=args.ttl,
            records=[args.target],
            set_identifier=args.set_identifier,
            failover_routing_policies=[aws.route53.RecordFailoverRoutingPolicyArgs(type=args.role)],
            health_check_id=self.health_check.id,
            opts=child,
        )

        self.zone_id = pulumi.Output.from_input(zone_id)
        self.health_check_id = self.health_check.id
        self.record_fqdn = self.record.fqdn
        self.register_outputs(
            {
                "zone": self.zone,
                "address_records": self.address_records,
                "health_check": self.health_check,
                "alarm": self.alarm,
                "record": self.record,
                "zone_id": self.zone_id,
                "name_servers": self.name_servers,
                "health_check_id": self.health_check_id,
                "record_fqdn": self.record_fqdn,
            }
        )

    @staticmethod
    def addresses_sorted(args: DnsFailoverArgs) -> list[HostAddress]:
        """The address records in name order, so resource names and order are stable."""
        return sorted(args.addresses, key=lambda a: a.name)
