"""Turns a stack's Pulumi config map into one validated `StackConfig`, or one clear error.

The input is the map the Pulumi CLI hands a program (`PULUMI_CONFIG`: full key -> string,
objects JSON-encoded) plus the list of keys that were set with `--secret`. Nothing here
registers a resource or reads a secret's value: a secret is only checked to be present and
encrypted, and the program reads it later as a Pulumi secret.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from config.catalog import DEFAULT_CATALOG
from config.models import Problems, StackConfig

PROJECT = "ziggie-infra"

# Keys of this project's namespace whose value is an object or list (JSON on the wire).
STRUCTURED_KEYS = frozenset({"hosts", "services", "include", "network", "logging", "features", "cloud", "primary"})
# Keys whose value is a plain string.
STRING_KEYS = frozenset({"environment", "defaultHost"})


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a stack file, at one key path."""

    path: str
    message: str


class ConfigError(Exception):
    """The stack configuration is invalid; carries every problem found, none raised alone."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = sorted(problems, key=lambda p: (p.path, p.message))
        count = len(self.problems)
        lines = [f"{source}: {count} problem{'s' if count != 1 else ''} in the stack configuration:"]
        lines += [f"  {source}: {p.path}: {p.message}" for p in self.problems]
        super().__init__("\n".join(lines))


def key_path(loc: tuple[str | int, ...]) -> str:
    """Render a key path the way a stack file reads: `ziggie-infra:services.redis.ulimits[0]`."""
    text = f"{PROJECT}:"
    for i, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += part if i == 0 else f".{part}"
    return text


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge a stack's override into a catalog entry: mappings merge, anything else replaces.

    An explicit null removes the key, so a stack can return a field to its default
    (`healthcheck: null`).
    """
    merged: dict[str, Any] = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _pydantic_problems(error: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[Problem]:
    problems: list[Problem] = []
    for detail in error.errors(include_url=False):
        loc = prefix + tuple(detail["loc"])
        cause = (detail.get("ctx") or {}).get("error")
        if isinstance(cause, Problems):
            problems += [Problem(key_path(loc + sub), message) for sub, message in cause.problems]
            continue
        kind = detail["type"]
        if kind == "extra_forbidden":
            message = "unknown key"
        elif kind == "missing":
            message = "is required"
        else:
            message = detail["msg"].removeprefix("Value error, ")
            if kind not in ("value_error", "assertion_error") and "input" in detail:
                message += f" (got {json.dumps(detail['input'], default=str)})"
        problems.append(Problem(key_path(loc), message))
    return problems


def _merge_services(raw: dict[str, Any], problems: list[Problem]) -> dict[str, Any]:
    overrides = raw.get("services", {})
    if not isinstance(overrides, Mapping):
        problems.append(Problem(key_path(("services",)), "must be a mapping of service name to settings"))
        overrides = {}
    include = raw.get("include")
    if include is not None and not (isinstance(include, list) and all(isinstance(i, str) for i in include)):
        problems.append(Problem(key_path(("include",)), "must be a list of catalog service names"))
        include = None
    if include is not None:
        for i, name in enumerate(include):
            if name not in DEFAULT_CATALOG:
                problems.append(Problem(key_path(("include", i)), f"{name!r} is not a catalog service"))
    services: dict[str, Any] = {}
    for name, entry in DEFAULT_CATALOG.items():
        services[name] = dict(entry)
        if include is not None and name not in include:
            services[name]["enabled"] = False
    for name, override in overrides.items():
        if not isinstance(override, Mapping):
            problems.append(Problem(key_path(("services", name)), "must be a mapping of settings"))
            continue
        services[name] = deep_merge(services.get(name, {}), override)
    return services


def _referenced_secrets(services: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Config key -> (service, variable) for each secret an enabled service reads."""
    refs: dict[str, tuple[str, str]] = {}
    for name, service in sorted(services.items()):
        if not isinstance(service, Mapping) or service.get("enabled", True) is False:
            continue
        secret_env = service.get("secretEnv", {})
        if isinstance(secret_env, Mapping):
            for variable, key in sorted(secret_env.items()):
                if isinstance(key, str):
                    refs.setdefault(key, (name, variable))
    return refs


def load_stack_config(
    config: Mapping[str, str],
    secret_keys: Collection[str],
    *,
    source: str,
    stack: str,
) -> StackConfig:
    """Validate a stack's config map into a `StackConfig`.

    `config` is the CLI's map (`"ziggie-infra:hosts"` -> JSON text), `secret_keys` the keys set
    with `--secret`, `source` the stack file named in errors and `stack` the stack name used
    in the fix-it hints. Raises `ConfigError` listing every problem.
    """
    problems: list[Problem] = []
    raw: dict[str, Any] = {}
    others: list[str] = []
    for full_key, text in config.items():
        namespace, _, key = full_key.partition(":")
        if namespace != PROJECT:
            continue  # provider settings such as docker:host or aws:region
        if key in STRUCTURED_KEYS:
            try:
                raw[key] = json.loads(text)
            except json.JSONDecodeError as exc:
                problems.append(Problem(key_path((key,)), f"is not valid structured config: {exc.msg}"))
        elif key in STRING_KEYS:
            raw[key] = text
        else:
            others.append(key)

    raw["services"] = _merge_services(raw, problems)
    raw.pop("include", None)
    secrets = _referenced_secrets(raw["services"])
    for key in sorted(others):
        if key not in secrets:
            problems.append(Problem(key_path((key,)), "unknown key"))

    parsed: StackConfig | None = None
    try:
        parsed = StackConfig.model_validate(raw)
    except ValidationError as exc:
        problems += _pydantic_problems(exc)

    for key, (service, variable) in secrets.items():
        full_key = f"{PROJECT}:{key}"
        where = key_path(("services", service, "secretEnv", variable))
        if full_key not in config:
            problems.append(
                Problem(where, f"secret {full_key} is not set: run `pulumi config set --secret {key} -s {stack}`")
            )
        elif full_key not in secret_keys:
            problems.append(
                Problem(where, f"{full_key} is stored in plain text: set it again with `pulumi config set --secret`")
            )

    if problems or parsed is None:
        raise ConfigError(source, problems)
    return parsed
