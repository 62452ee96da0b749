"""Docker-compatible units: memory sizes, durations and CPU counts.

The parsers read values exactly the way Docker itself reads them, so that a
value accepted here is accepted, with the same meaning, by ``docker run`` and
pulumi-docker:

* :func:`parse_ram` follows ``RAMInBytes`` of github.com/docker/go-units
  (``parseSize(size, binaryMap)``): ``--memory``, ``--memory-reservation``.
* :func:`parse_duration` follows Go's ``time.ParseDuration``: health-check
  ``interval``, ``timeout``, ``start_period``, stop timeouts.
* :func:`parse_cpus` follows the docker CLI ``NanoCPUs`` option: ``--cpus``.

Where Go's behaviour is undefined or absurd, the parsers are stricter and say
so in a readable :class:`ValueError` (documented at each function).  A value of
the wrong Python type (``bool`` included) raises :class:`TypeError` with the
same kind of message; the pydantic types turn both into validation errors.  The
``MemoryBytes``, ``DurationSeconds`` and ``Cpus`` annotated types wrap the
parsers for pydantic v2 models.

Pure code: no Pulumi imports, no I/O.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Annotated, Final

from annotated_types import Ge
from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

__all__ = [
    "GIB",
    "KIB",
    "MIB",
    "PIB",
    "TIB",
    "Cpus",
    "DurationSeconds",
    "MemoryBytes",
    "format_duration",
    "format_gib",
    "format_mem",
    "parse_cpus",
    "parse_duration",
    "parse_ram",
]

KIB: Final = 1 << 10
MIB: Final = 1 << 20
GIB: Final = 1 << 30
TIB: Final = 1 << 40
PIB: Final = 1 << 50

_INT64_MAX: Final = (1 << 63) - 1

# ---------------------------------------------------------------------------
# Memory sizes: go-units RAMInBytes
# ---------------------------------------------------------------------------

# go-units ``binaryMap`` (the suffix letter, lower-cased, to its multiplier).
_BINARY_MAP: Final[dict[str, int]] = {"k": KIB, "m": MIB, "g": GIB, "t": TIB, "p": PIB}

# The number syntax of Go's ``strconv.ParseFloat`` (decimal and hexadecimal
# floating-point literals, with ``_`` digit separators placed as Go's
# ``underscoreOK`` allows). Hex literals must carry a ``p`` exponent, as in Go.
# ParseFloat's "inf"/"nan" spellings are deliberately absent: go-units would turn
# "nan " or "inf " into int64(NaN), which is undefined behaviour in Go.
_DEC_DIGITS: Final = r"[0-9](?:_?[0-9])*"
_HEX_DIGITS: Final = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_GO_FLOAT_RE: Final = re.compile(
    rf"[+-]?(?:"
    rf"(?:{_DEC_DIGITS}(?:\.(?:{_DEC_DIGITS})?)?|\.{_DEC_DIGITS})(?:[eE][+-]?{_DEC_DIGITS})?"
    rf"|0[xX](?:_?{_HEX_DIGITS}(?:\.(?:{_HEX_DIGITS})?)?|\.{_HEX_DIGITS})[pP][+-]?{_DEC_DIGITS}"
    rf")"
)

_SIZE_HINT: Final = "expected a number with an optional unit b, k, m, g, t or p (binary: 1.5G = 1.5 GiB)"


def _go_parse_float(text: str) -> float | None:
    """``strconv.ParseFloat(text, 64)`` for finite values; ``None`` when Go errs."""
    if _GO_FLOAT_RE.fullmatch(text) is None:
        return None
    plain = text.replace("_", "")
    value = float.fromhex(plain) if "x" in plain.lower() else float(plain)
    # Out of float64 range: Go returns ErrRange.
    return value if math.isfinite(value) else None


def parse_ram(value: str | int) -> int:
    """Return the number of bytes Docker reads from a ``--memory`` style value.

    Port of go-units ``RAMInBytes``: a Go float, then an optional
    case-insensitive unit ``b``, ``k``, ``m``, ``g``, ``t`` or ``p`` (powers of
    1024) optionally followed by ``b`` or ``ib``; a single space may separate
    the number from the unit.  ``"1.5G"`` is ``int(1.5 * 1024**3)``, ``"10"``
    is 10 bytes, ``"32.3"`` is 32 bytes (truncated like ``int64(size)``).

    Stricter than go-units, where go-units' result is undefined in Go: values
    of 2**63 bytes or more, and ``nan``/``inf`` spellings, are rejected.

    A plain ``int`` (not ``bool``) is taken as a byte count and must be
    non-negative.

    Raises:
        ValueError: with a short message naming the offending value.
        TypeError: for a value that is neither ``str`` nor ``int`` (or is ``bool``).
    """
    if isinstance(value, bool):
        raise TypeError(f"invalid size {value!r}: expected a byte count or a size string")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"invalid size {value}: must not be negative")
        if value > _INT64_MAX:
            raise ValueError(f"invalid size {value}: too large (at most 2**63 - 1 bytes)")
        return value
    if not isinstance(value, str):
        raise TypeError(f"invalid size {value!r}: expected a byte count or a size string")

    text = value
    # sep := strings.LastIndexAny(sizeStr, "01234567890. ")
    sep = max(text.rfind(c) for c in "0123456789. ")
    if sep == -1:
        raise ValueError(f"invalid size {text!r}: {_SIZE_HINT}")
    if text[sep] == " ":
        num, sfx = text[:sep], text[sep + 1 :]  # omit the space separator
    else:
        num, sfx = text[: sep + 1], text[sep + 1 :]

    size = _go_parse_float(num)
    if size is None:
        raise ValueError(f"invalid size {text!r}: {_SIZE_HINT}")
    if size < 0:
        raise ValueError(f"invalid size {text!r}: must not be negative")

    if sfx:
        low = sfx.lower()
        if len(sfx) > 3:
            raise ValueError(f"invalid size {text!r}: {_SIZE_HINT}")
        if low[0] == "b":
            if len(low) > 1:  # no extra characters allowed after b
                raise ValueError(f"invalid size {text!r}: {_SIZE_HINT}")
        else:
            mul = _BINARY_MAP.get(low[0])
            if mul is None or (len(low) == 2 and low[1] != "b") or (len(low) == 3 and low[1:] != "ib"):
                raise ValueError(f"invalid size {text!r}: {_SIZE_HINT}")
            size *= float(mul)  # float64 multiply, as go-units does

    # int64(size) truncates toward zero; out of range it is undefined in Go.
    if size >= 2.0**63:
        raise ValueError(f"invalid size {text!r}: too large (at most 8 EiB)")
    return int(size)


def format_gib(n_bytes: int) -> str:
    """Format a byte count as GiB with two decimals, e.g. ``"16.25 GiB"``.

    Negative counts are allowed (reports print deficits as ``"-0.50 GiB"``).
    """
    if isinstance(n_bytes, bool) or not isinstance(n_bytes, int):
        raise TypeError(f"invalid byte count {n_bytes!r}: expected an int")
    return f"{n_bytes / GIB:.2f} GiB"


# Largest unit first, so that equally short forms prefer the larger unit.
_FORMAT_UNITS: Final[tuple[tuple[str, int], ...]] = (
    ("P", PIB),
    ("T", TIB),
    ("G", GIB),
    ("M", MIB),
    ("K", KIB),
)


def format_mem(n_bytes: int) -> str:
    """Return the shortest Docker size string that :func:`parse_ram` reads back as ``n_bytes``.

    Candidates are the plain byte count (``"1000"``) and every unit form whose
    decimal mantissa is exact (``"1.5G"``, ``"768M"``, ``"2K"``); the shortest
    wins, ties going to the integer mantissa and then to the larger unit.  So
    ``1.5 GiB`` is ``"1.5G"``, ``768 MiB`` is ``"768M"``, ``450 MiB`` is
    ``"450M"`` and ``1000`` bytes stay ``"1000"``.

    Above 2**53 bytes Docker's own float64 parsing cannot represent every
    byte count; then the plain byte count is returned even if Docker would
    read it as a neighbouring value.
    """
    if isinstance(n_bytes, bool) or not isinstance(n_bytes, int):
        raise TypeError(f"invalid byte count {n_bytes!r}: expected an int")
    if n_bytes < 0:
        raise ValueError(f"invalid byte count {n_bytes}: must not be negative")
    if n_bytes > _INT64_MAX:
        raise ValueError(f"invalid byte count {n_bytes}: too large (at most 2**63 - 1)")

    best = str(n_bytes)
    # An exact quotient has no trailing zeros: 1.5 GiB is "1.5", 768 MiB is "768". One that needs
    # more than the context's 28 digits is rounded, but is then longer than the byte count (at
    # most 19 digits) anyway, so only exact forms can win.
    for form in (f"{Decimal(n_bytes) / mul:f}{suffix}" for suffix, mul in _FORMAT_UNITS):
        # Strictly shorter, or as long with a whole mantissa: the first of equals (the byte
        # count, then the larger unit) stays. Within int64 a unit form that wins is always
        # exact, but never return one Docker would read differently.
        if (len(form), "." in form) < (len(best), "." in best) and parse_ram(form) == n_bytes:
            best = form
    return best


# ---------------------------------------------------------------------------
# Durations: Go time.ParseDuration / Duration.String
# ---------------------------------------------------------------------------

_NS_PER: Final[dict[str, int]] = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # U+00B5 micro sign
    "\u03bcs": 1_000,  # U+03BC Greek small letter mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_HINT: Final = "expected a Go duration such as 30s, 1m30s, 1.5h or 500ms (units ns, us, ms, s, m, h)"
_ASCII_DIGITS: Final = frozenset("0123456789")


def _leading_digits(s: str) -> tuple[str, str]:
    i = 0
    while i < len(s) and s[i] in _ASCII_DIGITS:
        i += 1
    return s[:i], s[i:]


def _parse_duration_ns(value: str) -> int:
    """Go ``time.ParseDuration`` as integer nanoseconds; negatives rejected."""
    if not isinstance(value, str):
        raise TypeError(f"invalid duration {value!r}: {_DURATION_HINT}")
    orig = value
    s = value
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":  # special case: "0" (optionally signed) needs no unit
        return 0
    if not s:
        raise ValueError(f"invalid duration {orig!r}: {_DURATION_HINT}")
    total = 0
    while s:
        if not (s[0] == "." or s[0] in _ASCII_DIGITS):
            raise ValueError(f"invalid duration {orig!r}: {_DURATION_HINT}")
        int_part, s = _leading_digits(s)
        frac_part = ""
        if s.startswith("."):
            frac_part, s = _leading_digits(s[1:])
        if not int_part and not frac_part:  # no digits, e.g. ".s"
            raise ValueError(f"invalid duration {orig!r}: {_DURATION_HINT}")
        i = 0
        while i < len(s) and not (s[i] == "." or s[i] in _ASCII_DIGITS):
            i += 1
        unit_text, s = s[:i], s[i:]
        if not unit_text:
            raise ValueError(f"invalid duration {orig!r}: missing unit ({_DURATION_HINT})")
        unit = _NS_PER.get(unit_text)
        if unit is None:
            raise ValueError(f"invalid duration {orig!r}: unknown unit {unit_text!r} ({_DURATION_HINT})")
        whole = int(int_part) if int_part else 0
        if whole > (1 << 63) // unit:
            raise ValueError(f"invalid duration {orig!r}: too large")
        v = whole * unit
        if frac_part:
            # Go keeps at most the fraction digits that fit an int64 and then
            # computes uint64(float64(f) * (float64(unit) / scale)).
            f, scale = 0, 1.0
            for c in frac_part:
                nxt = f * 10 + int(c)
                if f > ((1 << 63) - 1) // 10 or nxt > 1 << 63:
                    break
                f, scale = nxt, scale * 10
            v += int(float(f) * (float(unit) / scale))
        total += v
        if v > 1 << 63 or total > 1 << 63:
            raise ValueError(f"invalid duration {orig!r}: too large")
    if neg and total != 0:
        raise ValueError(f"invalid duration {orig!r}: must not be negative")
    if total > _INT64_MAX:
        raise ValueError(f"invalid duration {orig!r}: too large")
    return total


def parse_duration(value: str) -> float:
    """Return the seconds Go's ``time.ParseDuration`` reads from ``value``.

    Units ``ns``, ``us`` (or ``µs``/``μs``), ``ms``, ``s``, ``m``, ``h``, in
    sequences such as ``"1m30s"`` and with fractions such as ``"1.5h"``;
    ``"0"`` alone needs no unit, any other bare number is an error ("missing
    unit"), as in Go.  Go accepts a leading sign; here a negative duration is
    an error (``"-0s"`` is zero and allowed).  The result is exact to the
    nanosecond Go computes, converted to the nearest float.
    """
    return _parse_duration_ns(value) / 1_000_000_000


def _fmt_frac(v: int, prec: int) -> tuple[str, int]:
    """Go ``fmtFrac``: ``.digits`` of ``v / 10**prec`` without trailing zeros."""
    digits = ""
    printed = False
    for _ in range(prec):
        digit = v % 10
        printed = printed or digit != 0
        if printed:
            digits = str(digit) + digits
        v //= 10
    return ("." + digits if printed else ""), v


def format_duration(seconds: float) -> str:
    """Format seconds the way Go's ``time.Duration.String`` does.

    ``10`` is ``"10s"``, ``90`` is ``"1m30s"``, ``3600`` is ``"1h0m0s"``,
    ``0.5`` is ``"500ms"``, ``0`` is ``"0s"``; sub-microsecond values use
    ``ns`` and sub-millisecond ones ``µs`` (U+00B5), which Go parses.  The
    value is first rounded to the nearest nanosecond.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"invalid duration {seconds!r}: expected seconds as a number")
    if not math.isfinite(seconds):
        raise ValueError(f"invalid duration {seconds!r}: must be finite")
    if seconds < 0:
        raise ValueError(f"invalid duration {seconds!r}: must not be negative")
    u = round(Fraction(seconds) * 1_000_000_000)
    if u > _INT64_MAX:
        raise ValueError(f"invalid duration {seconds!r}: too large")
    if u < 1_000_000_000:
        if u == 0:
            return "0s"
        if u < 1_000:
            return f"{u}ns"
        if u < 1_000_000:
            frac, whole = _fmt_frac(u, 3)
            return f"{whole}{frac}\u00b5s"
        frac, whole = _fmt_frac(u, 6)
        return f"{whole}{frac}ms"
    frac, whole = _fmt_frac(u, 9)
    out = f"{whole % 60}{frac}s"
    minutes = whole // 60
    if minutes > 0:
        out = f"{minutes % 60}m{out}"
        hours = minutes // 60
        if hours > 0:
            out = f"{hours}h{out}"
    return out


