"""secrets-not-plaintext: an environment entry that looks secret arrives as a Pulumi secret.

A ``"NAME=value"`` entry of a container's ``envs`` whose NAME, split on ``_``, has a secret
token (PASSWORD, TOKEN, KEY, ...) must be a Pulumi secret: the program sends each such entry
as its own secret element of the list, and a whole-list secret counts too. ``NAME_FILE=/path``
(the Docker-secrets convention) carries a file path, not the secret, and passes.

Where secrecy is visible (read from pulumi_policy 1.21.0 ``policy.py``/``deserialize.py``/
``secret.py``): the engine sends secrets wrapped (``MarshalOptions{KeepSecrets: true}``), but
the SDK's ``Analyze`` deserializes with ``proxy_secrets=False``, which replaces each secret by
its bare value - a validator sees ``"POSTGRES_PASSWORD=..."`` exactly like a literal. Only
``Remediate`` deserializes with ``proxy_secrets=True``: there a secret list element is a
``Secret`` inside a ``_ListSecretsProxy`` (which unwraps on item access, so the raw list is read
through ``["__target"]``) and a whole-list secret is a ``Secret`` holding the list.

So this policy runs at enforcement level ``remediate``. The engine calls ``Remediate`` and then
``Analyze`` for every resource, in that order (step_generator.go: "first we perform
remediations, and *then* we do analysis"); the remediation reads the markers and rewrites
nothing, the validation reports what it found, and the SDK reports a remediate-level violation
as mandatory. If the remediation pass did not run (the level was changed in config, or a caller
skipped it), every secret-looking entry is reported as unchecked: the policy fails closed.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
)
from pulumi_policy.proxy import UnknownValueError

from ziggie_policies._support import (
    CONTAINER,
    container_name,
    elements,
    is_unknown,
    prop,
    read_config,
)

NAME: Final = "secrets-not-plaintext"
DEFAULT_SECRET_TOKENS: Final = (
    "PASSWORD",
    "PASSWD",
    "PASS",
    "SECRET",
    "TOKEN",
    "KEY",
    "APIKEY",
    "CREDENTIALS",
    "PRIVATE",
)
# The wire form of a secret, as records and the engine write it.
_SIG_KEY: Final = "4dabf18193072939515e22adb298388d"
_SECRET_SIG: Final = "1b47061264138c4ac30d75fd1eb44270"

CONFIG_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "secretTokens": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[A-Z0-9]+$"},
            "uniqueItems": True,
            "default": list(DEFAULT_SECRET_TOKENS),
            "description": "Upper-case tokens of a variable name (split on _) that mark it as secret.",
        },
    }
)


def _is_secret(value: Any) -> bool:
    return isinstance(value, Secret) or (isinstance(value, Mapping) and value.get(_SIG_KEY) == _SECRET_SIG)


def secret_looking(entry: str, tokens: frozenset[str]) -> str | None:
    """The NAME of a ``NAME=value`` entry that looks secret, else None."""
    name, sep, value = entry.partition("=")
    # "NAME" alone passes the daemon's own variable through: no value travels with it.
    if not sep:
        return None
    parts = name.upper().split("_")
    if parts[-1] == "FILE" and value.startswith("/"):
        return None
    return name if tokens.intersection(parts) else None


def plaintext_secret_names(raw_envs: Any, tokens: frozenset[str]) -> list[str]:
    """The secret-looking entries of ``envs`` that are not secrets.

    ``raw_envs`` is the list as the SDK's secret-preserving view holds it (a secret element is a
    ``Secret``; a whole-list secret is a ``Secret`` of the list), or in wire form.
    """
    if raw_envs is None or _is_secret(raw_envs):
        return []
    if not isinstance(raw_envs, list):
        return []
    found: list[str] = []
    for entry in raw_envs:
        if _is_secret(entry) or is_unknown(entry) or not isinstance(entry, str):
            continue
        name = secret_looking(entry, tokens)
        if name is not None:
            found.append(name)
    return found


def _raw(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """The props with their Secret markers: the SDK's secret-preserving proxy unwraps on access."""
    try:
        target = props["__target"]
    except (KeyError, UnknownValueError):
        return props
    return target if isinstance(target, Mapping) else props


_inspected: dict[str, tuple[str, ...]] = {}
_inspected_lock = threading.Lock()


def _tokens(args: ResourceValidationArgs) -> frozenset[str]:
    return frozenset(read_config(NAME, CONFIG_SCHEMA, args.get_config())["secretTokens"])


def _remediate(args: ResourceValidationArgs) -> None:
    if args.resource_type != CONTAINER:
        return
    found = plaintext_secret_names(_raw(args.props).get("envs"), _tokens(args))
    with _inspected_lock:
        _inspected[args.urn] = tuple(found)
    # Nothing is rewritten: a value that was plain text in the program has already been in
    # plain text wherever the program got it from, so quietly wrapping it would hide that.
    return


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    tokens = _tokens(args)
    with _inspected_lock:
        inspected = _inspected.pop(args.urn, None)
    who = f"container {container_name(args.props, args.name)}"
    if inspected is not None:
        for name in inspected:
            report_violation(f"{who}: envs entry {name} is plain text; pass it as a Pulumi secret", None)
        return
    # Analyze shows secrets unwrapped: without the remediation pass every candidate is unproven.
    for entry in elements(prop(args.props, "envs")):
        candidate = secret_looking(entry, tokens) if isinstance(entry, str) and not is_unknown(entry) else None
        if candidate is not None:
            report_violation(
                f"{who}: envs entry {candidate} could not be checked: secret markers reach this policy "
                'only in the remediation pass (enforcement level "remediate")',
                None,
            )


policy: Final = ResourceValidationPolicy(
    name=NAME,
    description="Requires every container environment entry whose name looks secret to arrive as "
    "a Pulumi secret, not plain text.",
    validate=_validate,
    remediate=_remediate,
    # See the module docstring: the only pass that shows secret markers is the remediation;
    # the SDK reports this policy's violations as mandatory.
    enforcement_level=EnforcementLevel.REMEDIATE,
    config_schema=CONFIG_SCHEMA,
)
