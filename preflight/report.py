"""Renders a preflight run: a readable plan, or the JSON document `--json` prints.

The per-host allocation table is computed from the recorded container inputs (what would
reach Docker), not from the config, so it shows what the program really asks for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from config.models import CPU_SHARES_PER_VCPU, MIB
from config.units import format_gib
from preflight.records import RecordedResource, redact
from preflight.runner import PlanResult

CONTAINER = "docker:index/container:Container"
DOCKER_PROVIDER = "pulumi:providers:docker"
# Reading order inside a component: what a container needs comes before the container.
_RANK = {
    DOCKER_PROVIDER: 0,
    "docker:index/network:Network": 1,
    "docker:index/volume:Volume": 2,
    "docker:index/remoteImage:RemoteImage": 3,
    CONTAINER: 4,
}


@dataclass(frozen=True)
class Allocation:
    """One container's bounds as registered."""

    service: str
    tier: str
    memory: int
    memory_reservation: int
    cpus: Decimal
    cpu_reservation: Decimal


@dataclass(frozen=True)
class HostAllocation:
    """A host's containers and their sums against its pool."""

    host: str
    docker_host: str
    pool_memory: int
    pool_cpus: Decimal
    containers: tuple[Allocation, ...]

    @property
    def memory(self) -> int:
        return sum(c.memory for c in self.containers)

    @property
    def memory_reservation(self) -> int:
        return sum(c.memory_reservation for c in self.containers)

    @property
    def cpus(self) -> Decimal:
        return sum((c.cpus for c in self.containers), Decimal(0))

    @property
    def cpu_reservation(self) -> Decimal:
        return sum((c.cpu_reservation for c in self.containers), Decimal(0))


def _label(inputs: dict[str, Any], name: str) -> str:
    for label in inputs.get("labels", []):
        if isinstance(label, dict) and label.get("label") == name:
            return str(label.get("value", ""))
    return ""


def allocations(plan: PlanResult) -> list[HostAllocation]:
    """Per host, the containers registered on it, with the host's pool from the config."""
    providers = {r.urn: r for r in plan.resources if r.type == DOCKER_PROVIDER}
    by_url: dict[str, list[Allocation]] = defaultdict(list)
    for r in plan.resources:
        if r.type != CONTAINER or r.provider_urn not in providers:
            continue
        inputs = r.inputs
        by_url[str(providers[r.provider_urn].inputs.get("host"))].append(
            Allocation(
                service=str(inputs.get("name", r.name)),
                tier=_label(inputs, "ziggie.tier"),
                memory=int(inputs.get("memory", 0)) * MIB,
                memory_reservation=int(inputs.get("memoryReservation", 0)) * MIB,
                cpus=Decimal(str(inputs.get("cpus", "0"))),
                cpu_reservation=Decimal(int(inputs.get("cpuShares", 0))) / CPU_SHARES_PER_VCPU
                if inputs.get("cpuShares")
                else Decimal(0),
            )
        )
    result = []
    for name, host in plan.config.hosts.items():
        result.append(
            HostAllocation(
                host=name,
                docker_host=host.docker_host,
                pool_memory=host.pool_memory,
                pool_cpus=host.pool_cpus,
                containers=tuple(sorted(by_url.get(host.docker_host, []), key=lambda a: a.service)),
            )
        )
    return result


REMOTE_COMMAND = "command:remote:Command"
NETWORK = "docker:index/network:Network"


@dataclass(frozen=True)
class HostPreparation:
    """What a host gets before its containers, and which networks its containers join."""

    host: str
    swarm: str | None
    commands: tuple[tuple[str, str], ...]
    """(resource name, command) of each bootstrap step, in dependency order; never the key."""
    networks: tuple[tuple[str, str], ...]
    """(name, driver) of each network this host creates."""
    container_networks: tuple[tuple[str, tuple[str, ...]], ...]
    """(container, network names) of each container on the host."""


def host_preparation(plan: PlanResult) -> list[HostPreparation]:
    """Per host: bootstrap commands (their text only: the connection with the key stays out),
    swarm role, the networks it creates and each container's networks."""
    providers = {r.urn: r for r in plan.resources if r.type == DOCKER_PROVIDER}
    result = []
    for name, host in plan.config.hosts.items():
        commands = [r for r in plan.resources if r.type == REMOTE_COMMAND and r.name.startswith(f"{name}-bootstrap-")]
        ordered = sorted(commands, key=lambda r: (len(r.dependencies), r.name))
        on_host = [
            r
            for r in plan.resources
            if r.provider_urn in providers and providers[r.provider_urn].inputs.get("host") == host.docker_host
        ]
        result.append(
            HostPreparation(
                host=name,
                swarm=host.swarm,
                commands=tuple((r.name, str(r.inputs.get("create", ""))) for r in ordered),
                networks=tuple(
                    (str(r.inputs.get("name")), str(r.inputs.get("driver"))) for r in on_host if r.type == NETWORK
                ),
                container_networks=tuple(
                    sorted(
                        (
                            str(r.inputs.get("name", r.name)),
                            tuple(str(n.get("name")) for n in r.inputs.get("networksAdvanced", [])),
                        )
                        for r in on_host
                        if r.type == CONTAINER
                    )
                ),
            )
        )
    return result


