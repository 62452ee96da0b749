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
MAX_CNAME_HOPS: Final = 8
"""CNAME records followed from a name before giving up: a chain that long is a loop or a mistake."""


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
    """A DNS name as compared: case folded (names are case-insensitive), without the trailing dot of
    the fully qualified form."""
    return name.casefold().removesuffix(".") if isinstance(name, str) else name


def record_values(props: Mapping[str, Any]) -> list[Any]:
    """A record's ``records``, each a string or UNKNOWN (not known yet, or not a value a name can have)."""
    return [v if isinstance(v, str) else UNKNOWN for v in elements(prop(props, "records"))]


def addresses_of(name: str, resources: Sequence[PolicyResource], depth: int = 0) -> set[Any] | None:
    """The IPs the stack's A/AAAA records give ``name`` (following CNAMEs of the stack, at most
    MAX_CNAME_HOPS of them, so a loop ends); None when no record of the stack answers for it.
    An answer not known yet is UNKNOWN in the set."""
    found: set[Any] | None = None
    for resource in resources:
        if resource.resource_type != DNS_RECORD or normal(prop(resource.props, "name")) != normal(name):
            continue
        record_type = prop(resource.props, "type")
        values = record_values(resource.props)
        if record_type in ("A", "AAAA"):
            answers: set[Any] | None = set(values)
        elif record_type == "CNAME" and depth < MAX_CNAME_HOPS and values and isinstance(values[0], str):
            answers = addresses_of(values[0], resources, depth + 1)
        else:
            continue
        if answers is not None:
            found = answers if found is None else found | answers
    return found
