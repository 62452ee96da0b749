"""What the Route 53 policies share: failover records, the health check each one names, and the
addresses a record answers with inside the stack.

A record names its health check by id, which is unknown at preview when the check is created in
the same update; the check is then the HealthCheck resource the record's ``healthCheckId``
input was computed from (its property dependencies, or without those its dependencies).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from pulumi_policy import PolicyResource

from ziggie_policies._support import DNS_RECORD, UNKNOWN, elements, prop

HEALTH_CHECK: Final = "aws:route53/healthCheck:HealthCheck"


def failover_roles(props: Mapping[str, Any]) -> list[tuple[int, Any]]:
    """(index, role) of each failover routing policy of a record; a role may be UNKNOWN."""
    found: list[tuple[int, Any]] = []
    for index, routing in enumerate(elements(prop(props, "failoverRoutingPolicies"))):
        role = prop(routing, "type") if isinstance(routing, Mapping) else None
        found.append((index, role.upper() if isinstance(role, str) else role))
    return found


def record_label(resource_name: str, props: Mapping[str, Any]) -> str:
    """``record app.ziggie.example CNAME (set prod-primary)``, from what is known."""
    name, record_type, set_id = (prop(props, key) for key in ("name", "type", "setIdentifier"))
    label = f"record {name if isinstance(name, str) and name else resource_name}"
    if isinstance(record_type, str) and record_type:
        label += f" {record_type}"
    if isinstance(set_id, str) and set_id:
        label += f" (set {set_id})"
    return label


def health_check_of(record: PolicyResource) -> PolicyResource | None:
    """The HealthCheck resource of this stack that the record's ``healthCheckId`` came from."""
    depended = record.property_dependencies.get("healthCheckId") or record.dependencies
    checks = [r for r in depended if r.resource_type == HEALTH_CHECK]
    return checks[0] if len(checks) == 1 else None


def normal(name: Any) -> Any:
    """A DNS name as compared: lower case, without the trailing dot."""
    return name.rstrip(".").lower() if isinstance(name, str) else name


def addresses_of(name: str, resources: Sequence[PolicyResource], depth: int = 0) -> set[str] | None:
    """The IPs the stack's A/AAAA records give ``name`` (following CNAMEs of the stack); None when
    no record of the stack answers for it, or an answer is not known yet (UNKNOWN in the set)."""
    found: set[str] = set()
    answered = False
    for resource in resources:
        if resource.resource_type != DNS_RECORD or normal(prop(resource.props, "name")) != normal(name):
            continue
        record_type = prop(resource.props, "type")
        values = list(elements(prop(resource.props, "records")))
        if record_type in ("A", "AAAA"):
            answered = True
            found.update(v if isinstance(v, str) else UNKNOWN for v in values)
        elif record_type == "CNAME" and depth < 8 and values and isinstance(values[0], str):
            deeper = addresses_of(values[0], resources, depth + 1)
            if deeper is not None:
                answered = True
                found |= deeper
    return found if answered else None
