"""host-allocation: the containers on each Docker host fit that host's pool.

Containers are grouped by the ``host`` input of the docker provider each one is registered
with; the pool is the host's capacity less the OS reserve, both from this policy's config (the
budget is owned apart from the program it checks). Memory limits, memory reservations and CPU
reservations must fit the pool: memory is not compressible and reservations are promises. CPU
limits are ceilings the kernel throttles at, so their sum may exceed the pool by
``cpuOvercommit``. Sums are exact (Decimal MiB and vCPU); ``memory`` and
``memoryReservation`` are MiB as Docker reads them, ``cpus`` a decimal string and a CPU
reservation is ``cpuShares / 1024``.

A host is the daemon its address reaches, not the string that names it: the config's
``dockerHost`` and each provider's ``host`` are compared by :func:`daemon_address`, so
``ssh://deploy@203.0.113.10``, ``ssh://DEPLOY@203.0.113.10:22`` and ``SSH://root@203.0.113.10/``
are one host whose pool carries all of their containers.

The budget is always the policy config's (DESIGN.md: budgets that guard the program are owned
apart from it), whatever the stack file declares for its hosts: those sizes do not reach the
plan (neither the provider nor the containers carry them), so the pack cannot compare them.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final
from urllib.parse import urlsplit

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
    MIB_PER_GIB,
    SHARES_PER_CPU,
    UNKNOWN,
    PolicyConfigError,
    container_name,
    docker_host,
    prop,
    read_config,
    to_decimal,
    two_places,
)

NAME: Final = "host-allocation"
LARGEST: Final = 3
"""How many of the largest consumers a message names."""

_CAPACITY_PROPERTIES: Final[dict[str, Any]] = {
    "memoryGiB": {"type": "number", "exclusiveMinimum": 0, "description": "Host memory, GiB."},
    "cpus": {"type": "number", "exclusiveMinimum": 0, "description": "Host vCPUs."},
    "reserveMemoryGiB": {"type": "number", "minimum": 0, "description": "Memory kept for the OS, GiB."},
    "reserveCpus": {"type": "number", "minimum": 0, "description": "vCPUs kept for the OS."},
}
_CAPACITY_KEYS: Final = ["memoryGiB", "cpus", "reserveMemoryGiB", "reserveCpus"]

# The seed's Hostinger KVM 4: 16 GiB / 4 vCPU, of which the OS keeps 2 GiB / 0.5 vCPU.
DEFAULT_HOST: Final[dict[str, Any]] = {"memoryGiB": 16, "cpus": 4, "reserveMemoryGiB": 2, "reserveCpus": 0.5}

CONFIG_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "hosts": {
            "type": "object",
            "description": "Known hosts by name: the docker provider host URL and the capacity.",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "dockerHost": {
                        "type": "string",
                        "minLength": 1,
                        "description": "The docker provider's host input, e.g. ssh://deploy@203.0.113.10.",
                    },
                    **_CAPACITY_PROPERTIES,
                },
                "required": ["dockerHost", *_CAPACITY_KEYS],
                "additionalProperties": False,
            },
            "default": {},
        },
        "defaultHost": {
            "type": "object",
            "description": "Capacity assumed for a host that hosts does not list.",
            "properties": _CAPACITY_PROPERTIES,
            "required": _CAPACITY_KEYS,
            "additionalProperties": False,
            "default": DEFAULT_HOST,
        },
        "cpuOvercommit": {
            "type": "number",
            "minimum": 1,
            "default": 1.0,
            "description": "How far the sum of CPU limits may exceed the CPU pool (1.0 = not at all).",
        },
    }
)


@dataclass(frozen=True)
class Pool:
    """What one host offers containers: capacity less the OS reserve."""

    label: str
    memory_gib: Decimal
    reserve_memory_gib: Decimal
    cpus: Decimal
    reserve_cpus: Decimal

    @property
    def memory_pool_gib(self) -> Decimal:
        return self.memory_gib - self.reserve_memory_gib

    @property
    def cpu_pool(self) -> Decimal:
        return self.cpus - self.reserve_cpus


@dataclass(frozen=True)
class Consumer:
    """One container's claims on its host."""

    name: str
    memory_gib: Decimal
    memory_reservation_gib: Decimal
    cpus: Decimal
    cpu_reservation: Decimal


