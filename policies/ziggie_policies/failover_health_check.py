"""failover-health-check: a PRIMARY failover record is tied to a health check that requests
the service.

Route 53 evaluates the PRIMARY's health check only: without one the PRIMARY counts as healthy
forever and the SECONDARY is never served, so the DR host is never reached. The SECONDARY
answers whenever the primary is unhealthy and may go without a check, unless the per-stack
config sets ``requireSecondaryHealthCheck``. A ``healthCheckId`` that is unknown at preview
(the health check is created in the same update) counts as set.

The check of this stack that the record names must also test something worth failing over
for: an HTTP or HTTPS request (a TCP check passes while nginx answers nothing), to a
``resourcePath``, of an endpoint (``ipAddress`` or ``fqdn``); an HTTPS check by IP must send the
name (``fqdn``) with ``enableSni``, or the host cannot pick the certificate and the check fails
on a healthy host (Route 53 API, HealthCheckConfig: EnableSNI, FullyQualifiedDomainName).
Whether the check probes the address the record answers is failover-probe-target's question.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from ziggie_policies._route53 import failover_roles, health_check_of, record_label
from ziggie_policies._support import (
    DNS_RECORD,
    UNKNOWN,
    prop,
    read_config,
)

REQUEST_TYPES: Final = frozenset({"HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH"})

NAME: Final = "failover-health-check"

CONFIG_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "requireSecondaryHealthCheck": {
            "type": "boolean",
            "default": False,
            "description": "Demand a health check on SECONDARY failover records too.",
        },
    }
)


def _probe_problems(check: PolicyResource) -> list[str]:
    """What the health check lacks to test the service itself."""
    props = check.props
    kind, path = prop(props, "type"), prop(props, "resourcePath")
    ip, fqdn, sni = prop(props, "ipAddress"), prop(props, "fqdn"), prop(props, "enableSni")
    if kind is UNKNOWN:
        return []
    if kind not in REQUEST_TYPES:
        return [f"is {kind}, which requests nothing; use an HTTPS check with a resourcePath such as /health"]
    problems: list[str] = []
    if path is not UNKNOWN and not (isinstance(path, str) and path.startswith("/")):
        problems.append("requests no resourcePath; set one such as /health")
    if ip is None and fqdn is None:
        problems.append("names neither ipAddress nor fqdn, so it probes nothing")
    if kind.startswith("HTTPS") and ip is not None and ip is not UNKNOWN:
        if fqdn is None:
            problems.append(f"probes {ip} over HTTPS without an fqdn; set fqdn to the record's name")
        if sni is not UNKNOWN and sni is not True:
            problems.append(
                f"probes {ip} over HTTPS without enableSni; set it so the host presents the right certificate"
            )
    return problems


def health_check_violations(resources: list[PolicyResource], config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(message, URN) for each failover record that needs a health check and has none, or whose
    check tests nothing worth failing over for."""
    roles = {"PRIMARY"} | ({"SECONDARY"} if config["requireSecondaryHealthCheck"] else set())
    found: list[tuple[str, str]] = []
    for record in sorted(resources, key=lambda r: r.urn):
        if record.resource_type != DNS_RECORD:
            continue
        label = record_label(record.name, record.props)
        health_check = prop(record.props, "healthCheckId")
        has_check = health_check is UNKNOWN or (isinstance(health_check, str) and bool(health_check.strip()))
        for index, role in failover_roles(record.props):
            if not isinstance(role, str) or role not in roles:
                continue
            if not has_check:
                why = (
                    "Route 53 fails over only when the PRIMARY's health check fails"
                    if role == "PRIMARY"
                    else "requireSecondaryHealthCheck demands one"
                )
                found.append(
                    (
                        f"{label}: {role} failover record (failoverRoutingPolicies[{index}]) has no healthCheckId; {why}",
                        record.urn,
                    )
                )
                continue
            check = health_check_of(record)
            if check is not None:
                found += [
                    (f"{label}: {role} failover record's health check {check.name} {problem}", record.urn)
                    for problem in _probe_problems(check)
                ]
    return found


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = read_config(NAME, CONFIG_SCHEMA, args.get_config())
    for message, urn in health_check_violations(list(args.resources), config):
        report_violation(message, urn)


policy: Final = StackValidationPolicy(
    name=NAME,
    description="Requires every PRIMARY Route 53 failover record (and SECONDARY when the stack's config "
    "demands it) to have a health check that requests the service over HTTP(S) with a path, sending the "
    "name for SNI when it probes an IP over HTTPS.",
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
