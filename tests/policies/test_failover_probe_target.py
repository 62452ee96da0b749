"""failover-probe-target: a PRIMARY's health check probes the address its record answers with."""

from __future__ import annotations

from typing import Any

import pytest
from policy_fixtures import (
    UNKNOWN,
    address_record,
    bucket,
    failover_record,
    health_check,
)
from ziggie_policies import failover_probe_target

from preflight.records import RecordedResource

VPS1 = address_record("vps1.ziggie.example", "203.0.113.10")
VPS1_V6 = address_record("vps1.ziggie.example", "2001:db8::10", "AAAA")
DR1 = address_record("dr1.ziggie.example", "198.51.100.20")
WHERE = "record api.ziggie.example CNAME (set primary): PRIMARY"


def _primary(check: RecordedResource, *, role: Any = "PRIMARY", **record: Any) -> list[RecordedResource]:
    values: dict[str, Any] = {"record_type": "CNAME", "records": ("vps1.ziggie.example",), **record}
    return [check, failover_record("primary", role, UNKNOWN, check=check, **values)]


CASES = [
    pytest.param([VPS1, *_primary(health_check())], [], id="cname_to_the_host_whose_ip_is_probed_passes"),
    pytest.param([VPS1, VPS1_V6, *_primary(health_check())], [], id="probed_ipv4_among_the_hosts_addresses_passes"),
    pytest.param(
        [VPS1, DR1, *_primary(health_check(ipAddress="198.51.100.20"))],
        [
            f"{WHERE} answers vps1.ziggie.example (203.0.113.10) but its health check primary-health probes "
            "198.51.100.20; Route 53 would judge one host and send users to another"
        ],
        id="check_probes_the_standby_while_users_go_to_vps1",
    ),
    pytest.param(
        _primary(health_check()),
        [
            f"{WHERE} answers vps1.ziggie.example, which no A or AAAA record of this stack resolves, so its health "
            "check primary-health (probing 203.0.113.10) cannot be shown to test where users go; add the address "
            "record"
        ],
        id="cname_to_a_name_that_resolves_nowhere",
    ),
    pytest.param(
        _primary(health_check(ipAddress="203.0.113.99"), record_type="A", records=("203.0.113.10",)),
        [
            "record api.ziggie.example A (set primary): PRIMARY answers 203.0.113.10 but its health check "
            "primary-health probes 203.0.113.99; Route 53 would judge one host and send users to another"
        ],
        id="a_record_and_check_disagree",
    ),
    pytest.param(
        _primary(health_check(), record_type="A", records=("203.0.113.10",)), [], id="a_record_probed_at_its_ip"
    ),
    pytest.param(
        _primary(health_check(ipAddress=None, fqdn="vps1.ziggie.example", enableSni=None)),
        [],
        id="check_by_the_name_the_cname_points_to",
    ),
    pytest.param(
        [VPS1, DR1, *_primary(health_check(ipAddress=None, fqdn="dr1.ziggie.example"))],
        [
            f"{WHERE} answers vps1.ziggie.example (203.0.113.10) but its health check primary-health probes "
            "dr1.ziggie.example (198.51.100.20); Route 53 would judge one host and send users to another"
        ],
        id="check_by_a_name_that_resolves_elsewhere",
    ),
    pytest.param([VPS1, *_primary(health_check(ipAddress=UNKNOWN))], [], id="probed_ip_unknown_at_preview_skipped"),
    pytest.param(
        [VPS1, *_primary(health_check(ipAddress="198.51.100.20"), role="SECONDARY")],
        [],
        id="not_applicable_to_a_secondary",
    ),
    pytest.param(
        [VPS1, failover_record("primary", "PRIMARY", record_type="CNAME", records=("vps1.ziggie.example",))],
        [],
        id="not_applicable_without_a_check_of_this_stack",
    ),
    pytest.param([bucket("ziggie-prod-assets"), VPS1], [], id="not_applicable_to_other_resources"),
]
EXEMPT = {"exempt": {"api.ziggie.example": "the check probes the load balancer in front of both hosts"}}


@pytest.mark.parametrize(("resources", "expected"), CASES)
def test_failover_probe_target(run: Any, resources: list[RecordedResource], expected: list[str]) -> None:
    assert run(failover_probe_target.policy, resources, {}) == sorted(expected)


def test_exempt_record_passes(run: Any) -> None:
    resources = [VPS1, DR1, *_primary(health_check(ipAddress="198.51.100.20"))]
    assert run(failover_probe_target.policy, resources, EXEMPT) == []
