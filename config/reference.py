"""The stack configuration reference, generated from the pydantic models' field descriptions.

The field descriptions in config/models.py are the per-field documentation; the README's
reference is this module's output, so the two cannot drift:

    python -m config.reference                  # print the reference
    python -m config.reference --check README.md  # exit 1 if README's block differs
    python -m config.reference --write README.md  # rewrite README's block in place

The block is the text between `<!-- config-reference:start -->` and
`<!-- config-reference:end -->`.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
from collections.abc import Sequence
from decimal import Decimal
from ipaddress import IPv4Address, IPv4Network, IPv6Address
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from config.images import ImageReference
from config.models import StackConfig
from config.units import Cpus, DurationSeconds, MemoryBytes, format_duration, format_mem

START = "<!-- config-reference:start -->"
END = "<!-- config-reference:end -->"

# The value types with their own syntax, named as a stack file's reader knows them.
_NAMED_TYPES: tuple[tuple[object, str], ...] = (
    (MemoryBytes, "size (`512M`, `1.5G`)"),
    (DurationSeconds, "duration (`30s`, `1m30s`)"),
    (Cpus, "vCPUs (`0.5`)"),
    (ImageReference, "image reference"),
)
_PLAIN_TYPES: dict[object, str] = {
    str: "string",
    int: "integer",
    bool: "boolean",
    float: "number",
    Decimal: "decimal",
    IPv4Address: "IPv4 address",
    IPv4Network: "IPv4 network",
    IPv6Address: "IPv6 address",
}


def _anchor(model: type[BaseModel]) -> str:
    return model.__name__.lower()


def _type_text(hint: Any) -> str:
    """A field's type in words: `map of string to [Host](#host)`, `size (...) or unset`."""
    for alias, text in _NAMED_TYPES:
        if hint == alias:
            return text
    origin = get_origin(hint)
    args = get_args(hint)
    if origin is Annotated:
        return _type_text(args[0])
    if origin in (Union, types.UnionType):
        kinds = [_type_text(a) for a in args if a is not type(None)]
        text = " or ".join(kinds)
        return f"{text} or unset" if type(None) in args else text
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin is dict:
        return f"map of {_type_text(args[0])} to {_type_text(args[1])}"
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return f"list of {_type_text(args[0])}"
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return f"[{hint.__name__}](#{_anchor(hint)})"
    if hint in _PLAIN_TYPES:
        return _PLAIN_TYPES[hint]
    raise TypeError(f"config.reference cannot name the type {hint!r}; add it to _PLAIN_TYPES")


def _default_text(field: FieldInfo, hint: Any) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return f"each key's default, see [{type(value).__name__}](#{_anchor(type(value))})"
    else:
        value = field.default
    if value is None or value is PydanticUndefined:
        return "unset"
    if hint == DurationSeconds:
        return f"`{format_duration(value)}`"
    if hint == MemoryBytes:
        return f"`{format_mem(value)}`"
    dumped = TypeAdapter(hint).dump_python(value, mode="json")
    return f"`{dumped}`" if isinstance(dumped, str) else f"`{json.dumps(dumped)}`"


def _cell(text: str) -> str:
    """One table cell: one line, pipes escaped, `<` and `>` outside code spans as entities."""
    parts = " ".join(text.split()).replace("|", "\\|").split("`")
    for i in range(0, len(parts), 2):  # even parts lie outside code spans
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    """`root` and every model reachable through its fields, depth first, each once."""
    found: list[type[BaseModel]] = []

    def walk(hint: Any) -> None:
        if isinstance(hint, type) and issubclass(hint, BaseModel):
            if hint in found:
                return
            found.append(hint)
            for sub in get_type_hints(hint, include_extras=True).values():
                walk(sub)
        for arg in get_args(hint):
            walk(arg)

    walk(root)
    return found


def _section(model: type[BaseModel]) -> list[str]:
    hints = get_type_hints(model, include_extras=True)
    intent = (model.__doc__ or "").strip().splitlines()[0]
    lines = [f"### {model.__name__}", "", intent, "", "| key | type | default | description |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        key = field.alias or name
        row = (f"`{key}`", _type_text(hints[name]), _default_text(field, hints[name]), field.description or "")
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    return lines


def render_reference() -> str:
    """The Markdown reference of StackConfig and every model nested in it, ending in a newline."""
    lines = [
        "<!-- Generated by `python -m config.reference` from the field descriptions in",
        "     config/models.py; edit those, then run `python -m config.reference --write README.md`. -->",
        "",
        "Each top-level key is set as `ziggie-infra:<key>` in `Pulumi.<stack>.yaml`; a service",
        "entry is merged over the default catalog entry of the same name.",
    ]
    for model in _models(StackConfig):
        lines += ["", *_section(model)]
    return "\n".join(lines) + "\n"


def _split(text: str, path: Path) -> tuple[str, str, str]:
    """(before and START, the block, END and after); ValueError when the markers are missing."""
    start, end = text.find(START), text.find(END)
    if start == -1 or end < start:  # no END after START: none at all is -1
        raise ValueError(f"{path}: no {START} ... {END} block")
    head = start + len(START)
    return text[:head], text[head:end], text[end:]


def _block() -> str:
    return "\n" + render_reference()


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m config.reference", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", metavar="FILE", type=Path, help="exit 1 if FILE's reference block is stale")
    mode.add_argument("--write", metavar="FILE", type=Path, help="rewrite FILE's reference block in place")
    args = parser.parse_args(argv)
    path: Path | None = args.check or args.write
    if path is None:
        sys.stdout.write(render_reference())
        return 0
    try:
        head, block, tail = _split(path.read_text(encoding="utf-8"), path)
    except (OSError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.check:
        if block != _block():
            print(
                f"{path}: the configuration reference is out of date; "
                "run `python -m config.reference --write " + str(path) + "`",
                file=sys.stderr,
            )
            return 1
        return 0
    path.write_text(head + _block() + tail, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
