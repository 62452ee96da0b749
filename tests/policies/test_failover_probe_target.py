"""failover-probe-target: a PRIMARY's health check probes the address its record answers with."""

from __future__ import annotations

from typing import Any

import pytest
from policy_fixtures import (
    RECORD,
    UNKNOWN,
    ZONE_ID,
    address_record,
    aws,
    bucket,
    failover_record,
    health_check,
    run_direct,
    run_direct_located,
)
from ziggie_policies import failover_probe_target
from ziggie_policies._support import PolicyConfigError

from preflight.records import RecordedResource

VPS1 = address_record("vps1.ziggie.example", "203.0.113.10")
VPS1_V6 = address_record("vps1.ziggie.example", "2001:db8::10", "AAAA")
DR1 = address_record("dr1.ziggie.example", "198.51.100.20")
WHERE = "record api.ziggie.example CNAME (set primary): PRIMARY"


def _primary(check: RecordedResource, *, role: Any = "PRIMARY", **record: Any) -> list[RecordedResource]:
    values: dict[str, Any] = {"record_type": "CNAME", "records": ("vps1.ziggie.example",), **record}
    return [check, failover_record("primary", role, UNKNOWN, check=check, **values)]


JUDGED = "Route 53 would judge one host and send users to another"


def cname(name: str, *targets: str) -> RecordedResource:
    """A simple CNAME record of the zone (no target: an empty ``records``)."""
    return aws(
        RECORD,
        f"{name.split('.')[0]}-cname",
        {"zoneId": ZONE_ID, "name": name, "type": "CNAME", "ttl": 60, "records": list(targets)},
    )


def hops(count: int) -> list[RecordedResource]:
    """A PRIMARY CNAME to hop0, ``count`` CNAMEs hop0 -> hop1 -> ... -> hop<count>, and hop<count>'s A record."""
    chain = [cname(f"hop{i}.ziggie.example", f"hop{i + 1}.ziggie.example") for i in range(count)]
    last = address_record(f"hop{count}.ziggie.example", "203.0.113.10")
    return [*chain, last, *_primary(health_check(), records=("hop0.ziggie.example",))]


