"""container-limits: every container is bounded, and no reservation exceeds its limit.

An unbounded container can take a whole host down with it, and a reservation above its limit
is a promise the kernel can never keep. ``memory`` and ``memoryReservation`` are MiB;
``cpus`` is a decimal string; a CPU reservation is ``cpuShares / 1024`` vCPU.

Swap counts too: ``memorySwap`` is memory plus swap, MiB. Unset, Docker lets a container swap
as much again as its memory limit (and -1 without bound), so the limit the other policies
check would not be the one the kernel enforces. A container may swap only when the policy
config allows it by name (or service), with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal
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
    SHARES_PER_CPU,
    UNKNOWN,
    container_name,
    label,
    prop,
    read_config,
    to_decimal,
)

NAME: Final = "container-limits"

CONFIG_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "allowSwap": {
            **NAME_TO_REASON,
            "default": {},
            "description": "Containers (by Docker name, or by service for every per-host copy) allowed a "
            "memorySwap above their memory limit, each with the reason.",
        },
    }
)


def _plain(value: Decimal) -> str:
    """``value`` as written in plain notation, the same whether it travelled as 3072 or 3072.0."""
    return format(value.normalize(), "f")


def _shown(raw: Any, parsed: Decimal | None) -> str:
    return _plain(parsed) if parsed is not None else repr(raw)


def limit_violations(resource_name: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """The missing limits, over-limit reservations and unbounded swap of one container."""
    name = container_name(props, resource_name)
    who = f"container {name}"
    found: list[str] = []

    raw_memory = prop(props, "memory")
    memory = to_decimal(raw_memory)
    if raw_memory is None:
        found.append(f"{who}: no memory limit; set memory (MiB) > 0")
    elif raw_memory is not UNKNOWN and (memory is None or memory <= 0):
        found.append(f"{who}: memory limit {_shown(raw_memory, memory)} is not a number of MiB > 0")
        memory = None

    raw_cpus = prop(props, "cpus")
    cpus = to_decimal(raw_cpus)
    if raw_cpus is None:
        found.append(f"{who}: no CPU limit; set cpus > 0")
    elif raw_cpus is not UNKNOWN and (cpus is None or cpus <= 0):
        found.append(f"{who}: CPU limit {_shown(raw_cpus, cpus)} is not a number of vCPU > 0")
        cpus = None

    allow_swap = config["allowSwap"]
    swap_allowed = name in allow_swap or label(props, SERVICE_LABEL) in allow_swap
    raw_swap = prop(props, "memorySwap")
    swap = to_decimal(raw_swap)
    if memory is not None and not swap_allowed and raw_swap is not UNKNOWN:
        if raw_swap is None or swap == 0:
            # The docker provider sends memory_swap only when GetOk finds it set, and GetOk
            # takes 0 for unset (kreuzwerker/terraform-provider-docker
            # internal/provider/resource_docker_container_funcs.go): 0 leaves Docker's default.
            unset = "no memorySwap" if raw_swap is None else "memorySwap 0 is not sent"
            found.append(
                f"{who}: {unset}; Docker then allows {_plain(memory)} MiB of swap on top of the "
                f"{_plain(memory)} MiB limit; set memorySwap {_plain(memory)}"
            )
        elif swap is None or swap < 0:
            found.append(
                f"{who}: memorySwap {_shown(raw_swap, swap)} leaves swap unbounded; set memorySwap {_plain(memory)}"
            )
        elif swap > memory:
            found.append(
                f"{who}: memorySwap {_plain(swap)} MiB lets it swap {_plain(swap - memory)} MiB beyond the "
                f"{_plain(memory)} MiB limit; allow it in allowSwap or set memorySwap {_plain(memory)}"
            )

    reservation = to_decimal(prop(props, "memoryReservation"))
    if memory is not None and reservation is not None and reservation > memory:
        found.append(f"{who}: memory reservation {_plain(reservation)} MiB exceeds the {_plain(memory)} MiB limit")
    shares = to_decimal(prop(props, "cpuShares"))
    # Shares are whole numbers, so a reservation equal to the limit may round up by less than
    # one share (0.2 vCPU is 204.8 shares, sent as 205): only a whole share more is over.
    if cpus is not None and shares is not None:
        limit_shares = (cpus * SHARES_PER_CPU).to_integral_value(ROUND_CEILING)
        if shares > limit_shares:
            found.append(
                f"{who}: cpuShares {_plain(shares)} reserve more than the {_plain(cpus)} vCPU limit "
                f"({_plain(limit_shares)} shares)"
            )
    return found


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    config = read_config(NAME, CONFIG_SCHEMA, args.get_config())
    for message in limit_violations(args.name, args.props, config):
        report_violation(message, None)


policy: Final = ResourceValidationPolicy(
    name=NAME,
    description="Requires every container to set a memory and a CPU limit above zero, with no "
    "reservation above its limit and no swap beyond it unless allowed.",
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
