"""failover-health-check: a PRIMARY failover record carries a health check (and a SECONDARY if demanded)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from policy_fixtures import (
    UNKNOWN,
    bucket,
    configure_leniently,
    failover_record,
    health_check,
    reader_errors,
    run_direct,
    run_direct_located,
    sm_secret,
)
from ziggie_policies import failover_health_check
from ziggie_policies._support import PolicyConfigError

from preflight.analyzer import AnalyzerError, PolicyPackSession
from preflight.records import RecordedResource

PRIMARY_MISSING = (
    "record api.ziggie.example A (set primary): PRIMARY failover record (failoverRoutingPolicies[0]) has no "
    "healthCheckId; Route 53 fails over only when the PRIMARY's health check fails"
)
SECONDARY_MISSING = (
    "record api.ziggie.example A (set secondary): SECONDARY failover record (failoverRoutingPolicies[0]) has no "
    "healthCheckId; requireSecondaryHealthCheck demands one"
)
STRICT = {"requireSecondaryHealthCheck": True}
CHECK = "record api.ziggie.example A (set primary): PRIMARY failover record's health check primary-health"


def _checked(check: RecordedResource) -> list[RecordedResource]:
    """A PRIMARY record whose healthCheckId was computed from ``check``."""
    return [check, failover_record("primary", "PRIMARY", UNKNOWN, check=check)]


def _roles(record: RecordedResource, *roles: str) -> RecordedResource:
    """The record with one failover routing policy per role, in that order."""
    policies = [{"type": role} for role in roles]
    return dataclasses.replace(record, inputs={**record.inputs, "failoverRoutingPolicies": policies})


def _with(record: RecordedResource, **inputs: Any) -> RecordedResource:
    return dataclasses.replace(record, inputs={**record.inputs, **inputs})


def _depending_on_two_checks() -> list[RecordedResource]:
    """A PRIMARY record whose id came from a TCP check, that also depends on a sound HTTPS check."""
    tcp, https = health_check(type="TCP", resourcePath=None), health_check("other")
    record = failover_record("primary", "PRIMARY", UNKNOWN, check=tcp)
    return [tcp, https, dataclasses.replace(record, dependencies=(tcp.urn, https.urn))]


def _simple_record() -> RecordedResource:
    """A plain (simple routing) record: no failover policy, no set identifier, no health check."""
    record = failover_record("primary", "PRIMARY", None)
    drop = {"failoverRoutingPolicies", "setIdentifier"}
    return dataclasses.replace(record, inputs={k: v for k, v in record.inputs.items() if k not in drop})


CASES = [
    pytest.param(
        [failover_record("primary", "PRIMARY"), failover_record("secondary", "SECONDARY", None)],
        {},
        [],
        id="checked_primary_and_unchecked_secondary_pass",
    ),
    pytest.param([failover_record("primary", "PRIMARY", None)], {}, [PRIMARY_MISSING], id="primary_without_check"),
    pytest.param([failover_record("primary", "PRIMARY", "")], {}, [PRIMARY_MISSING], id="primary_with_empty_check"),
    pytest.param(
        [failover_record("primary", "PRIMARY", UNKNOWN)],
        {},
        [],
        id="check_created_in_the_same_update_is_unknown_and_counts_as_set",
    ),
    pytest.param(
        [failover_record("secondary", "SECONDARY", None)],
        STRICT,
        [SECONDARY_MISSING],
        id="secondary_without_check_when_demanded",
    ),
    pytest.param(
        [failover_record("secondary", "SECONDARY")], STRICT, [], id="secondary_with_check_when_demanded_passes"
    ),
    pytest.param(
        [failover_record("primary", UNKNOWN, None)], {}, [], id="routing_type_unknown_during_preview_is_skipped"
    ),
    pytest.param(
        [failover_record("primary", "PRIMARY", None, name=UNKNOWN)],
        {},
        [PRIMARY_MISSING.replace("record api.ziggie.example", "record primary-record")],
        id="unknown_record_name_falls_back_to_resource_name",
    ),
    pytest.param(_checked(health_check()), {}, [], id="https_check_by_ip_with_name_and_sni_passes"),
    pytest.param(
        _checked(health_check(type="TCP", resourcePath=None)),
        {},
        [f"{CHECK} is TCP, which requests nothing; use an HTTPS check with a resourcePath such as /health"],
        id="tcp_check_requests_nothing",
    ),
    pytest.param(
        _checked(health_check(resourcePath=None)),
        {},
        [f"{CHECK} requests no resourcePath; set one such as /health"],
        id="check_without_path",
    ),
    pytest.param(
        _checked(health_check(fqdn=None, enableSni=None)),
        {},
        [
            f"{CHECK} probes 203.0.113.10 over HTTPS without an fqdn; set fqdn to the record's name",
            f"{CHECK} probes 203.0.113.10 over HTTPS without enableSni; set it so the host presents the right "
            "certificate",
        ],
        id="https_by_ip_without_name_or_sni",
    ),
    pytest.param(
        _checked(health_check(ipAddress=None, fqdn=None)),
        {},
        [f"{CHECK} names neither ipAddress nor fqdn, so it probes nothing"],
        id="check_of_no_endpoint",
    ),
    pytest.param(
        _checked(health_check(ipAddress=None, enableSni=None, type="HTTP")),
        {},
        [],
        id="http_check_by_name_needs_no_sni",
    ),
    pytest.param(_checked(health_check(type=UNKNOWN)), {}, [], id="check_type_unknown_at_preview_is_skipped"),
    pytest.param(
        [_roles(failover_record("primary", "PRIMARY", None), "SECONDARY", "PRIMARY")],
        {},
        [PRIMARY_MISSING.replace("failoverRoutingPolicies[0]", "failoverRoutingPolicies[1]")],
        id="primary_policy_after_a_secondary_one_still_needs_a_check",
    ),
    pytest.param(
        [_roles(failover_record("primary", "PRIMARY", None), "SECONDARY", "PRIMARY")],
        STRICT,
        [
            SECONDARY_MISSING.replace("(set secondary)", "(set primary)"),
            PRIMARY_MISSING.replace("failoverRoutingPolicies[0]", "failoverRoutingPolicies[1]"),
        ],
        id="each_policy_of_a_record_without_a_check_is_reported",
    ),
    pytest.param(
        [
            failover_record("api", "PRIMARY", None, name="app.ziggie.example"),
            *_checked(health_check()),
        ],
        {},
        [
            "record app.ziggie.example A (set api): PRIMARY failover record (failoverRoutingPolicies[0]) has no "
            "healthCheckId; Route 53 fails over only when the PRIMARY's health check fails"
        ],
        id="a_well_checked_record_does_not_hide_an_unchecked_one",
    ),
    pytest.param(
        [_with(failover_record("primary", "PRIMARY", None), failoverRoutingPolicies=[UNKNOWN])],
        STRICT,
        [],
        id="routing_policy_unknown_at_preview_is_skipped",
    ),
    pytest.param(
        [failover_record("primary", "primary", None)], {}, [PRIMARY_MISSING], id="role_in_lower_case_is_the_role"
    ),
    pytest.param(
        [_with(failover_record("primary", "PRIMARY", None), type=UNKNOWN, setIdentifier=UNKNOWN)],
        {},
        [
            "record api.ziggie.example: PRIMARY failover record (failoverRoutingPolicies[0]) has no healthCheckId; "
            "Route 53 fails over only when the PRIMARY's health check fails"
        ],
        id="type_and_set_unknown_at_preview_are_left_out_of_the_name",
    ),
    pytest.param(
        _depending_on_two_checks(),
        {},
        [f"{CHECK} is TCP, which requests nothing; use an HTTPS check with a resourcePath such as /health"],
        id="the_check_the_id_was_computed_from_among_two_the_record_depends_on",
    ),
    pytest.param([_simple_record()], STRICT, [], id="not_applicable_to_a_simple_routing_record"),
    pytest.param(
        [bucket("ziggie-prod-assets"), sm_secret("ziggie/prod/api-key")],
        STRICT,
        [],
        id="not_applicable_to_other_aws_resources",
    ),
]


@pytest.mark.parametrize(("resources", "config", "expected"), CASES)
def test_failover_health_check(
    run: Any, resources: list[RecordedResource], config: dict[str, Any], expected: list[str]
) -> None:
    assert run(failover_health_check.policy, resources, config) == sorted(expected)


def test_unknown_config_key_is_an_error() -> None:
    with pytest.raises(PolicyConfigError) as caught:
        run_direct(failover_health_check.policy, [failover_record("primary", "PRIMARY")], {"requireSecondary": True})
    assert (
        str(caught.value)
        == "policy failover-health-check: unknown config key 'requireSecondary' (known: requireSecondaryHealthCheck)"
    )


@pytest.mark.parametrize(
    ("properties", "errors"),
    [
        pytest.param(
            {"requireSecondary": True},
            ["failover-health-check.requireSecondary: unknown property (known: requireSecondaryHealthCheck)"],
            id="misspelt_require_secondary",
        ),
        pytest.param(
            {"requireSecondaryHealthCheck": "false"},
            ["failover-health-check.requireSecondaryHealthCheck: 'false' is not of type 'boolean'"],
            id="flag_is_a_boolean_not_a_string",
        ),
    ],
)
def test_config_typos_are_refused_by_preflights_reader(
    pack_session: PolicyPackSession, tmp_path: Path, properties: dict[str, Any], errors: list[str]
) -> None:
    assert reader_errors(pack_session, tmp_path, {"failover-health-check": properties}) == tuple(errors)


def test_unknown_key_let_through_by_a_lenient_cli_fails_the_analysis(pack_session: PolicyPackSession) -> None:
    configure_leniently(pack_session, "failover-health-check", {"requireSecondary": True})
    with pytest.raises(AnalyzerError, match=r"unknown config key 'requireSecondary'"):
        pack_session.analyze_stack([failover_record("primary", "PRIMARY")])


def test_violations_are_located_on_the_record() -> None:
    record = failover_record("primary", "PRIMARY", None)
    assert run_direct_located(failover_health_check.policy, [record], {}) == [(PRIMARY_MISSING, record.urn)]
