"""failover-probe-target: a PRIMARY failover record's health check probes the address the record
answers with.

Route 53 serves the PRIMARY while its health check passes. A check that probes another address
than the one users are sent to can pass while they reach a dead host, and failover never
happens. The record's answer is read from the stack: an A/AAAA record's values, or for a CNAME
the A/AAAA records of this stack for the name it points to (following CNAMEs). A CNAME to a name
no record of this stack resolves cannot be shown to lead where the check probes, and is a
violation too: it is exactly the record that resolves nowhere. The check probes its
``ipAddress``, or when it has none, what its ``fqdn`` resolves to in the same way (or that name
itself, when the record is a CNAME to it). Values unknown at preview are given the benefit of
the doubt. A record may be exempted by name, with the reason.
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

from ziggie_policies._route53 import (
    addresses_of,
    failover_roles,
    health_check_of,
    normal,
    record_label,
    record_values,
)
from ziggie_policies._support import DNS_RECORD, NAME_TO_REASON, UNKNOWN, prop, read_config

NAME: Final = "failover-probe-target"

CONFIG_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "exempt": {
            **NAME_TO_REASON,
            "default": {},
            "description": "Failover records (by DNS name) whose health check may probe another address, each "
            "with the reason.",
        },
    }
)


def _answers(record: PolicyResource, resources: list[PolicyResource]) -> tuple[str, set[Any] | None] | None:
    """What the record answers (as its message shows it) and the addresses that leads to; None
    when what it answers is not known (a type or value unknown at preview, or another type)."""
    record_type = prop(record.props, "type")
    values = record_values(record.props)
    if record_type in ("A", "AAAA"):
        return ", ".join(map(str, values)), set(values)
    if record_type == "CNAME" and values and isinstance(values[0], str):
        return values[0], addresses_of(values[0], resources)
    return None


def probe_violations(resources: list[PolicyResource], config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(message, URN) for each PRIMARY record whose health check probes elsewhere than it leads."""
    found: list[tuple[str, str]] = []
    for record in sorted(resources, key=lambda r: r.urn):
        if record.resource_type != DNS_RECORD or "PRIMARY" not in [r for _, r in failover_roles(record.props)]:
            continue
        if normal(prop(record.props, "name")) in {normal(n) for n in config["exempt"]}:
            continue
        check = health_check_of(record)
        if check is None:
            continue  # no check of this stack to compare: failover-health-check's concern
        answered = _answers(record, resources)
        ip, fqdn = prop(check.props, "ipAddress"), prop(check.props, "fqdn")
        probed_name = ip if ip is not None else fqdn
        if answered is None or probed_name in (None, UNKNOWN):
            continue
        shown, answers = answered
        if answers is not None and UNKNOWN in answers:
            continue
        label = f"{record_label(record.name, record.props)}: PRIMARY"
        if ip is None and prop(record.props, "type") == "CNAME" and normal(fqdn) == normal(shown):
            continue  # probes the very name the record points to
        if answers is None:
            found.append(
                (
                    f"{label} answers {shown}, which no A or AAAA record of this stack resolves, so its health "
                    f"check {check.name} (probing {probed_name}) cannot be shown to test where users go; add the "
                    "address record",
                    record.urn,
                )
            )
            continue
        if ip is None:
            probed = addresses_of(str(fqdn), resources)
            if probed is None or UNKNOWN in probed or probed & answers:
                continue
            probed_text = f"{fqdn} ({', '.join(sorted(probed))})"
        else:
            if ip in answers:
                continue
            probed_text = str(ip)
        leads = ", ".join(sorted(answers))
        target = shown if shown == leads else f"{shown} ({leads})"
        found.append(
            (
                f"{label} answers {target} but its health check {check.name} probes {probed_text}; Route 53 would "
                "judge one host and send users to another",
                record.urn,
            )
        )
    return found


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = read_config(NAME, CONFIG_SCHEMA, args.get_config())
    for message, urn in probe_violations(list(args.resources), config):
        report_violation(message, urn)


policy: Final = StackValidationPolicy(
    name=NAME,
    description="Requires the health check of every PRIMARY Route 53 failover record to probe the address "
    "the record answers with.",
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
