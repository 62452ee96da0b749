"""DnsFailover under Pulumi mocks: the hosts' address records, the health check that decides
failover (probing the host's IP with the record's name for SNI), the record tied to it, the
alarm in the one region Route 53 publishes metrics to, and the zone's ownership."""

from __future__ import annotations

from typing import Any

import pytest
from aws_mocks import install, run

from components.dns_failover import DnsFailover, DnsFailoverArgs, HostAddress
from preflight.mocks import ACCOUNT_ID, RecordingMonitor
from preflight.records import RecordedResource

ZONE_ID = "Z0123456789ABCDEFGHIJ"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT_ID}:ziggie-oncall"


@pytest.fixture(autouse=True)
def mocks() -> RecordingMonitor:
    return install()


def dns_args(**overrides: Any) -> DnsFailoverArgs:
    values: dict[str, Any] = {
        "zone_name": "ziggie.example",
        "zone_id": None,
        "create_zone": True,
        "record_name": "app.ziggie.example",
        "target": "vps1.ziggie.example",
        "probe_ip": "203.0.113.10",
        "addresses": (
            HostAddress("vps1.ziggie.example", "203.0.113.10", "2001:db8::10"),
            HostAddress("vps2.ziggie.example", "203.0.113.11"),
        ),
        "role": "PRIMARY",
        "set_identifier": "prod-primary",
        "health_check_path": "/health",
        "port": 443,
        "request_interval": 30,
        "failure_threshold": 3,
        "regions": ("eu-west-1", "us-east-1", "us-west-2"),
        "alarm": True,
        "ttl": 60,
        "protect_zone": True,
    }
    values.update(overrides)
    return DnsFailoverArgs(**values)


def secondary_overrides(**more: Any) -> dict[str, Any]:
    return {
        "zone_id": ZONE_ID,
        "create_zone": False,
        "target": "dr1.ziggie.example",
        "probe_ip": "198.51.100.20",
        "addresses": (HostAddress("dr1.ziggie.example", "198.51.100.20"),),
        "role": "SECONDARY",
        "set_identifier": "dr-secondary",
        "protect_zone": False,
        **more,
    }


def build(mocks: RecordingMonitor, **overrides: Any) -> dict[str, RecordedResource]:
    return run(mocks, lambda: DnsFailover("dns", dns_args(**overrides)))


@pytest.fixture
def primary(mocks: RecordingMonitor) -> dict[str, RecordedResource]:
    return build(mocks)


def test_primary_record_answers_with_ttl_60_while_its_check_passes(primary: dict[str, RecordedResource]) -> None:
    record = primary["dns-record"]
    assert record.type == "aws:route53/record:Record", record.urn
    assert {k: record.inputs.get(k) for k in ("name", "type", "ttl", "records", "setIdentifier")} == {
        "name": "app.ziggie.example",
        "type": "CNAME",
        "ttl": 60,
        "records": ["vps1.ziggie.example"],
        "setIdentifier": "prod-primary",
    }, record.urn
    assert record.inputs["failoverRoutingPolicies"] == [{"type": "PRIMARY"}], record.urn
    check = primary["dns-health"]
    # Tied by value and by dependency: the record is never created pointing at no check.
    assert record.inputs["healthCheckId"] == check.id, record.urn
    assert check.urn in record.dependencies, record.urn


def test_health_check_probes_https_health_on_443(primary: dict[str, RecordedResource]) -> None:
    check = primary["dns-health"]
    assert check.type == "aws:route53/healthCheck:HealthCheck", check.urn
    assert {
        k: check.inputs.get(k)
        for k in (
            "type",
            "fqdn",
            "ipAddress",
            "port",
            "resourcePath",
            "requestInterval",
            "failureThreshold",
            "measureLatency",
            "enableSni",
            "regions",
        )
    } == {
        "type": "HTTPS",
        # The host's own IP, with the name users resolve sent for SNI and Host.
        "fqdn": "app.ziggie.example",
        "ipAddress": "203.0.113.10",
        "port": 443,
        "resourcePath": "/health",
        "requestInterval": 30,
        "failureThreshold": 3,
        "measureLatency": True,
        "enableSni": True,
        "regions": ["eu-west-1", "us-east-1", "us-west-2"],
    }, check.urn


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"request_interval": 10, "failure_threshold": 1}, {"requestInterval": 10, "failureThreshold": 1}),
        ({"request_interval": 30, "failure_threshold": 10}, {"requestInterval": 30, "failureThreshold": 10}),
        ({"port": 8443, "health_check_path": "/healthz"}, {"port": 8443, "resourcePath": "/healthz"}),
    ],
    ids=["fast_interval_first_failure", "standard_interval_most_patient", "other_port_and_path_pass_through"],
)
def test_check_settings_pass_through(
    mocks: RecordingMonitor, overrides: dict[str, Any], expected: dict[str, Any]
) -> None:
    check = build(mocks, **overrides)["dns-health"]
    assert {k: check.inputs[k] for k in expected} == expected, check.urn