def _nowhere(name: str) -> str:
    return (
        f"{WHERE} answers {name}, which no A or AAAA record of this stack resolves, so its health check "
        "primary-health (probing 203.0.113.10) cannot be shown to test where users go; add the address record"
    )


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
    pytest.param(
        _primary(health_check(ipAddress="2001:db8::99"), record_type="AAAA", records=("2001:db8::10",)),
        [
            "record api.ziggie.example AAAA (set primary): PRIMARY answers 2001:db8::10 but its health check "
            f"primary-health probes 2001:db8::99; {JUDGED}"
        ],
        id="aaaa_record_and_check_disagree",
    ),
    pytest.param(
        [VPS1_V6, *_primary(health_check())],
        [
            f"{WHERE} answers vps1.ziggie.example (2001:db8::10) but its health check primary-health probes "
            f"203.0.113.10; {JUDGED}"
        ],
        id="cname_to_a_host_with_only_an_ipv6_address",
    ),
    pytest.param(
        _primary(health_check(ipAddress="203.0.113.99"), record_type="A", records=("203.0.113.10", "203.0.113.11")),
        [
            "record api.ziggie.example A (set primary): PRIMARY answers 203.0.113.10, 203.0.113.11 but its health "
            f"check primary-health probes 203.0.113.99; {JUDGED}"
        ],
        id="a_record_of_two_addresses_neither_probed",
    ),
    pytest.param(
        _primary(health_check(ipAddress="203.0.113.99"), record_type="A", records=(None,)),
        [],
        id="record_value_that_is_no_string_is_not_judged",
    ),
    pytest.param(
        _primary(health_check(ipAddress="203.0.113.99"), record_type="TXT", records=("v=spf1 -all",)),
        [],
        id="record_of_another_type_is_not_judged",
    ),
    pytest.param(_primary(health_check(), records=()), [], id="cname_without_a_value_is_not_judged"),
    pytest.param(
        [
            aws(
                RECORD, "vps1-txt", {"zoneId": ZONE_ID, "name": "vps1.ziggie.example", "type": "TXT", "records": ["x"]}
            ),
            VPS1,
            *_primary(health_check(ipAddress="198.51.100.20")),
        ],
        [
            f"{WHERE} answers vps1.ziggie.example (203.0.113.10) but its health check primary-health probes "
            f"198.51.100.20; {JUDGED}"
        ],
        id="a_record_of_another_type_for_the_name_is_passed_over",
    ),
    pytest.param(hops(8), [], id="cname_chain_of_the_eight_hops_followed_resolves"),
    pytest.param(hops(9), [_nowhere("hop0.ziggie.example")], id="cname_chain_of_nine_hops_resolves_nowhere"),
    pytest.param(
        [
            cname("loop-a.ziggie.example", "loop-b.ziggie.example"),
            cname("loop-b.ziggie.example", "loop-a.ziggie.example"),
            *_primary(health_check(), records=("loop-a.ziggie.example",)),
        ],
        [_nowhere("loop-a.ziggie.example")],
        id="cname_loop_ends_and_resolves_nowhere",
    ),
    pytest.param(
        [cname("vps1.ziggie.example"), *_primary(health_check())],
        [_nowhere("vps1.ziggie.example")],
        id="cname_to_a_cname_without_a_value_resolves_nowhere",
    ),
    pytest.param(
        [VPS1, *_primary(health_check(ipAddress="198.51.100.20"), records=("VPS1.Ziggie.Example.",))],
        [
            f"{WHERE} answers VPS1.Ziggie.Example. (203.0.113.10) but its health check primary-health probes "
            f"198.51.100.20; {JUDGED}"
        ],
        id="names_match_whatever_their_case_and_trailing_dot",
    ),
    pytest.param(
        _primary(
            health_check(ipAddress=None, fqdn="VPS1.ziggie.example.", enableSni=None), records=("vps1.Ziggie.example",)
        ),
        [],
        id="check_by_the_cnames_name_written_otherwise",
    ),
    pytest.param(
        _primary(health_check(ipAddress="203.0.113.99"), record_type="A", records=("203.0.113.10",), name=UNKNOWN),
        [
            "record primary-record A (set primary): PRIMARY answers 203.0.113.10 but its health check "
            f"primary-health probes 203.0.113.99; {JUDGED}"
        ],
        id="record_name_unknown_at_preview_named_by_its_resource_name",
    ),
    pytest.param(
        [VPS1, *_primary(health_check(ipAddress=None, fqdn=None))], [], id="check_probing_nothing_is_not_judged_here"
    ),
    pytest.param(
        [
            VPS1,
            address_record("origin.ziggie.example", "203.0.113.10"),
            *_primary(health_check(ipAddress=None, fqdn="origin.ziggie.example")),
        ],
        [],
        id="check_by_another_name_of_the_same_host_passes",
    ),
    pytest.param(
        [VPS1, *_primary(health_check(ipAddress=None, fqdn="nowhere.ziggie.example"))],
        [],
        id="check_by_a_name_no_record_resolves_is_not_judged",
    ),
    pytest.param(
        [
            VPS1,
            address_record("dr1.ziggie.example", UNKNOWN),
            *_primary(health_check(ipAddress=None, fqdn="dr1.ziggie.example")),
        ],
        [],
        id="check_by_a_name_whose_address_is_unknown_at_preview",
    ),
    pytest.param(
        [
            VPS1,
            DR1,
            address_record("dr1.ziggie.example", "2001:db8::20", "AAAA"),
            *_primary(health_check(ipAddress=None, fqdn="dr1.ziggie.example")),
        ],
        [
            f"{WHERE} answers vps1.ziggie.example (203.0.113.10) but its health check primary-health probes "
            f"dr1.ziggie.example (198.51.100.20, 2001:db8::20); {JUDGED}"
        ],
        id="check_by_a_name_of_two_other_addresses",
    ),
    pytest.param([bucket("ziggie-prod-assets"), VPS1], [], id="not_applicable_to_other_resources"),
]


