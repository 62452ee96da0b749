"""Reads a Pulumi stack file into the config map the Pulumi CLI hands a program.

The CLI passes `PULUMI_CONFIG` (full key -> string; objects and lists JSON-encoded) and
`PULUMI_CONFIG_SECRET_KEYS`. preflight has no CLI and no secrets provider, so each `secure:`
value becomes a placeholder string that is still listed as a secret key: the program treats
it exactly as it would a decrypted secret, and it never is a real one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preflight.documents import DocumentError, load_yaml


class StackFileError(Exception):
    """The stack file cannot be read, or holds what config cannot mean (preflight/documents.py)."""


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
        # As the CLI reads it (yaml.v3's booleans), with duplicate keys refused as the CLI does.
        document = load_yaml(path)
    except DocumentError as exc:
        raise StackFileError(str(exc)) from None
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
