"""Reads a Pulumi stack file into the config map the Pulumi CLI hands a program.

The CLI passes `PULUMI_CONFIG` (full key -> string; objects and lists JSON-encoded) and
`PULUMI_CONFIG_SECRET_KEYS`. preflight has no CLI and no secrets provider, so each `secure:`
value becomes a placeholder string that is still listed as a secret key: the program treats
it exactly as it would a decrypted secret, and it never is a real one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class StackFileError(Exception):
    """The stack file cannot be read as YAML, or has a duplicate key."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice in one mapping, as the Pulumi CLI does."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        if key in seen:
            line = key_node.start_mark.line + 1
            raise StackFileError(f"line {line}: key {key!r} is given twice")
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# The CLI reads stack files with gopkg.in/yaml.v3, where only true/false (in three spellings)
# are booleans; PyYAML's YAML 1.1 also turns yes/no/on/off into booleans, which would let a
# `type: boolean` key set to `yes` pass here and fail `pulumi preview`.
_BOOL_TAG = "tag:yaml.org,2002:bool"
_UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_UniqueKeyLoader.add_implicit_resolver(  # type: ignore[no-untyped-call]
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass(frozen=True)
class StackFile:
    """A stack file as the CLI would pass it to the program."""

    path: Path
    config: dict[str, str]
    secret_keys: tuple[str, ...]
    values: Mapping[str, Any] = field(default_factory=dict)
    """Each key's value as the file holds it (`{"secure": ...}` kept), for the CLI's project rules."""


def placeholder(key: str) -> str:
    """The stand-in value preflight gives a `secure:` config value."""
    return f"preflight-secret-{key.replace(':', '-')}"


def read_stack_file(path: Path) -> StackFile:
    """Parse `path`; raises StackFileError naming the file and what is wrong."""
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506
    except FileNotFoundError:
        raise StackFileError(f"{path}: no such stack file") from None
    except (yaml.YAMLError, StackFileError) as exc:
        raise StackFileError(f"{path}: {exc}") from None
    if document is None:
        document = {}
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise StackFileError(f"{path}: expected a mapping with a `config:` mapping")
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in (document.get("config") or {}).items():
        if not isinstance(key, str) or ":" not in key:
            raise StackFileError(f"{path}: config key {key!r} must be namespaced, like ziggie-infra:{key}")
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[key] = placeholder(key)
            secret_keys.append(key)
        elif isinstance(value, str):
            config[key] = value
        else:
            config[key] = json.dumps(value)
    return StackFile(
        path=path, config=config, secret_keys=tuple(sorted(secret_keys)), values=dict(document.get("config") or {})
    )