# ---------------------------------------------------------------------------
# CPUs: docker CLI NanoCPUs (--cpus)
# ---------------------------------------------------------------------------

_CPUS_RE: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NANO: Final = 1_000_000_000
_CPUS_HINT: Final = "expected a non-negative decimal number of CPUs such as 0.5 or 2"


def parse_cpus(value: str | float | Decimal) -> Decimal:
    """Return the CPU count Docker reads from a ``--cpus`` value, as an exact ``Decimal``.

    Docker stores ``--cpus`` as an int64 count of nano-CPUs, so the value must
    be a whole number of 1e-9 CPUs (at most 9 significant decimal places;
    ``"0.1000000000"`` is exact and accepted, ``"0.0000000001"`` is "too
    precise" as in Docker).  Negative values (which the daemon rejects), NaN,
    infinities and ``bool`` are errors.  Docker additionally accepts
    rationals like ``"1/2"``; this parser only reads decimals (with an
    optional exponent).  Floats are read through their shortest ``repr``
    (``0.1`` is exactly ``Decimal("0.1")``).

    The result is normalised: ``Decimal("2")``, ``Decimal("0.5")``.
    """
    if isinstance(value, bool):
        raise TypeError(f"invalid cpus {value!r}: {_CPUS_HINT}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"invalid cpus {value!r}: {_CPUS_HINT}")
        number = Decimal(repr(value))
    elif isinstance(value, str):
        if _CPUS_RE.fullmatch(value) is None:
            raise ValueError(f"invalid cpus {value!r}: {_CPUS_HINT}")
        try:
            number = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the regex admits only decimals
            raise ValueError(f"invalid cpus {value!r}: {_CPUS_HINT}") from None
    else:
        raise TypeError(f"invalid cpus {value!r}: {_CPUS_HINT}")

    if not number.is_finite():
        raise ValueError(f"invalid cpus {value!r}: {_CPUS_HINT}")
    if number < 0:
        raise ValueError(f"invalid cpus {value!r}: must not be negative")
    nano = Fraction(number) * _NANO
    if nano.denominator != 1:
        raise ValueError(f"invalid cpus {value!r}: too precise (at most 9 decimal places)")
    if nano.numerator > _INT64_MAX:
        raise ValueError(f"invalid cpus {value!r}: too large")
    return Decimal(nano.numerator) / _NANO


def _cpus_json(value: Decimal) -> str:
    return format(value, "f")


# ---------------------------------------------------------------------------
# pydantic v2 annotated types
# ---------------------------------------------------------------------------


def _validate_ram(value: object) -> int:
    try:
        return parse_ram(value)  # type: ignore[arg-type]
    except TypeError as exc:  # pydantic reports ValueError, not TypeError
        raise ValueError(str(exc)) from None


def _validate_duration(value: object) -> float:
    if isinstance(value, str):
        return parse_duration(value)
    try:
        # Seconds as a number: format_duration type-checks the value (bool,
        # NaN, inf and negatives are errors); the number itself is kept.
        format_duration(value)  # type: ignore[arg-type]
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    return float(value)  # type: ignore[arg-type]


def _validate_cpus(value: object) -> Decimal:
    try:
        return parse_cpus(value)  # type: ignore[arg-type]
    except TypeError as exc:
        raise ValueError(str(exc)) from None


MemoryBytes = Annotated[
    int,
    BeforeValidator(_validate_ram),
    Ge(0),
    WithJsonSchema(
        {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string"}]},
        mode="validation",
    ),
]
"""Bytes; accepts a byte count or a Docker size string (``"512M"``). JSON: an int of bytes."""

DurationSeconds = Annotated[
    float,
    BeforeValidator(_validate_duration),
    Ge(0),
    WithJsonSchema(
        {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string"}]},
        mode="validation",
    ),
]
"""Seconds; accepts a Go duration string (``"1m30s"``) or seconds. JSON: a float of seconds."""

Cpus = Annotated[
    Decimal,
    BeforeValidator(_validate_cpus),
    Ge(0),
    PlainSerializer(_cpus_json, return_type=str, when_used="json"),
    WithJsonSchema(
        {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string"}]},
        mode="validation",
    ),
]
"""CPUs as an exact Decimal; accepts ``"0.5"``, ``0.5`` or ``2``.

JSON: a plain decimal *string* (``"0.5"``, never ``"5E-1"``), so that sums and
round trips stay exact; :func:`parse_cpus` reads it back unchanged.
"""