def test_each_host_gets_its_address_records(primary: dict[str, RecordedResource]) -> None:
    addresses = {
        (r.inputs["name"], r.inputs["type"]): (r.inputs["records"], r.inputs["ttl"], r.inputs["zoneId"])
        for r in primary.values()
        if r.type == "aws:route53/record:Record" and "setIdentifier" not in r.inputs
    }
    zone = primary["dns-zone"].outputs["zoneId"]
    assert addresses == {
        ("vps1.ziggie.example", "A"): (["203.0.113.10"], 60, zone),
        ("vps1.ziggie.example", "AAAA"): (["2001:db8::10"], 60, zone),
        ("vps2.ziggie.example", "A"): (["203.0.113.11"], 60, zone),
    }


def test_failover_record_answers_with_the_hosts_address_record(primary: dict[str, RecordedResource]) -> None:
    record, check = primary["dns-record"], primary["dns-health"]
    (target,) = record.inputs["records"]
    (address,) = [r for r in primary.values() if r.inputs.get("name") == target and r.inputs.get("type") == "A"]
    # What the check probes is what the record leads to.
    assert address.inputs["records"] == [check.inputs["ipAddress"]], record.urn


def test_alarm_watches_the_check_in_us_east_1(mocks: RecordingMonitor) -> None:
    records = build(mocks, alarm_actions=(TOPIC,))
    alarm, check = records["dns-health-alarm"], records["dns-health"]
    assert alarm.type == "aws:cloudwatch/metricAlarm:MetricAlarm", alarm.urn
    assert alarm.inputs["region"] == "us-east-1", f"{alarm.urn}: Route 53 metrics exist only in us-east-1"
    assert alarm.outputs["arn"].startswith(f"arn:aws:cloudwatch:us-east-1:{ACCOUNT_ID}:alarm:"), alarm.urn
    assert {
        k: alarm.inputs.get(k)
        for k in (
            "namespace",
            "metricName",
            "dimensions",
            "statistic",
            "comparisonOperator",
            "threshold",
            "treatMissingData",
            "alarmActions",
            "okActions",
        )
    } == {
        "namespace": "AWS/Route53",
        "metricName": "HealthCheckStatus",
        "dimensions": {"HealthCheckId": check.id},
        "statistic": "Minimum",
        "comparisonOperator": "LessThanThreshold",
        "threshold": 1,
        "treatMissingData": "breaching",
        "alarmActions": [TOPIC],
        "okActions": [TOPIC],
    }, alarm.urn


