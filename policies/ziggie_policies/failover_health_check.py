"""failover-health-check: a PRIMARY failover record is tied to a health check.

Route 53 evaluates the PRIMARY's health check only: without one the PRIMARY counts as healthy
forever and the SECONDARY is never served, so the DR host is never reached. The SECONDARY
answers whenever the primary is unhealthy and may go without a check, unless the per-stack
config sets ``requireSecondaryHealthCheck``. A ``healthCheckId`` that is unknown at preview
(the health check is created in the same update) counts as set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from ziggie_policies._support import (
    DNS_RECORD,
    UNKNOWN,
    elements,
    prop,
    read_config,
)

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


def _record_label(resource_name: str, props: Mapping[str, Any]) -> str:
    name, record_type, set_id = (prop(props, key) for key in ("name", "type", "setIdentifier"))
    label = f"record {name if isinstance(name, str) and name else resource_name}"
    if isinstance(record_type, str) and record_type:
        label += f" {record_type}"
    if isinstance(set_id, str) and set_id:
        label += f" (set {set_id})"
    return label


def health_check_violations(
    resource_type: str, resource_name: str, props: Mapping[str, Any], config: Mapping[str, Any]
) -> list[str]:
    """Why one failover record that needs a health check has none."""
    if resource_type != DNS_RECORD:
        return []
    health_check = prop(props, "healthCheckId")
    if health_check is UNKNOWN or (isinstance(health_check, str) and health_check.strip()):
        return []
    roles = {"PRIMARY"} | ({"SECONDARY"} if config["requireSecondaryHealthCheck"] else set())
    found: list[str] = []
    for index, routing in enumerate(elements(prop(props, "failoverRoutingPolicies"))):
        role = prop(routing, "type") if isinstance(routing, Mapping) else None
        if not isinstance(role, str) or role.upper() not in roles:
            continue
        why = (
            "Route 53 fails over only when the PRIMARY's health check fails"
            if role.upper() == "PRIMARY"
            else "requireSecondaryHealthCheck demands one"
        )
        found.append(
            f"{_record_label(resource_name, props)}: {role.upper()} failover record "
            f"(failoverRoutingPolicies[{index}]) has no healthCheckId; {why}"
        )
    return found


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != DNS_RECORD:
        return
    config = read_config(NAME, CONFIG_SCHEMA, args.get_config())
    for message in health_check_violations(args.resource_type, args.name, args.props, config):
        report_violation(message, None)


policy: Final = ResourceValidationPolicy(
    name=NAME,
    description="Requires every PRIMARY Route 53 failover record to have a health check, and every "
    "SECONDARY one too when the stack's config demands it.",
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
