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
from config.models import SMTP_PASSWORD_KEY, Host, Problems, StackConfig

PROJECT = "ziggie-infra"
DEFAULT_SSH_KEY_SECRET: str = Host.model_fields["ssh_key_secret"].default

# Keys of this project's namespace whose value is an object or list (JSON on the wire).
STRUCTURED_KEYS = frozenset(
    {
        "hosts",
        "services",
        "include",
        "network",
        "logging",
        "features",
        "cloud",
        "alerts",
        "monitoring",
        "edge",
        "primary",
        "aws",
        "gcp",
        "budgets",
    }
)
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
    for detail in error.errors():
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
            # A rule's own message (no model here asserts) already says what it got.
            if kind != "value_error" and "input" in detail:
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
        if not isinstance(service, Mapping) or service.get("enabled") is False:
            continue
        secret_env = service.get("secretEnv")
        if isinstance(secret_env, Mapping):
            for variable, key in sorted(secret_env.items()):
                if isinstance(key, str):
                    refs.setdefault(key, (name, variable))
    return refs


# Valid stand-ins for the fields the rules across entries do not read.
_SERVICE_STUB: dict[str, Any] = {
    "tier": "monitoring",
    "memory": "6M",
    "cpus": "1",
    # A need on a stubbed service is judged by the service's own fields, reported on their own.
    "healthcheck": {"test": ["CMD", "true"], "interval": "30s", "timeout": "5s", "retries": 3},
}
_HOST_STUB: dict[str, Any] = {
    "memory": "2",
    "cpus": "2",
    "osReserveMemory": "1",
    "osReserveCpus": "1",
    "monthlyPriceUsd": "0",
}
_STUB_IMAGE = "stand-in.invalid/stub:stub"
_STUB_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def _cross_field_problems(raw: Mapping[str, Any], error: ValidationError) -> list[Problem]:
    """The problems of StackConfig's rules across entries, despite field errors elsewhere.

    pydantic runs a model's after-validator only once every field has validated, so a bad
    unit would hide a service placed on a missing host. This second pass validates a copy in
    which each host or service with a field error keeps only the values the rules read
    (placement, volumes, needs, whether an image is set) and takes valid stand-ins for the rest;
    only the problems of StackConfig's own rules are kept from it. When a key those rules read is
    itself invalid (environment, defaultHost, primary, the hosts mapping), the pass is skipped.
    """
    bad: dict[tuple[str, str], set[str]] = {}
    stripped: set[str] = set()
    for detail in error.errors():
        loc = tuple(detail["loc"])
        if loc[:1] in (("network",), ("logging",), ("features",), ("cloud",)):
            stripped.add(str(loc[0]))
        elif len(loc) >= 2 and loc[0] in ("hosts", "services"):
            fields = bad.setdefault((str(loc[0]), str(loc[1])), set())
            cause = (detail.get("ctx") or {}).get("error")
            if len(loc) >= 3:
                fields.add(str(loc[2]))
            elif isinstance(cause, Problems):
                fields.update(str(sub[0]) for sub, _ in cause.problems if sub)
            # Otherwise the entry's own value failed: a host that is not a mapping (a service
            # that is not one never reaches here, see _merge_services), stood in for below.
        else:
            return []
    copy = {key: value for key, value in raw.items() if key not in stripped}
    hosts = dict(copy["hosts"])  # a mapping: with any error at "hosts" itself the pass was skipped
    services = dict(copy["services"])
    for (section, name), fields in bad.items():
        entry = (hosts if section == "hosts" else services)[name]
        if section == "hosts":
            address = entry.get("dockerHost") if isinstance(entry, Mapping) else None
            if "dockerHost" in fields or not isinstance(address, str):
                address = f"unix:///stand-in/{name}"  # unique: no false duplicate
            pinned = {"hostKey": _STUB_HOST_KEY} if address.startswith("ssh://") else {}
            hosts[name] = {**_HOST_STUB, "dockerHost": address, **pinned}
        else:
            stub = dict(_SERVICE_STUB)
            # Where it runs is unknown: nothing of its placement can be checked, but it stays,
            # off, for the services that need it and for its own needs.
            unplaced = "host" in fields or "enabled" in fields
            for key in ("needs",) if unplaced else ("enabled", "host", "everyHost", "volumes", "needs"):
                if key in entry and key not in fields:
                    stub[key] = entry[key]
            if unplaced:
                stub["enabled"] = False
            elif entry.get("image") is not None:
                stub["image"] = _STUB_IMAGE  # the rules across entries read only whether it is set
            services[name] = stub
    copy["hosts"], copy["services"] = hosts, services
    try:
        StackConfig.model_validate(copy)
    except ValidationError as retry:
        # Only StackConfig's own rule reports at the root; anything else is a stand-in's.
        causes = [(d.get("ctx") or {}).get("error") for d in retry.errors() if d["loc"] == ()]
        return [
            Problem(key_path(sub), message) for c in causes if isinstance(c, Problems) for sub, message in c.problems
        ]
    return []


