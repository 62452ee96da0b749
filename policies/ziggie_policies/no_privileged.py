"""no-privileged: no container gets root on its host, unless allowed by name with a reason.

Privileged mode, the host's network namespace and the Docker socket each hand a container
control of the whole host (whoever can talk to the socket can start a privileged container).
Some monitoring and management tools need exactly that - the seed's cadvisor reads cgroups
as privileged, portainer and watchtower manage containers through the socket - so those are
allowed by name in the per-stack config, each with its reason.
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
    SERVICE_LABEL,
    container_name,
    elements,
    label,
    prop,
    read_config,
)

NAME: Final = "no-privileged"
DOCKER_SOCKETS: Final = frozenset({"/var/run/docker.sock", "/run/docker.sock"})

CONFIG_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "allowed": {
            **NAME_TO_REASON,
            "default": {},
            "description": "Containers (by Docker name, or by service for every per-host copy) allowed privileged mode, host networking or "
            "the Docker socket, each with the reason.",
        },
    }
)


def privilege_violations(
    resource_type: str, resource_name: str, props: Mapping[str, Any], config: Mapping[str, Any]
) -> list[str]:
    """Each way one container gets hold of its host, unless it is allowed."""
    if resource_type != CONTAINER:
        return []
    name = container_name(props, resource_name)
    # By Docker name, or by the service every per-host copy shares (service_name's label).
    if name in config["allowed"] or label(props, SERVICE_LABEL) in config["allowed"]:
        return []
    who = f"container {name}"
    found: list[str] = []
    if prop(props, "privileged") is True:
        found.append(f"{who}: runs privileged")
    if prop(props, "networkMode") == "host":
        found.append(f'{who}: uses networkMode "host"')
    for index, mount in enumerate(elements(prop(props, "mounts"))):
        if isinstance(mount, Mapping) and prop(mount, "source") in DOCKER_SOCKETS:
            found.append(f"{who}: mounts the Docker socket {prop(mount, 'source')} (mounts[{index}])")
    for index, volume in enumerate(elements(prop(props, "volumes"))):
        if isinstance(volume, Mapping) and prop(volume, "hostPath") in DOCKER_SOCKETS:
            found.append(f"{who}: mounts the Docker socket {prop(volume, 'hostPath')} (volumes[{index}])")
    return [f"{message}; only containers allowed by name with a reason may" for message in found]


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    config = read_config(NAME, CONFIG_SCHEMA, args.get_config())
    for message in privilege_violations(args.resource_type, args.name, args.props, config):
        report_violation(message, None)


policy: Final = ResourceValidationPolicy(
    name=NAME,
    description="Prohibits privileged mode, host networking and Docker socket mounts, except for "
    "containers allowed by name with a reason.",
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