# ssh(1): "-p port ... The default is 22". docker/cli connhelper/ssh passes the URL's port to
# ssh as -p only when one is written, so an address without a port reaches port 22.
_DEFAULT_PORTS: Final = {"ssh": 22}


def daemon_address(url: str) -> str:
    """The daemon a docker host address reaches, in one spelling per daemon.

    The scheme and host name are case-insensitive (RFC 3986 section 3.1 and 3.2.2); an ssh
    address's user chooses who logs in, not which daemon answers, so it is dropped; a missing
    ssh port is 22; a trailing slash is dropped (docker/cli connhelper/ssh refuses any path after
    an ssh host, so such an address would fail at deploy; counted here all the same). A unix
    socket path is normalised (``//var/run/./docker.sock`` is ``/var/run/docker.sock``).
    An address that does not parse is compared as written.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    if scheme == "unix":
        path = posixpath.normpath(re.sub("/+", "/", parts.netloc + parts.path or "/"))
        return f"unix://{path}"
    host = parts.hostname
    if not scheme or not host:
        return text
    if ":" in host:
        host = f"[{host}]"
    port = port or _DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def _number(where: str, value: Any) -> Decimal:
    """A number of this policy's config, which its schema types (the CLI checks it first)."""
    number = to_decimal(value)
    if number is None:
        raise PolicyConfigError(f"policy {NAME}: {where} {value!r} is not a number")
    return number


def _pool(label: str, spec: Mapping[str, Any]) -> Pool:
    where = f"host {label}:"
    pool = Pool(
        label=label,
        memory_gib=_number(f"{where} memoryGiB", spec["memoryGiB"]),
        reserve_memory_gib=_number(f"{where} reserveMemoryGiB", spec["reserveMemoryGiB"]),
        cpus=_number(f"{where} cpus", spec["cpus"]),
        reserve_cpus=_number(f"{where} reserveCpus", spec["reserveCpus"]),
    )
    if pool.memory_pool_gib <= 0 or pool.cpu_pool <= 0:
        raise PolicyConfigError(f"policy {NAME}: {where} the OS reserve leaves no pool")
    return pool


def _pools(config: Mapping[str, Any]) -> dict[str, Pool]:
    """Pools by daemon address."""
    pools: dict[str, Pool] = {}
    names: dict[str, str] = {}
    for name, spec in sorted(config["hosts"].items()):
        url = spec["dockerHost"]
        daemon = daemon_address(url)
        if daemon in names:
            raise PolicyConfigError(
                f"policy {NAME}: hosts {names[daemon]} and {name} have the same daemon {daemon} (dockerHost {url})"
            )
        names[daemon] = name
        pools[daemon] = _pool(f"{name} ({url})", spec)
    return pools


def _claim(value: Any) -> Decimal:
    """What a container claims: nothing for an amount missing, not a number or below zero
    (container-limits reports those)."""
    number = to_decimal(value)
    return Decimal(0) if number is None else max(number, Decimal(0))


def _consumer(resource: PolicyResource) -> Consumer:
    props = resource.props
    return Consumer(
        name=container_name(props, resource.name),
        memory_gib=_claim(prop(props, "memory")) / MIB_PER_GIB,
        memory_reservation_gib=_claim(prop(props, "memoryReservation")) / MIB_PER_GIB,
        cpus=_claim(prop(props, "cpus")),
        cpu_reservation=_claim(prop(props, "cpuShares")) / SHARES_PER_CPU,
    )