_LAST_LOADED: dict[tuple[Any, ...], StackConfig] = {}
"""The last config map validated and its StackConfig (frozen, so safe to hand out twice)."""


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

    The same map validated again (preflight validates it before the program runs, and the
    program loads it itself) is answered from the last result rather than validated twice.
    """
    key = (tuple(sorted(config.items())), tuple(sorted(secret_keys)), source, stack)
    if key in _LAST_LOADED:
        return _LAST_LOADED[key]
    parsed = _validate(config, secret_keys, source=source, stack=stack)
    _LAST_LOADED.clear()
    _LAST_LOADED[key] = parsed
    return parsed


def _validate(config: Mapping[str, str], secret_keys: Collection[str], *, source: str, stack: str) -> StackConfig:
    problems: list[Problem] = []
    raw: dict[str, Any] = {}
    others: list[str] = []
    for full_key, text in config.items():
        namespace, _, key = full_key.partition(":")
        if namespace != PROJECT:
            continue  # provider settings such as docker:host or aws:region
        if key in STRUCTURED_KEYS | STRING_KEYS and full_key in secret_keys:
            # Its value would reach validation messages; the stack's structure is not a secret.
            problems.append(Problem(key_path((key,)), "is set with --secret; set it as plain config"))
            continue
        if key in STRUCTURED_KEYS:
            try:
                raw[key] = json.loads(text)
            except json.JSONDecodeError as exc:
                # The CLI passes a plain YAML string as it is; only an object or list is JSON.
                if text.lstrip()[:1] in ("{", "["):
                    message = f"is not valid structured config: {exc.msg}"
                else:
                    message = "is a plain string; it must be a mapping or a list"
                problems.append(Problem(key_path((key,)), message))
        elif key in STRING_KEYS:
            raw[key] = text
        else:
            others.append(key)

    raw["services"] = _merge_services(raw, problems)
    raw.pop("include", None)
    secrets = _referenced_secrets(raw["services"])
    monitoring = raw.get("monitoring")
    alertmanager = raw["services"].get("alertmanager")
    if (
        isinstance(monitoring, Mapping)
        and isinstance(monitoring.get("smtp"), Mapping)
        and isinstance(alertmanager, Mapping)
        and alertmanager.get("enabled", True) is not False
    ):
        # Alertmanager reads it from an uploaded file that stays a Pulumi secret.
        secrets.setdefault(SMTP_PASSWORD_KEY, ("monitoring", "smtp"))
    primary = raw.get("primary")
    if isinstance(primary, Mapping) and primary.get("secretsFromReplicas") is True:
        # A standby reads these from the primary's DR-region replicas, not from its own config.
        secrets = {}
    aws = raw.get("aws")
    replicated = aws.get("replicatedSecrets") if isinstance(aws, Mapping) else None
    if isinstance(replicated, list):
        for i, key in enumerate(replicated):
            if isinstance(key, str):
                secrets.setdefault(key, ("aws", f"replicatedSecrets[{i}]"))
    hosts = raw.get("hosts")
    if isinstance(hosts, Mapping):
        # Each ssh:// host is bootstrapped over SSH with the key its sshKeySecret names.
        for host_name, host in sorted(hosts.items()):
            if isinstance(host, Mapping) and str(host.get("dockerHost", "")).startswith("ssh://"):
                key = host.get("sshKeySecret", DEFAULT_SSH_KEY_SECRET)
                if isinstance(key, str):
                    secrets.setdefault(key, ("hosts", f"{host_name}.sshKeySecret"))
    all_secret_refs = _referenced_secrets(
        {n: {**s, "enabled": True} for n, s in raw["services"].items() if isinstance(s, Mapping)}
    )
    from_replicas = isinstance(primary, Mapping) and primary.get("secretsFromReplicas") is True
    for key in sorted(others):
        if key in secrets:
            continue
        if key == SMTP_PASSWORD_KEY and not from_replicas:
            problems.append(
                Problem(key_path((key,)), "is not read: it needs alertmanager enabled and monitoring.smtp set")
            )
        elif from_replicas and (key in all_secret_refs or key == SMTP_PASSWORD_KEY):
            problems.append(
                Problem(
                    key_path((key,)), "is not read: primary.secretsFromReplicas reads it from the primary's replicas"
                )
            )
        elif key in all_secret_refs:
            service = all_secret_refs[key][0]
            problems.append(Problem(key_path((key,)), f"is not read by any enabled service ({service} is disabled)"))
        else:
            problems.append(Problem(key_path((key,)), "unknown key"))

    parsed: StackConfig | None = None
    try:
        parsed = StackConfig.model_validate(raw)
    except ValidationError as exc:
        problems += _pydantic_problems(exc)
        problems += _cross_field_problems(raw, exc)

    for key, (owner, variable) in secrets.items():
        full_key = f"{PROJECT}:{key}"
        where = (
            key_path((owner,)) + "." + variable
            if owner in ("aws", "monitoring", "hosts")
            else key_path(("services", owner, "secretEnv", variable))
        )
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