def test_no_alarm_when_not_asked(mocks: RecordingMonitor) -> None:
    records = build(mocks, alarm=False)
    assert not [r for r in records.values() if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm"]


def test_route53_resources_carry_no_region(primary: dict[str, RecordedResource]) -> None:
    route53 = [r for r in primary.values() if r.type.startswith("aws:route53/")]
    assert {r.name for r in route53} == {
        "dns-zone",
        "dns-health",
        "dns-record",
        "dns-vps1-a",
        "dns-vps1-aaaa",
        "dns-vps2-a",
    }
    for record in route53:
        # Route 53 is global: pulumi-aws v7 has no region argument for it.
        assert "region" not in record.inputs, record.urn


@pytest.mark.parametrize(
    ("overrides", "zone_created", "protected"),
    [
        ({}, True, True),
        ({"protect_zone": False}, True, False),
        ({"zone_id": ZONE_ID, "create_zone": False}, False, False),
        ({"zone_id": ZONE_ID}, False, False),
    ],
    ids=[
        "prod_creates_and_protects_the_zone",
        "unprotected_zone_off_prod",
        "existing_zone_used",
        "zone_id_wins_over_create",
    ],
)
def test_zone_ownership(
    mocks: RecordingMonitor, overrides: dict[str, Any], zone_created: bool, protected: bool
) -> None:
    records = build(mocks, **overrides)
    record = records["dns-record"]
    zones = [r for r in records.values() if r.type == "aws:route53/zone:Zone"]
    assert len(zones) == int(zone_created), record.urn
    if zone_created:
        (zone,) = zones
        assert zone.inputs["name"] == "ziggie.example", zone.urn
        assert zone.protect is protected, zone.urn
        assert record.inputs["zoneId"] == zone.outputs["zoneId"], record.urn
    else:
        assert record.inputs["zoneId"] == ZONE_ID, record.urn
    for other in records.values():
        if other.type != "aws:route53/zone:Zone":
            assert not other.protect, other.urn


def test_secondary_joins_the_primarys_zone_with_its_own_identifier(mocks: RecordingMonitor) -> None:
    primary = build(mocks)["dns-record"]
    secondary_records = run(install(), lambda: DnsFailover("dns-dr", dns_args(**secondary_overrides())))
    secondary = secondary_records["dns-dr-record"]
    assert secondary.inputs["zoneId"] == ZONE_ID, secondary.urn
    assert secondary.inputs["failoverRoutingPolicies"] == [{"type": "SECONDARY"}], secondary.urn
    assert (secondary.inputs["name"], secondary.inputs["type"]) == (primary.inputs["name"], primary.inputs["type"])
    assert secondary.inputs["setIdentifier"] != primary.inputs["setIdentifier"], secondary.urn
    assert secondary.inputs["healthCheckId"] == secondary_records["dns-dr-health"].id, secondary.urn
    assert not [r for r in secondary_records.values() if r.type == "aws:route53/zone:Zone"]


def test_outputs_give_zone_check_and_fqdn(mocks: RecordingMonitor) -> None:
    seen: dict[str, str] = {}

    def program() -> None:
        dns = DnsFailover("dns", dns_args())
        dns.zone_id.apply(lambda v: seen.__setitem__("zone_id", v))
        dns.health_check_id.apply(lambda v: seen.__setitem__("health_check_id", v))
        dns.record_fqdn.apply(lambda v: seen.__setitem__("record_fqdn", v))

    records = run(mocks, program)
    assert seen == {
        "zone_id": records["dns-zone"].outputs["zoneId"],
        "health_check_id": records["dns-health"].id,
        "record_fqdn": "app.ziggie.example",
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"request_interval": 20}, "request_interval must be 10 or 30 seconds, not 20"),
        ({"failure_threshold": 0}, "failure_threshold must be 1 to 10, not 0"),
        ({"failure_threshold": 11}, "failure_threshold must be 1 to 10, not 11"),
        ({"regions": ("eu-west-1", "us-east-1")}, "at least three checker regions, all different; 2 given"),
        (
            {"regions": ("eu-west-1", "eu-west-1", "us-east-1")},
            "at least three checker regions, all different; 2 given",
        ),
        ({"regions": ("eu-north-1", "us-east-1", "us-west-2")}, "regions eu-north-1 host no Route 53 health checkers"),
        ({"create_zone": False}, "zone_id is None and create_zone is False"),
        (secondary_overrides(zone_id=None, create_zone=True), "a SECONDARY record needs the zone_id"),
        ({"record_name": "app.other.example"}, "record_name app.other.example is not inside the zone"),
        ({"probe_ip": "vps1.ziggie.example"}, "probe_ip must be an IPv4 address"),
        ({"target": "203.0.113.10"}, "the failover record's target must be a host name"),
        ({"probe_ip": "203.0.113.99"}, "probe_ip 203.0.113.99 is not the address of vps1.ziggie.example"),
        ({"addresses": (HostAddress("vps1.other.example", "203.0.113.10"),)}, "is not inside the zone"),
        ({"record_name": "ziggie.example"}, "a CNAME cannot sit at the zone apex"),
        ({"health_check_path": "health"}, "health_check_path must start with /"),
        ({"port": 0}, "port must be 1 to 65535, not 0"),
        ({"set_identifier": ""}, "set_identifier must be 1 to 128 characters"),
        ({"ttl": -1}, "ttl must be 0 to 2147483647 seconds, not -1"),
        (
            {"alarm_actions": (f"arn:aws:sns:eu-west-1:{ACCOUNT_ID}:ziggie-oncall",)},
            "alarm action arn:aws:sns:eu-west-1:123456789012:ziggie-oncall is not in us-east-1",
        ),
    ],
    ids=[
        "interval_neither_10_nor_30",
        "threshold_below_1",
        "threshold_above_10",
        "two_checker_regions",
        "duplicate_region_counts_once",
        "region_without_checkers",
        "record_without_a_zone",
        "secondary_would_create_a_second_zone",
        "record_outside_the_zone",
        "probe_needs_an_ip",
        "cname_needs_a_host_name",
        "probe_elsewhere_than_the_record_leads",
        "address_record_outside_the_zone",
        "cname_at_apex",
        "relative_path",
        "port_zero",
        "empty_set_identifier",
        "negative_ttl",
        "alarm_action_outside_the_alarms_region",
    ],
)
def test_invalid_args_are_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dns_args(**overrides)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("vps1.ziggie.example",), "has neither ipv4 nor ipv6"),
        (("vps1.ziggie.example", "2001:db8::10"), "'2001:db8::10' is not an IPv4 address"),
        (("vps1.ziggie.example", None, "203.0.113.10"), "'203.0.113.10' is not an IPv6 address"),
        (("203.0.113.10", "203.0.113.10"), "must be a host name"),
    ],
    ids=["no_address", "ipv6_given_as_ipv4", "ipv4_given_as_ipv6", "ip_as_record_name"],
)
def test_invalid_host_addresses_are_refused(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HostAddress(*args)


def test_empty_regions_let_route53_use_all_checkers(mocks: RecordingMonitor) -> None:
    check = build(mocks, regions=())["dns-health"]
    assert "regions" not in check.inputs, check.urn