def _record(set_id: str, check: RecordedResource | None, **record: Any) -> list[RecordedResource]:
    """A PRIMARY record ``set_id`` whose healthCheckId was computed from ``check`` (None: an id of no check here)."""
    if check is None:
        return [failover_record(set_id, "PRIMARY", **record)]
    return [check, failover_record(set_id, "PRIMARY", UNKNOWN, check=check, **record)]


def test_every_primary_is_judged_whatever_the_one_before_it(run: Any) -> None:
    a_record = {"record_type": "A", "records": ("203.0.113.10",)}
    to_vps1 = {"record_type": "CNAME", "records": ("vps1.ziggie.example",)}
    resources = [
        VPS1,
        address_record("origin.ziggie.example", "203.0.113.10"),
        *_record("a-exempt", health_check("a", ipAddress="198.51.100.20"), name="exempt.ziggie.example", **a_record),
        *_record("b-no-check", None, **a_record),
        *_record("c-unknown", health_check("c", ipAddress=UNKNOWN), **a_record),
        *_record("c2-answer-unknown", health_check("c2"), record_type="A", records=(UNKNOWN,)),
        *_record("d-by-name", health_check("d", ipAddress=None, fqdn="vps1.ziggie.example"), **to_vps1),
        *_record("e-nowhere", health_check("e"), record_type="CNAME", records=("nowhere.ziggie.example",)),
        *_record("f-origin", health_check("f", ipAddress=None, fqdn="origin.ziggie.example"), **to_vps1),
        *_record("g-probed", health_check("g"), **a_record),
        *_record("z-elsewhere", health_check("z", ipAddress="198.51.100.20"), **a_record),
    ]
    exempt = {"exempt": {"exempt.ziggie.example": "probed through the load balancer"}}
    assert run(failover_probe_target.policy, resources, exempt) == [
        "record api.ziggie.example A (set z-elsewhere): PRIMARY answers 203.0.113.10 but its health check z-health "
        f"probes 198.51.100.20; {JUDGED}",
        "record api.ziggie.example CNAME (set e-nowhere): PRIMARY answers nowhere.ziggie.example, which no A or "
        "AAAA record of this stack resolves, so its health check e-health (probing 203.0.113.10) cannot be shown "
        "to test where users go; add the address record",
    ]


def test_violations_are_located_on_the_record() -> None:
    resources = _primary(health_check(ipAddress="203.0.113.99"), record_type="A", records=("203.0.113.10",))
    assert run_direct_located(failover_probe_target.policy, resources, {}) == [
        (
            "record api.ziggie.example A (set primary): PRIMARY answers 203.0.113.10 but its health check "
            f"primary-health probes 203.0.113.99; {JUDGED}",
            resources[-1].urn,
        )
    ]


def test_unknown_config_key_is_an_error() -> None:
    with pytest.raises(PolicyConfigError) as caught:
        run_direct(failover_probe_target.policy, [VPS1], {"exempted": {}})
    assert str(caught.value) == "policy failover-probe-target: unknown config key 'exempted' (known: exempt)"


EXEMPT = {"exempt": {"api.ziggie.example": "the check probes the load balancer in front of both hosts"}}


@pytest.mark.parametrize(("resources", "expected"), CASES)
def test_failover_probe_target(run: Any, resources: list[RecordedResource], expected: list[str]) -> None:
    assert run(failover_probe_target.policy, resources, {}) == sorted(expected)


def test_exempt_record_passes(run: Any) -> None:
    resources = [VPS1, DR1, *_primary(health_check(ipAddress="198.51.100.20"))]
    assert run(failover_probe_target.policy, resources, EXEMPT) == []