def _preparation_lines(plan: PlanResult) -> list[str]:
    lines: list[str] = []
    for prep in host_preparation(plan):
        role = f"swarm {prep.swarm}" if prep.swarm else "standalone"
        lines += ["", f"host {prep.host} ({role}): before its containers"]
        if not prep.commands:
            lines.append("  no bootstrap (the local daemon)")
        for name, command in prep.commands:
            lines.append(f"  {name}:")
            lines += [f"    {line}" for line in command.splitlines()]
        for network, driver in prep.networks:
            lines.append(f"  network {network} ({driver})")
        joined = sorted({n for _, names in prep.container_networks for n in names})
        lines.append(f"  {len(prep.container_networks)} containers join: {', '.join(joined) or 'no network'}")
    return lines


def _gib(n: int) -> str:
    return format_gib(n).removesuffix(" GiB")


def _pct(part: Decimal | int, whole: Decimal | int) -> str:
    return f"{Decimal(part) * 100 / Decimal(whole):.0f}%" if whole else "-"


def _table(rows: Sequence[Sequence[str]], left: int = 2) -> list[str]:
    """Rows as aligned text: the first `left` columns flush left, the rest (figures) flush right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  "
        + "  ".join(
            cell.ljust(w) if i < left else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def render_text(plan: PlanResult, violations: Sequence[Any] = ()) -> str:
    """The human-readable plan."""
    lines = [
        f"Preflight of stack {plan.stack} ({plan.stack_file.name}): {len(plan.resources)} resources, no credentials used."
    ]
    children: dict[str | None, list[RecordedResource]] = defaultdict(list)
    for r in plan.resources:
        children[r.parent].append(r)
    components = [r for r in plan.resources if not r.custom and r.type != "pulumi:pulumi:Stack"]
    for component in components:
        kids = sorted(children.get(component.urn, []), key=lambda r: (_RANK.get(r.type, 9), r.name))
        lines += ["", f"{component.type} {component.name} ({len(kids)} resources)"]
        lines += _table([[r.type, r.name, "protected" if r.protect else ""] for r in kids])
    top = [
        r
        for r in plan.resources
        if r.custom
        and (r.parent is None or r.parent.endswith(f"::{plan.stack}") or "pulumi:pulumi:Stack::" in r.parent)
    ]
    if top:
        lines += ["", "stack-level resources", *_table([[r.type, r.name, ""] for r in top])]

    for host in allocations(plan):
        lines += [
            "",
            f"host {host.host} ({host.docker_host}): pool {_gib(host.pool_memory)} GiB / {host.pool_cpus:.2f} vCPU",
        ]
        rows = [["service", "tier", "mem limit", "mem reserve", "cpus", "cpu reserve"]]
        rows += [
            [c.service, c.tier, _gib(c.memory), _gib(c.memory_reservation), f"{c.cpus:.2f}", f"{c.cpu_reservation:.2f}"]
            for c in host.containers
        ]
        rows.append(
            [
                "total",
                "",
                _gib(host.memory),
                _gib(host.memory_reservation),
                f"{host.cpus:.2f}",
                f"{host.cpu_reservation:.2f}",
            ]
        )
        rows.append(
            [
                "of pool",
                "",
                _pct(host.memory, host.pool_memory),
                _pct(host.memory_reservation, host.pool_memory),
                _pct(host.cpus, host.pool_cpus),
                _pct(host.cpu_reservation, host.pool_cpus),
            ]
        )
        lines += _table(rows)

    lines += _preparation_lines(plan)

    lines += ["", "outputs"]
    for name, value in sorted(plan.outputs.items()):
        shown = "[secret]" if name in plan.secret_outputs else value
        lines.append(f"  {name} = {shown!r}")
    if plan.warnings:
        lines += ["", "warnings"] + [f"  {w}" for w in plan.warnings]
    if violations:
        lines += ["", "policy violations"]
        lines += _table(
            [["policy", "enforcement", "resource", "message"]]
            + [[v.policy, v.enforcement, v.urn.rsplit("::", 1)[-1], v.message] for v in violations],
            left=4,
        )
    return "\n".join(lines)


def render_json(plan: PlanResult, violations: Sequence[Any] | None = None) -> dict[str, Any]:
    """The `--json` document; secrets appear as "[secret]"."""
    document: dict[str, Any] = {
        "stack": plan.stack,
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "provider": r.provider,
                "dependencies": list(r.dependencies),
                "protect": r.protect,
                "inputs": redact(r.inputs),
            }
            for r in plan.resources
        ],
        "outputs": {k: "[secret]" if k in plan.secret_outputs else redact(v) for k, v in sorted(plan.outputs.items())},
        "warnings": list(plan.warnings),
        "hosts": [
            {
                "host": prep.host,
                "swarm": prep.swarm,
                "bootstrap": [{"name": name, "command": command} for name, command in prep.commands],
                "networks": [{"name": name, "driver": driver} for name, driver in prep.networks],
                "containerNetworks": {container: list(names) for container, names in prep.container_networks},
            }
            for prep in host_preparation(plan)
        ],
    }
    if violations is not None:
        document["violations"] = [
            {"policy": v.policy, "enforcement": v.enforcement, "urn": v.urn, "message": v.message} for v in violations
        ]
    return document
