"""How the docker provider reads a container's inputs back from Docker, so the program sends each
value in exactly that form and a second `pulumi up` with nothing changed shows no diff.

Every rule here is ported from kreuzwerker/terraform-provider-docker (the provider pulumi-docker
bridges), `internal/provider/resource_docker_container_funcs.go`, `resourceDockerContainerRead`:

- `cpus` (ForceNew, `resource_docker_container.go`): sent through docker's `opts.ParseCPUs` as
  NanoCPUs and read back as `nanoInt64ToDecimalString(NanoCPUs)` (`internal/provider/helpers.go`),
  so 1 CPU reads back `"1.0"` and 0.05 CPU reads back `"0.1"`.
- `memory`, `memory_reservation`: sent as MB x 1024 x 1024, read back `/1024/1024`, which gives
  whole MB back exactly: they read back as sent.
- `memory_swap`: sent as MB x 1024 x 1024 when positive, read back `/1024/1024` when positive and
  as Docker reports it otherwise (-1 on a host without swap accounting: the daemon stores -1
  when the kernel cannot limit swap): read back as sent, too.
- `healthcheck` durations: parsed with Go's `time.ParseDuration`, read back with
  `time.Duration.String()` (`"60s"` reads back `"1m0s"`); `start_interval` reads back `"0s"`,
  which is its schema default.
- `ulimit`, `mounts`, `ports` (with an explicit host IP) and `log_opts` are read back as Docker
  stores them, which is what was sent (log_opts: unless the daemon's own `log-opts` add keys).
- `labels`, `env`, `upload`, `volumes` and `networks_advanced` are not read back at all ("We
  decided not to set the environment variables and labels"; "upload can't be imported";
  `networks_advanced` only on import), so state keeps what was sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final

from config.units import format_duration, parse_duration

_NANO: Final = 10**9


def nano_cpus(cpus: Decimal) -> int:
    """docker `opts.ParseCPUs`: the value times 1e9, which must be a whole number."""
    nano = Fraction(cpus) * _NANO
    if nano.denominator != 1:
        raise ValueError(f"{cpus} CPUs is not a whole number of NanoCPUs")
    return int(nano)


def nano_int64_to_decimal_string(nano: int) -> str:
    """The provider's `nanoInt64ToDecimalString`, quirks and all.

    `big.Rat.FloatString(9)`; when that string holds exactly nine "0" characters (counted over
    the whole string, integer part included) the provider returns `FloatString(1)` instead,
    which rounds half away from zero to one decimal: 1 CPU is `"1.0"`, 0.05 is `"0.1"`, 0.04 is
    `"0.0"`. Otherwise trailing zeros are trimmed: 0.25 is `"0.25"`, 10 is `"10."`.
    """
    if nano == 0:
        return "0"
    text = _float_string(Fraction(nano, _NANO), 9)
    if text.count("0") == 9:
        return _float_string(Fraction(nano, _NANO), 1)
    return text.rstrip("0")


def _float_string(value: Fraction, prec: int) -> str:
    """Go `big.Rat.FloatString(prec)`: `prec` decimals, the last rounded half away from zero."""
    negative = value < 0
    scaled = abs(value) * 10**prec
    whole, remainder = divmod(scaled.numerator, scaled.denominator)
    if 2 * remainder >= scaled.denominator:
        whole += 1
    digits = str(whole).rjust(prec + 1, "0")
    text = f"{digits[:-prec]}.{digits[-prec:]}" if prec else digits
    return f"-{text}" if negative else text


def cpus_readback(cpus: Decimal) -> str:
    """The `cpus` string the provider stores after Docker reports this many CPUs."""
    return nano_int64_to_decimal_string(nano_cpus(cpus))


def cpus_round_trips(cpus: Decimal) -> bool:
    """True when the provider reads back a string that means the same number of CPUs."""
    return Decimal(cpus_readback(cpus)) == cpus


def nearest_round_tripping(cpus: Decimal) -> tuple[Decimal | None, Decimal]:
    """The closest values below and above `cpus` that round-trip, one decimal finer than written.

    The step is one digit past the value's own last decimal, so 0.05 offers 0.049 and 0.051
    (every 0.0x with one non-zero digit reads back as 0.0 or 0.1). Below can be None (no
    round-tripping value above zero).
    """
    exponent = cpus.normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    # Docker takes whole NanoCPUs: past nine decimals there is no finer value to offer.
    step = Decimal(1).scaleb(-min(places + 1, 9))
    below: Decimal | None = None
    candidate = cpus - step
    while candidate > 0:
        if cpus_round_trips(candidate):
            below = candidate.normalize()
            break
        candidate -= step
    candidate = cpus + step
    while not cpus_round_trips(candidate):
        candidate += step
    return below, candidate.normalize()


def duration_readback(text: str) -> str:
    """A Go duration as the provider stores it: `time.Duration.String()` of the parsed value."""
    return format_duration(parse_duration(text))


def container_readback(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """A container's wire-form inputs as the provider's state holds them after a Read.

    Keys the provider does not read back, or reads back unchanged, keep their sent value.
    """
    state: dict[str, Any] = dict(inputs)
    cpus = inputs.get("cpus")
    if isinstance(cpus, str):
        nano = nano_cpus(Decimal(cpus))
        if nano > 0:
            state["cpus"] = nano_int64_to_decimal_string(nano)
    # memory, memoryReservation and memorySwap are whole MB (or -1 swap): read back as sent.
    check = inputs.get("healthcheck")
    if isinstance(check, Mapping):
        read = dict(check)
        for key in ("interval", "timeout", "startPeriod", "startInterval"):
            if isinstance(check.get(key), str):
                read[key] = duration_readback(check[key])
        state["healthcheck"] = read
    return state


def readback_differences(inputs: Mapping[str, Any]) -> list[str]:
    """`key: sent -> read back` for each input the provider would read back differently."""
    state = container_readback(inputs)
    return [f"{key}: {inputs[key]!r} -> {state[key]!r}" for key in sorted(inputs) if state.get(key) != inputs.get(key)]
