"""service-reachability: every service a container needs is deployed and on a network it joins.

The program labels each container with the catalog service it runs (``ziggie.service``) and
the services it needs (``ziggie.needs``, comma-separated), so this works from the plan alone.
Networks are the names in a container's ``networksAdvanced``. A bridge network is local to
its Docker host (the docker provider's ``host``): two containers share it only on the same
host. A network registered in the stack with driver ``overlay`` spans the swarm, so every
container naming it shares it, on whichever host. A need is met when at least one copy of the
needed service shares a network with the needing container.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from ziggie_policies._support import (
    CONTAINER,
    HOST_LABEL,
    NAME_TO_REASON,
    NEEDS_LABEL,
    UNKNOWN,
    container_name,
    docker_host,
    elements,
    label,
    prop,
    read_config,
    service_name,
)

NAME: Final = "service-reachability"
NETWORK: Final = "docker:index/network:Network"

CONFIG_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "external": {
            **NAME_TO_REASON,
            "default": {},
            "description": "Services a container may need that run outside this stack, by name, each with "
            "where they come from.",
        },
    }
)


@dataclass(frozen=True)
class Placed:
    """One container: what it runs, where, on which networks (None when not known until the update)."""

    name: str
    service: str
    urn: str
    host: str
    needs: tuple[str, ...]
    networks: frozenset[tuple[str | None, str]] | None
    """(host, network name) pairs; the host is None for an overlay, which spans the swarm."""


def _host(resource: PolicyResource) -> str:
    url = docker_host(resource)
    return url if isinstance(url, str) else "(default docker provider)"


def _overlays(resources: Sequence[PolicyResource]) -> set[str]:
    names: set[str] = set()
    for resource in resources:
        if resource.resource_type == NETWORK and prop(resource.props, "driver") == "overlay":
            name = prop(resource.props, "name")
            if isinstance(name, str):
                names.add(name)
    return names


def _placed(resource: PolicyResource, overlays: set[str]) -> Placed:
    props = resource.props
    host = _host(resource)
    networks: set[tuple[str | None, str]] | None = set()
    for entry in elements(prop(props, "networksAdvanced")):
        name = prop(entry, "name") if isinstance(entry, Mapping) else UNKNOWN
        if not isinstance(name, str):
            networks = None  # a network only known once the update runs: nothing to judge
            break
        networks.add((None, name) if name in overlays else (host, name))
    needs = label(props, NEEDS_LABEL)
    return Placed(
        name=container_name(props, resource.name),
        service=service_name(props, resource.name),
        urn=resource.urn,
        host=label(props, HOST_LABEL) or host,
        needs=tuple(n for n in (needs or "").split(",") if n),
        networks=frozenset(networks) if networks is not None else None,
    )


def _shown(placed: Placed) -> str:
    if not placed.networks:
        return f"{placed.name} on {placed.host} joins no network"
    names = ", ".join(sorted(name for _, name in placed.networks))
    return f"{placed.name} on {placed.host} joins {names}"


def reachability_violations(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(message, URN of the needing container) for each need that is not met."""
    overlays = _overlays(resources)
    placed = [_placed(r, overlays) for r in sorted(resources, key=lambda r: r.urn) if r.resource_type == CONTAINER]
    by_service: dict[str, list[Placed]] = {}
    for p in placed:
        by_service.setdefault(p.service, []).append(p)
    external = config["external"]
    violations: list[tuple[str, str]] = []
    for p in placed:
        for need in p.needs:
            if need in external:
                continue
            copies = by_service.get(need)
            if not copies:
                violations.append((f"container {p.name} needs {need}, which this stack does not deploy", p.urn))
                continue
            if p.networks is None or any(c.networks is None for c in copies):
                continue
            if not any(p.networks & c.networks for c in copies if c.networks is not None):
                theirs = "; ".join(_shown(c) for c in copies)
                violations.append(
                    (
                        f"container {p.name} needs {need}, but they share no network ({_shown(p)}; {theirs}); "
                        "only an overlay network reaches across hosts",
                        p.urn,
                    )
                )
    return violations


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = read_config(NAME, CONFIG_SCHEMA, args.get_config())
    for message, urn in reachability_violations(args.resources, config):
        report_violation(message, urn)


policy: Final = StackValidationPolicy(
    name=NAME,
    description="Requires every service a container needs to be deployed in the stack on a network "
    "that container joins.",
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