def _largest(consumers: Iterable[Consumer], amount: Callable[[Consumer], Decimal], unit: str) -> str:
    ranked = sorted((c for c in consumers if amount(c) > 0), key=lambda c: (-amount(c), c.name))
    return ", ".join(f"{c.name} {two_places(amount(c))} {unit}" for c in ranked[:LARGEST])


def allocation_violations(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(message, URN to report it against) for each sum that does not fit its host."""
    containers = [r for r in resources if r.resource_type == CONTAINER]
    pools = _pools(config)
    configured = {daemon_address(spec["dockerHost"]): spec["dockerHost"] for spec in config["hosts"].values()}
    default = config["defaultHost"]
    overcommit = _number("cpuOvercommit", config["cpuOvercommit"])

    groups: dict[str, list[Consumer]] = {}
    report_urn: dict[str, str] = {}
    spellings: dict[str, list[str]] = {}
    for resource in sorted(containers, key=lambda r: r.urn):
        url = docker_host(resource)
        # A host only known once the update runs cannot be placed in any pool.
        if url is UNKNOWN:
            continue
        # The default provider's containers share one group, keyed and written "".
        written = url or ""
        key = daemon_address(written)
        groups.setdefault(key, []).append(_consumer(resource))
        if written not in spellings.setdefault(key, []):
            spellings[key].append(written)
        # The provider stands for the host, so the violation is located on it.
        report_urn.setdefault(key, resource.provider.urn if resource.provider is not None else resource.urn)

    violations: list[tuple[str, str]] = []
    for key in sorted(groups):
        consumers = groups[key]
        listed = configured.get(key)
        pool = pools.get(key) or _pool(spellings[key][0] or "(default docker provider)", default)
        where, urn = f"host {pool.label}", report_urn[key]
        named = listed if listed is not None else spellings[key][0]
        aliases = [spelling for spelling in spellings[key] if spelling != named]
        if aliases:
            # Several providers reach one daemon: the message says which spellings were summed.
            where = f"{where}, also written {', '.join(aliases)}"
        mem_pool = (
            f"the {two_places(pool.memory_pool_gib)} GiB pool ({two_places(pool.memory_gib)} GiB"
            f" - {two_places(pool.reserve_memory_gib)} GiB reserve)"
        )
        cpu_pool = (
            f"the {two_places(pool.cpu_pool)} vCPU pool ({two_places(pool.cpus)} vCPU"
            f" - {two_places(pool.reserve_cpus)} vCPU reserve)"
        )
        checks: list[tuple[str, Callable[[Consumer], Decimal], str, Decimal, str]] = [
            ("memory limits", lambda c: c.memory_gib, "GiB", pool.memory_pool_gib, mem_pool),
            ("memory reservations", lambda c: c.memory_reservation_gib, "GiB", pool.memory_pool_gib, mem_pool),
            (
                "CPU limits",
                lambda c: c.cpus,
                "vCPU",
                pool.cpu_pool * overcommit,
                f"{two_places(pool.cpu_pool * overcommit)} vCPU, {cpu_pool} x {two_places(overcommit)} overcommit",
            ),
            ("CPU reservations", lambda c: c.cpu_reservation, "vCPU", pool.cpu_pool, cpu_pool),
        ]
        for what, amount, unit, allowed, allowance in checks:
            total = sum((amount(c) for c in consumers), Decimal(0))
            if total > allowed:
                message = (
                    f"{where}: {what} {two_places(total, ceiling=True)} {unit} exceed {allowance}; "
                    f"largest: {_largest(consumers, amount, unit)}"
                )
                violations.append((message, urn))
    return violations


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = read_config(NAME, CONFIG_SCHEMA, args.get_config())
    for message, urn in allocation_violations(args.resources, config):
        report_violation(message, urn)


policy: Final = StackValidationPolicy(
    name=NAME,
    description="Requires the memory and CPU limits and reservations of the containers on each "
    "Docker host to fit that host's capacity less its OS reserve.",
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
