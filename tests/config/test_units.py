"""Tests for config.units: Docker-compatible sizes, durations and CPU counts."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from config.units import (
    GIB,
    KIB,
    MIB,
    PIB,
    TIB,
    Cpus,
    DurationSeconds,
    MemoryBytes,
    format_duration,
    format_gib,
    format_mem,
    parse_cpus,
    parse_duration,
    parse_ram,
)

# ---------------------------------------------------------------------------
# parse_ram
# ---------------------------------------------------------------------------

# go-units size_test.go TestRAMInBytes, success cases, verbatim.
GO_UNITS_RAM_OK = [
    ("32", 32),
    ("32b", 32),
    ("32B", 32),
    ("32k", 32 * KIB),
    ("32K", 32 * KIB),
    ("32kb", 32 * KIB),
    ("32Kb", 32 * KIB),
    ("32Kib", 32 * KIB),
    ("32KIB", 32 * KIB),
    ("32Mb", 32 * MIB),
    ("32Gb", 32 * GIB),
    ("32Tb", 32 * TIB),
    ("32Pb", 32 * PIB),
    ("32PB", 32 * PIB),
    ("32P", 32 * PIB),
    ("32.3", 32),
    ("32.3 mb", int(32.3 * MIB)),
    ("0.3MB", int(0.3 * MIB)),
]

# go-units size_test.go TestRAMInBytes, error cases, verbatim.
GO_UNITS_RAM_ERR = ["", "hello", "-32", " 32 ", "32m b", "32bm"]


@pytest.mark.parametrize(
    ("text", "expected"),
    GO_UNITS_RAM_OK,
    ids=[f"go-units:{t}" for t, _ in GO_UNITS_RAM_OK],
)
def test_parse_ram_matches_go_units_examples(text: str, expected: int) -> None:
    assert parse_ram(text) == expected


@pytest.mark.parametrize("text", GO_UNITS_RAM_ERR, ids=[f"go-units-error:{t!r}" for t in GO_UNITS_RAM_ERR])
def test_parse_ram_rejects_go_units_error_examples(text: str) -> None:
    with pytest.raises(ValueError, match="invalid size"):
        parse_ram(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("450mb", 450 * MIB, id="mb-suffix-is-binary"),
        pytest.param("1.5G", int(1.5 * GIB), id="fraction-times-unit"),
        pytest.param("768M", 768 * MIB, id="upper-case-unit"),
        pytest.param("1g", GIB, id="lower-case-unit"),
        pytest.param("10", 10, id="bare-number-is-bytes"),
        pytest.param("1.5", 1, id="bare-fraction-truncates"),
        pytest.param("0.9k", 921, id="product-truncates-toward-zero"),
        pytest.param("32 ", 32, id="trailing-space-is-an-empty-suffix-separator"),
        pytest.param("32 b", 32, id="one-space-before-suffix"),
        pytest.param("1e3k", 1000 * KIB, id="go-float-exponent"),
        pytest.param("+1k", KIB, id="go-float-plus-sign"),
        pytest.param(".5k", 512, id="go-float-leading-dot"),
        pytest.param("5.k", 5 * KIB, id="go-float-trailing-dot"),
        pytest.param("1_024", 1024, id="go-float-underscore-separator"),
        pytest.param("0x1p10", 1024, id="go-hex-float-with-exponent"),
        pytest.param("-0", 0, id="negative-zero-is-not-below-zero-in-go"),
        pytest.param(0, 0, id="int-zero"),
        pytest.param(536870912, 512 * MIB, id="int-passes-through"),
        pytest.param("8191P", 8191 * PIB, id="largest-whole-pib-below-int64"),
    ],
)
def test_parse_ram_accepts(value: str | int, expected: int) -> None:
    assert parse_ram(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("32m b", "expected a number", id="space-inside-suffix"),
        pytest.param("32  mb", "expected a number", id="two-spaces"),
        pytest.param("32mib b", "expected a number", id="number-part-has-letters"),
        pytest.param("32kibb", "expected a number", id="suffix-longer-than-3"),
        pytest.param("32kx", "expected a number", id="second-suffix-char-not-b"),
        pytest.param("32kab", "expected a number", id="three-char-suffix-not-ib"),
        pytest.param("32e", "expected a number", id="unknown-unit-e-exabytes"),
        pytest.param("32x", "expected a number", id="unknown-unit"),
        pytest.param("1..5k", "expected a number", id="two-dots"),
        pytest.param("1__0", "expected a number", id="double-underscore"),
        pytest.param("_10", "expected a number", id="leading-underscore"),
        pytest.param("0x10", "expected a number", id="hex-without-exponent"),
        pytest.param("nan ", "expected a number", id="nan-would-be-undefined-int64-in-go"),
        pytest.param("inf k", "expected a number", id="inf-would-be-undefined-int64-in-go"),
        pytest.param("1e400", "expected a number", id="float64-overflow"),
        pytest.param("8192P", "too large", id="int64-overflow-is-undefined-in-go"),
        pytest.param("-1k", "must not be negative", id="negative-with-unit"),
        pytest.param(-1, "must not be negative", id="negative-int"),
        pytest.param(1 << 63, "too large", id="int-beyond-int64"),
        pytest.param("\uff13\uff12", "expected a number", id="non-ascii-digits"),
    ],
)
def test_parse_ram_rejects(value: str | int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_ram(value)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(True, id="bool-is-not-a-size"),
        pytest.param(1.5, id="float-is-not-a-size"),
        pytest.param(None, id="none"),
        pytest.param(b"1k", id="bytes"),
    ],
)
def test_parse_ram_rejects_other_types(value: object) -> None:
    with pytest.raises(TypeError, match="expected a byte count or a size string"):
        parse_ram(value)  # type: ignore[arg-type]


def test_parse_ram_error_message_is_user_facing() -> None:
    with pytest.raises(ValueError) as info:
        parse_ram("32bm")
    assert str(info.value) == (
        "invalid size '32bm': expected a number with an optional unit b, k, m, g, t or p (binary: 1.5G = 1.5 GiB)"
    )


# ---------------------------------------------------------------------------
# format_gib / format_mem
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_bytes", "expected"),
    [
        pytest.param(16 * GIB + 256 * MIB, "16.25 GiB", id="two-decimals"),
        pytest.param(0, "0.00 GiB", id="zero"),
        pytest.param(GIB // 3, "0.33 GiB", id="rounded"),
        pytest.param(-GIB // 2, "-0.50 GiB", id="negative-deficit"),
    ],
)
def test_format_gib(n_bytes: int, expected: str) -> None:
    assert format_gib(n_bytes) == expected


@pytest.mark.parametrize(
    ("n_bytes", "expected"),
    [
        pytest.param(int(1.5 * GIB), "1.5G", id="fractional-gib-is-shorter"),
        pytest.param(768 * MIB, "768M", id="whole-mib-shorter-than-0.75G"),
        pytest.param(450 * MIB, "450M", id="whole-mib"),
        pytest.param(GIB, "1G", id="whole-gib"),
        pytest.param(2 * KIB, "2K", id="whole-kib"),
        pytest.param(1000, "1000", id="not-a-binary-multiple-stays-bytes"),
        pytest.param(1536, "1536", id="tie-prefers-integer-mantissa-over-1.5K"),
        pytest.param(16 * GIB + 256 * MIB, "16640M", id="tie-prefers-integer-over-16.25G"),
        pytest.param(3 * PIB, "3P", id="pib"),
        pytest.param(0, "0", id="zero"),
        pytest.param(MIB + 1, "1048577", id="odd-byte-count"),
    ],
)
def test_format_mem(n_bytes: int, expected: str) -> None:
    assert format_mem(n_bytes) == expected
    assert parse_ram(expected) == n_bytes


@pytest.mark.parametrize(
    ("n_bytes", "error", "message"),
    [
        pytest.param(-1, ValueError, "invalid byte count -1: must not be negative", id="negative"),
        pytest.param(
            1 << 63, ValueError, f"invalid byte count {1 << 63}: too large (at most 2**63 - 1)", id="beyond-int64"
        ),
        pytest.param(True, TypeError, "invalid byte count True: expected an int", id="bool"),
        pytest.param(1.0, TypeError, "invalid byte count 1.0: expected an int", id="float"),
    ],
)
def test_format_mem_rejects(n_bytes: int, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as caught:
        format_mem(n_bytes)
    assert str(caught.value) == message


def test_format_mem_reads_the_largest_byte_count() -> None:
    assert format_mem((1 << 63) - 1) == str((1 << 63) - 1)


@pytest.mark.parametrize(
    ("n_bytes", "message"),
    [
        pytest.param(True, "invalid byte count True: expected an int", id="bool-is-not-a-count"),
        pytest.param(1.5, "invalid byte count 1.5: expected an int", id="float-is-not-a-count"),
        pytest.param("1G", "invalid byte count '1G': expected an int", id="size-string-is-not-a-count"),
    ],
)
def test_format_gib_rejects(n_bytes: int, message: str) -> None:
    with pytest.raises(TypeError) as caught:
        format_gib(n_bytes)
    assert str(caught.value) == message


@given(st.integers(min_value=0, max_value=(1 << 43) - 1))
def test_format_mem_round_trips_whole_mib(mib: int) -> None:
    text = format_mem(mib * MIB)
    assert parse_ram(text) == mib * MIB
    assert len(text) <= len(f"{mib}M")


@given(st.integers(min_value=0, max_value=1 << 53))
def test_format_mem_round_trips_any_byte_count_docker_can_represent(
    n_bytes: int,
) -> None:
    assert parse_ram(format_mem(n_bytes)) == n_bytes


# ---------------------------------------------------------------------------
# parse_duration / format_duration
# ---------------------------------------------------------------------------

# Go time_test.go parseDurationTests (non-negative subset), in seconds.
GO_DURATION_OK = [
    ("0", 0.0),
    ("5s", 5.0),
    ("30s", 30.0),
    ("1478s", 1478.0),
    ("+5s", 5.0),
    ("-0", 0.0),
    ("+0", 0.0),
    ("5.0s", 5.0),
    ("5.6s", 5.6),
    ("5.s", 5.0),
    (".5s", 0.5),
    ("1.0s", 1.0),
    ("1.00s", 1.0),
    ("1.004s", 1.004),
    ("1.0040s", 1.004),
    ("100.00100s", 100.001),
    ("10ns", 10e-9),
    ("11us", 11e-6),
    ("12\u00b5s", 12e-6),
    ("12\u03bcs", 12e-6),
    ("13ms", 13e-3),
    ("14s", 14.0),
    ("15m", 900.0),
    ("16h", 57600.0),
    ("3h30m", 12600.0),
    ("10.5s4m", 250.5),
    ("1h2m3s4ms5us6ns", 3723.004005006),
    ("39h9m14.425s", 140954.425),
    ("52763797000ns", 52.763797),
    ("0.3333333333333333333h", 1200.0),
    ("9007199254740993ns", 9007199.254740993),
    ("0.100000000000000000000h", 360.0),
    ("0.830103483285477580700h", 2988.372539827),
]

GO_DURATION_ERR = [
    "",
    "3",
    "-",
    "s",
    ".",
    "-.",
    ".s",
    "+.s",
    "1d",
    "\x85\x85",
    "\xffff",
    "9223372036854775810ns",
]


@pytest.mark.parametrize(("text", "seconds"), GO_DURATION_OK, ids=[f"go:{t}" for t, _ in GO_DURATION_OK])
def test_parse_duration_matches_go_examples(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds, abs=1e-9)


@pytest.mark.parametrize("text", GO_DURATION_ERR, ids=[f"go-error:{t!r}" for t in GO_DURATION_ERR])
def test_parse_duration_rejects_go_error_examples(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("10", "missing unit", id="bare-number-needs-unit"),
        pytest.param("1.5", "missing unit", id="bare-fraction-needs-unit"),
        pytest.param("1m30", "missing unit", id="trailing-number-needs-unit"),
        pytest.param("1S", "unknown unit 'S'", id="units-are-case-sensitive"),
        pytest.param("1 s", "unknown unit ' s'", id="space-is-part-of-the-unit"),
        pytest.param(" 1s", "invalid duration", id="leading-space"),
        pytest.param("1sec", "unknown unit 'sec'", id="long-unit-name"),
        pytest.param("-1s", "must not be negative", id="negative"),
        pytest.param("-1m30s", "must not be negative", id="negative-sequence"),
        pytest.param("1s-1s", "invalid duration", id="sign-only-at-start"),
        pytest.param("\uff11s", "invalid duration", id="non-ascii-digit"),
        pytest.param("2562048h", "too large", id="beyond-int64-nanoseconds"),
    ],
)
def test_parse_duration_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


def test_parse_duration_fraction_uses_go_float_arithmetic() -> None:
    # Go: uint64(float64(f) * (float64(unit) / scale)), truncated.
    assert parse_duration("0.1ns") == 0.0
    assert parse_duration("1.9ns") == 1e-9


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        pytest.param(10, "10s", id="seconds"),
        pytest.param(90, "1m30s", id="minutes-and-seconds"),
        pytest.param(0.5, "500ms", id="sub-second-uses-ms"),
        pytest.param(0, "0s", id="zero"),
        pytest.param(3600, "1h0m0s", id="go-keeps-zero-minutes-and-seconds"),
        pytest.param(1.5, "1.5s", id="fractional-seconds"),
        pytest.param(1e-9, "1ns", id="nanoseconds"),
        pytest.param(1.1e-6, "1.1\u00b5s", id="microseconds-micro-sign"),
        pytest.param(2.2e-3, "2.2ms", id="milliseconds"),
        pytest.param(3723.004005006, "1h2m3.004005006s", id="all-units"),
        pytest.param(140954.425, "39h9m14.425s", id="go-example"),
        pytest.param(1.0000000004, "1s", id="rounds-to-nanosecond"),
        # Each unit from its first value: Go switches at exactly 1µs, 1ms and 1s.
        pytest.param(999e-9, "999ns", id="last-nanoseconds"),
        pytest.param(1e-6, "1\u00b5s", id="first-microsecond"),
        pytest.param(999.999e-6, "999.999\u00b5s", id="last-microseconds"),
        pytest.param(1e-3, "1ms", id="first-millisecond"),
        pytest.param(0.999999999, "999.999999ms", id="last-milliseconds"),
        pytest.param(1.0, "1s", id="first-second"),
        # The largest double whose nanoseconds fit Go's int64 Duration (2**63 - 1332 ns).
        pytest.param(9223372036.854774, "2562047h47m16.854774475s", id="largest-accepted"),
    ],
)
def test_format_duration(seconds: float, expected: str) -> None:
    assert format_duration(seconds) == expected


@pytest.mark.parametrize(
    ("seconds", "error"),
    [
        pytest.param(-1, ValueError, id="negative"),
        pytest.param(math.nan, ValueError, id="nan"),
        pytest.param(math.inf, ValueError, id="inf"),
        pytest.param(1e19, ValueError, id="beyond-int64-nanoseconds"),
        # The next double up is 575 ns past 2**63 - 1: no double or integer of seconds is exactly it.
        pytest.param(9223372036.854776, ValueError, id="first-double-beyond-int64-nanoseconds"),
        pytest.param(True, TypeError, id="bool"),
        pytest.param("10s", TypeError, id="string"),
    ],
)
def test_format_duration_rejects(seconds: float, error: type[Exception]) -> None:
    with pytest.raises(error, match="invalid duration"):
        format_duration(seconds)


@given(st.integers(min_value=0, max_value=4_000_000_000_000_000))
def test_format_duration_round_trips(ns: int) -> None:
    seconds = ns / 1_000_000_000
    assert parse_duration(format_duration(seconds)) == seconds


@given(
    st.tuples(
        st.integers(min_value=0, max_value=1000),
        st.integers(min_value=0, max_value=59),
        st.integers(min_value=0, max_value=59),
        st.integers(min_value=0, max_value=999),
    )
)
def test_parse_duration_round_trips_go_canonical_strings(
    parts: tuple[int, int, int, int],
) -> None:
    h, m, s, ms = parts
    # Go's canonical form, built independently of format_duration.
    if h == m == s == 0:
        expected = f"{ms}ms" if ms else "0s"
    else:
        expected = f"{s}" + (f".{ms:03d}".rstrip("0") if ms else "") + "s"
        if h or m:
            expected = f"{m}m{expected}"
        if h:
            expected = f"{h}h{expected}"
    seconds = (h * 3_600_000 + m * 60_000 + s * 1000 + ms) / 1000
    assert format_duration(seconds) == expected
    assert parse_duration(expected) == seconds


# ---------------------------------------------------------------------------
# parse_cpus
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("0.5", Decimal("0.5"), id="decimal-string"),
        pytest.param("2", Decimal(2), id="integer-string"),
        pytest.param(2, Decimal(2), id="int"),
        pytest.param(1.5, Decimal("1.5"), id="float"),
        pytest.param(0.1, Decimal("0.1"), id="float-read-by-shortest-repr"),
        pytest.param("0.000000001", Decimal("0.000000001"), id="one-nanocpu"),
        pytest.param("1.000000000000", Decimal(1), id="trailing-zeros-are-exact"),
        pytest.param("1e-3", Decimal("0.001"), id="exponent"),
        pytest.param("0", Decimal(0), id="zero"),
        pytest.param(".25", Decimal("0.25"), id="leading-dot"),
        pytest.param(Decimal("1.25"), Decimal("1.25"), id="decimal"),
    ],
)
def test_parse_cpus_accepts(value: str | float | Decimal, expected: Decimal) -> None:
    result = parse_cpus(value)
    assert isinstance(result, Decimal)
    assert result == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("-1", "must not be negative", id="negative-string"),
        pytest.param(-0.5, "must not be negative", id="negative-float"),
        pytest.param(math.nan, "expected a non-negative decimal", id="nan"),
        pytest.param(math.inf, "expected a non-negative decimal", id="inf"),
        pytest.param("nan", "expected a non-negative decimal", id="nan-string"),
        pytest.param("Infinity", "expected a non-negative decimal", id="inf-string"),
        pytest.param(Decimal("NaN"), "expected a non-negative decimal", id="nan-decimal"),
        pytest.param("0.0000000001", "too precise", id="ten-decimals"),
        pytest.param(1e-10, "too precise", id="float-too-precise"),
        pytest.param("1/2", "expected a non-negative decimal", id="rational-not-supported"),
        pytest.param(" 1", "expected a non-negative decimal", id="whitespace"),
        pytest.param("", "expected a non-negative decimal", id="empty"),
        pytest.param("1_0", "expected a non-negative decimal", id="underscore"),
        pytest.param("9223372036.854775808", "too large", id="beyond-int64-nanocpus"),
    ],
)
def test_parse_cpus_rejects(value: str | float | Decimal, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_cpus(value)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(True, id="bool"),
        pytest.param(None, id="none"),
        pytest.param([1], id="list"),
    ],
)
def test_parse_cpus_rejects_other_types(value: object) -> None:
    with pytest.raises(TypeError, match="expected a non-negative decimal"):
        parse_cpus(value)  # type: ignore[arg-type]


def test_parse_cpus_sums_exactly() -> None:
    assert sum((parse_cpus(v) for v in ["0.1", "0.2"]), Decimal(0)) == Decimal("0.3")


# ---------------------------------------------------------------------------
# pydantic annotated types
# ---------------------------------------------------------------------------


class _Limits(BaseModel):
    memory: MemoryBytes
    interval: DurationSeconds
    cpus: Cpus


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(
            {"memory": "1.5G", "interval": "1m30s", "cpus": "0.5"},
            (int(1.5 * GIB), 90.0, Decimal("0.5")),
            id="docker-strings",
        ),
        pytest.param(
            {"memory": 1024, "interval": 10, "cpus": 2},
            (1024, 10.0, Decimal(2)),
            id="plain-numbers",
        ),
        pytest.param(
            {"memory": "0", "interval": 0.25, "cpus": 1.5},
            (0, 0.25, Decimal("1.5")),
            id="zero-and-floats",
        ),
    ],
)
def test_models_validate(payload: dict[str, object], expected: tuple[int, float, Decimal]) -> None:
    model = _Limits.model_validate(payload)
    assert (model.memory, model.interval, model.cpus) == expected
    assert type(model.memory) is int
    assert isinstance(model.cpus, Decimal)


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        pytest.param(
            {"memory": "32bm", "interval": "1s", "cpus": 1},
            "memory",
            "invalid size '32bm'",
            id="bad-size",
        ),
        pytest.param(
            {"memory": -1, "interval": "1s", "cpus": 1},
            "memory",
            "must not be negative",
            id="negative-size",
        ),
        pytest.param(
            {"memory": 1.5, "interval": "1s", "cpus": 1},
            "memory",
            "expected a byte count",
            id="float-size",
        ),
        pytest.param(
            {"memory": 1, "interval": "10", "cpus": 1},
            "interval",
            "missing unit",
            id="bare-duration",
        ),
        pytest.param(
            {"memory": 1, "interval": -1, "cpus": 1},
            "interval",
            "must not be negative",
            id="negative-seconds",
        ),
        pytest.param(
            {"memory": 1, "interval": True, "cpus": 1},
            "interval",
            "invalid duration",
            id="bool-seconds",
        ),
        pytest.param(
            {"memory": 1, "interval": "1s", "cpus": "-1"},
            "cpus",
            "must not be negative",
            id="negative-cpus",
        ),
        pytest.param(
            {"memory": 1, "interval": "1s", "cpus": None},
            "cpus",
            "invalid cpus",
            id="null-cpus",
        ),
        pytest.param(
            {"memory": True, "interval": "1s", "cpus": 1},
            "memory",
            "invalid size",
            id="bool-size",
        ),
        pytest.param(
            {"memory": 1, "interval": [1], "cpus": 1},
            "interval",
            "invalid duration",
            id="list-seconds",
        ),
        pytest.param(
            {"memory": 1, "interval": "1s", "cpus": True},
            "cpus",
            "invalid cpus",
            id="bool-cpus",
        ),
    ],
)
def test_models_report_readable_errors(payload: dict[str, object], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        _Limits.model_validate(payload)
    errors = info.value.errors()
    assert [e["loc"] for e in errors] == [(field,)]
    assert message in errors[0]["msg"]


def test_models_serialise_to_json_and_back() -> None:
    model = _Limits.model_validate({"memory": "768M", "interval": "1m30s", "cpus": "0.000000001"})
    dumped = json.loads(model.model_dump_json())
    assert dumped == {"memory": 768 * MIB, "interval": 90.0, "cpus": "0.000000001"}
    assert _Limits.model_validate(dumped) == model
    assert model.model_dump()["cpus"] == Decimal("0.000000001")


def test_models_json_schema_admits_strings() -> None:
    props = _Limits.model_json_schema()["properties"]
    for name in ("memory", "interval", "cpus"):
        assert {"type": "string"} in props[name]["anyOf"], name


def test_the_int64_bounds_are_inclusive() -> None:
    """Docker's byte counts and NanoCPUs are int64: 2**63 - 1 is the last value, kept; one more is refused."""
    assert parse_ram(2**63 - 1) == 2**63 - 1
    with pytest.raises(ValueError, match="too large"):
        parse_ram(2**63)
    assert parse_cpus("9223372036.854775807") == Decimal("9223372036.854775807")
    with pytest.raises(ValueError, match="too large"):
        parse_cpus("9223372036.854775808")


def test_a_hex_float_may_separate_digits_with_underscores_as_go_allows() -> None:
    # strconv.ParseFloat accepts underscores after a base prefix: 0x_1p10 is 1024; the prefix's X
    # may be upper case, and is no unit letter.
    assert parse_ram("0x_1p10") == parse_ram("0X1p10") == 1024


def test_a_negative_size_is_named_negative_before_its_unit_is_read() -> None:
    # go-units RAMInBytes parses the number, refuses a negative one, and only then reads the unit.
    with pytest.raises(ValueError, match="must not be negative"):
        parse_ram("-1X")
