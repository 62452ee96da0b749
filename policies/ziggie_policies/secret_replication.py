"""secret-replication: every Secrets Manager secret has a replica in another region.

The DR stack must start while the primary region is down, and it reads its secrets in the DR
region: a secret that lives only in its own region is gone exactly when it is needed. The
secret's region is its ``region`` input (the program sets one on every AWS resource); a replica
counts when its ``region`` differs from it. A secret that names no region lives in the
provider's default region, which the policy cannot see: any replica region could be that same
region, so such a secret passes only with a replica in the configured ``drRegion`` (and fails
without one, or when no ``drRegion`` is configured). With ``drRegion`` set, a secret outside the
DR region needs its replica there, not just anywhere else. Stacks that hold no DR copy turn the
demand off with ``requireReplication`` false.
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
    SECRETS_MANAGER_SECRET,
    UNKNOWN,
    elements,
    prop,
    read_config,
    region_label,
)

NAME: Final = "secret-replication"

CONFIG_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "requireReplication": {
            "type": "boolean",
            "default": True,
            "description": "Demand a replica in another region on every secret.",
        },
        "drRegion": {
            "type": "string",
            "default": "",
            "description": "The DR region every secret's replica must be in; empty accepts any other region.",
        },
    }
)


def _replica_region(replica: Any) -> Any:
    """The region a replica names: a string, None when it names none, or UNKNOWN."""
    if replica is UNKNOWN:
        return UNKNOWN
    return prop(replica, "region") if isinstance(replica, Mapping) else None


def secret_violations(
    resource_type: str, resource_name: str, props: Mapping[str, Any], config: Mapping[str, Any]
) -> list[str]:
    """Why one secret has no replica in another region."""
    if resource_type != SECRETS_MANAGER_SECRET:
        return []
    if not config["requireReplication"]:
        return []
    replicas = prop(props, "replicas")
    if replicas is UNKNOWN:
        return []
    name = prop(props, "name")
    region = prop(props, "region")
    who = f"secret {name if isinstance(name, str) and name else resource_name} ({region_label(region)})"
    entries = list(elements(replicas))
    if not entries:
        return [f"{who}: not replicated; add a replica in another region"]
    dr_region: str = config["drRegion"]
    regions = [_replica_region(replica) for replica in entries]
    if UNKNOWN in regions:
        return []  # an unknown replica region may well be the right one
    named = sorted({r for r in regions if isinstance(r, str) and r})
    listed = ", ".join(named) if named else "none with a region set"
    if region is None or region == "":
        if not dr_region:
            return [
                f"{who}: names no region, so its replicas ({listed}) may sit in its own region; set region on the "
                "secret, or drRegion in this policy's config"
            ]
        if dr_region not in named:
            return [
                f"{who}: names no region and has no replica in the DR region {dr_region} (replicas: {listed}); add one"
            ]
        return []
    if dr_region and region is not UNKNOWN and region != dr_region and dr_region not in named:
        return [f"{who}: no replica in the DR region {dr_region} (replicas: {listed}); add one"]
    # A replica in any other region counts; with the secret's own region unknown, any named one does.
    if any(r != region for r in named):
        return []
    count = f"{len(entries)} replica" + ("" if len(entries) == 1 else "s")
    none = f"none outside {region}" if isinstance(region, str) else "none with a region set"
    return [f"{who}: {count}, {none}; add a replica in another region"]


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != SECRETS_MANAGER_SECRET:
        return
    config = read_config(NAME, CONFIG_SCHEMA, args.get_config())
    for message in secret_violations(args.resource_type, args.name, args.props, config):
        report_violation(message, None)


policy: Final = ResourceValidationPolicy(
    name=NAME,
    description="Requires every Secrets Manager secret to have a replica in a region other than its own.",
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
