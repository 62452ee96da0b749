"""healthcheck-required: every container reports its health, unless exempted by name with a reason.

`pulumi up` waits for a new container to turn healthy, so a check is what stops a bad release
on the host it broke; a container without one is "up" the moment its process starts. One-shot
or host-level tools (the seed's watchtower and certbot) have nothing to probe and are exempted in
the per-stack config, each with its reason.
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
    CONTAINER,
    NAME_TO_REASON,
    UNKNOWN,
    container_name,
    elements,
    prop,
    read_config,
)

NAME: Final = "healthcheck-required"

CONFIG_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "exempt": {
            **NAME_TO_REASON,
            "default": {},
            "description": "Containers (by Docker name) that need no health check, each with the reason.",
        },
    }
)


def healthcheck_violations(
    resource_type: str, resource_name: str, props: Mapping[str, Any], config: Mapping[str, Any]
) -> list[str]:
    """Why one container's health check is missing or disabled, unless it is exempt."""
    if resource_type != CONTAINER:
        return []
    name = container_name(props, resource_name)
    if name in config["exempt"]:
        return []
    who = f"container {name}"
    healthcheck = prop(props, "healthcheck")
    if healthcheck is UNKNOWN:
        return []
    if healthcheck is None:
        return [f"{who}: no healthcheck; add one or exempt the container with a reason"]
    tests = prop(healthcheck, "tests") if isinstance(healthcheck, Mapping) else None
    if tests is UNKNOWN:
        return []
    test_list = list(elements(tests))
    if not test_list:
        return [f"{who}: healthcheck has no tests"]
    if test_list == ["NONE"]:
        return [f'{who}: healthcheck is disabled (tests ["NONE"])']
    return []


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    config = read_config(NAME, CONFIG_SCHEMA, args.get_config())
    for message in healthcheck_violations(args.resource_type, args.name, args.props, config):
        report_violation(message, None)


policy: Final = ResourceValidationPolicy(
    name=NAME,
    description="Requires every container to define a health check with a test, unless it is "
    "exempted by name with a reason.",
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
