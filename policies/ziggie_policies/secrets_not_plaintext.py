"""secrets-not-plaintext: what looks secret in a container arrives as a Pulumi secret.

Three places of a container are read: ``envs``, ``command`` and ``labels``. Something looks
secret when
- its name does: a ``NAME=value`` env entry, a label, or a ``--flag=value`` / ``--flag value``
  word of the command whose name, split on ``_``, ``-`` and ``.``, has a whole secret token
  (PASSWORD, PWD, SECRET, TOKEN, KEY, PAT, CREDENTIAL, AUTH, ...) or a part that ends in one of
  the secret suffixes (``PGPASSWORD``, ``DBPASSWORD``, ``SESSIONSECRET``). A suffix is only a
  token that cannot end an ordinary word: ``MONKEY``, ``BYPASS`` and ``OAUTH`` stay ordinary.
  A name whose last part says it holds no secret (``..._AUTH_METHOD``, ``..._KEY_ID``,
  ``..._TOKEN_URL``) passes, as does ``NAME_FILE=/path`` (the Docker-secrets convention: a path);
- or its value does, whatever the name: credentials inside a URL (``scheme://user:pass@``),
  an HTTP ``Bearer`` or ``Basic`` credential (RFC 7235 schemes, matched case-insensitively).

A value that is only a shell variable reference (``"$REDIS_PASSWORD"``) carries no secret: the
program passes the secret through the environment and the command names it.

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

import base64
import binascii
import functools
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any, Final, NamedTuple

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
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
    "PWD",
    "SECRET",
    "TOKEN",
    "KEY",
    "APIKEY",
    "PAT",
    "CREDENTIAL",
    "CREDENTIALS",
    "AUTH",
    "PRIVATE",
    # redis-server's password flags.
    "REQUIREPASS",
    "MASTERAUTH",
)
DEFAULT_SECRET_SUFFIXES: Final = ("PASSWORD", "PASSWD", "PWD", "SECRET", "TOKEN", "APIKEY", "CREDENTIAL", "CREDENTIALS")
DEFAULT_NOT_SECRET_LAST_PARTS: Final = (
    "METHOD",
    "TYPE",
    "MODE",
    "ENABLED",
    "HOST",
    "PORT",
    "URL",
    "URI",
    "USER",
    "USERNAME",
    "ID",
)

_NAME_SEPARATORS: Final = re.compile(r"[_.\-]+")
_VARIABLE_REFERENCE: Final = re.compile(r"^\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)$")
# RFC 3986 scheme, then userinfo "user:password@" before the host; the user may be empty
# (redis://:password@redis).
_URL_CREDENTIALS: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s/?#@:]*:([^\s/?#@]+)@")
# RFC 7235 section 2.1: "auth-scheme = token" compared case-insensitively, then a token68.
_AUTH_CREDENTIAL: Final = re.compile(r"\b(bearer|basic)\s+([A-Za-z0-9._~+/\-]+=*)", re.IGNORECASE)
_BEARER_MIN_LENGTH: Final = 16
_QUOTES: Final = "\"'"

CONFIG_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "secretTokens": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[A-Z0-9]+$"},
            "uniqueItems": True,
            "default": list(DEFAULT_SECRET_TOKENS),
            "description": "Upper-case tokens that mark a name as secret when one is a whole part of it "
            "(split on _, - and .).",
        },
        "secretSuffixes": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[A-Z0-9]+$"},
            "uniqueItems": True,
            "default": list(DEFAULT_SECRET_SUFFIXES),
            "description": "Upper-case tokens that mark a name as secret when a part ends in one "
            "(PGPASSWORD, SESSIONSECRET).",
        },
        "notSecretLastParts": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[A-Z0-9]+$"},
            "uniqueItems": True,
            "default": list(DEFAULT_NOT_SECRET_LAST_PARTS),
            "description": "Upper-case last parts of a name that say it holds no secret (AUTH_METHOD, KEY_ID).",
        },
    }
)


class Rules(NamedTuple):
    """What makes a name look secret, from the policy config."""

    tokens: frozenset[str]
    suffixes: tuple[str, ...]
    not_secret_last: frozenset[str]


class Finding(NamedTuple):
    """One plain-text secret: where it is and what about it looks secret."""

    subject: str
    problem: str


def _parts(name: str) -> list[str]:
    return [part for part in _NAME_SEPARATORS.split(name.upper()) if part]


def _part_is_secret(part: str, rules: Rules) -> bool:
    return part in rules.tokens or any(part.endswith(suffix) for suffix in rules.suffixes)


def name_looks_secret(name: str, rules: Rules) -> bool:
    """True when a name (env variable, label, flag) says its value is a secret."""
    parts = _parts(name)
    if not parts or parts[-1] in rules.not_secret_last:
        return False
    return any(_part_is_secret(part, rules) for part in parts)


def value_problem(value: str) -> str | None:
    """What in a value itself is a credential, whatever its name, else None."""
    for match in _URL_CREDENTIALS.finditer(value):
        if not _VARIABLE_REFERENCE.match(match.group(1)):
            return "has credentials in a URL"
    for match in _AUTH_CREDENTIAL.finditer(value):
        scheme, credential = match.group(1).capitalize(), match.group(2)
        if scheme == "Basic" and _is_basic_credential(credential):
            return "has a Basic credential"
        if scheme == "Bearer" and len(credential) >= _BEARER_MIN_LENGTH and not credential.isalpha():
            # "Bearer authentication" is prose; a bearer token is long and not one word.
            return "has a Bearer credential"
    return None


def _is_basic_credential(credential: str) -> bool:
    """RFC 7617: base64 of "user-id:password"."""
    try:
        decoded = base64.b64decode(credential, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    return ":" in decoded


def _carries_value(value: str) -> bool:
    value = value.strip(_QUOTES)
    return bool(value) and not _VARIABLE_REFERENCE.match(value)


def secret_looking(entry: str, rules: Rules) -> str | None:
    """Why a ``NAME=value`` entry looks secret (its NAME or its value), else None."""
    name, sep, value = entry.partition("=")
    # "NAME" alone passes the daemon's own variable through: no value travels with it.
    if not sep:
        return None
    problem = value_problem(value)
    if problem is not None:
        return problem
    if _parts(name)[-1:] == ["FILE"] and value.startswith("/"):
        return None
    return "is plain text" if name_looks_secret(name, rules) and _carries_value(value) else None


def env_findings(envs: Any, rules: Rules) -> list[Finding]:
    found: list[Finding] = []
    # A secret entry arrives as a Secret and a whole-list secret as a Secret holding the list,
    # neither a string nor a list; an unknown one as UNKNOWN: only plain text is read.
    for entry in elements(envs):
        problem = secret_looking(entry, rules) if isinstance(entry, str) else None
        if problem is not None:
            found.append(Finding(f"envs entry {entry.partition('=')[0]}", problem))
    return found


def command_findings(command: Any, rules: Rules) -> list[Finding]:
    """Secrets in the command: a value after a secret-named flag, a NAME=value, a credential."""
    found: list[Finding] = []
    words: list[tuple[int, str]] = []
    for index, element in enumerate(elements(command)):
        if not isinstance(element, str):
            words.append((index, ""))  # a secret or unknown element is a value that is not plain
            continue
        words.extend((index, word.strip(_QUOTES)) for word in element.split())
    for position, (index, word) in enumerate(words):
        subject = f"command element {index}"
        problem = value_problem(word)
        if problem is None and "=" in word:
            name, _, value = word.partition("=")
            if name_looks_secret(name, rules) and _carries_value(value):
                subject, problem = f"{subject} ({name})", "is plain text"
        elif problem is None and word.startswith("-") and position + 1 < len(words):
            parts = _parts(word)
            value = words[position + 1][1]
            # Only a flag whose last part is secret takes the next word as its secret value:
            # --requirepass x, --password x; not --no-auth-warning.
            if parts and _part_is_secret(parts[-1], rules) and not value.startswith("-") and _carries_value(value):
                subject, problem = f"command element {words[position + 1][0]} (the value of {word})", "is plain text"
        if problem is not None:
            found.append(Finding(subject, problem))
    return found


def label_findings(labels: Any, rules: Rules) -> list[Finding]:
    found: list[Finding] = []
    for entry in elements(labels):
        if not isinstance(entry, Mapping):
            continue
        name, value = prop(entry, "label"), _raw(entry).get("value")
        if not isinstance(name, str) or not isinstance(value, str) or is_unknown(value):
            continue
        problem = value_problem(value)
        if problem is None and name_looks_secret(name, rules) and _carries_value(value):
            problem = "is plain text"
        if problem is not None:
            found.append(Finding(f"label {name}", problem))
    return found


def findings(read: Callable[[str], Any], rules: Rules) -> list[Finding]:
    """Every plain-text secret of a container whose props ``read`` gives (None for an absent key)."""
    return (
        env_findings(read("envs"), rules)
        + command_findings(read("command"), rules)
        + label_findings(read("labels"), rules)
    )


def _raw(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """The props with their Secret markers: the SDK's secret-preserving proxy unwraps on access."""
    try:
        target = props["__target"]
    except (KeyError, UnknownValueError):
        return props
    return target if isinstance(target, Mapping) else props


_inspected: dict[str, tuple[Finding, ...]] = {}
_inspected_lock = threading.Lock()


def _rules(args: ResourceValidationArgs) -> Rules:
    config = read_config(NAME, CONFIG_SCHEMA, args.get_config())
    return Rules(
        frozenset(config["secretTokens"]), tuple(config["secretSuffixes"]), frozenset(config["notSecretLastParts"])
    )


def _remediate(args: ResourceValidationArgs) -> None:
    if args.resource_type != CONTAINER:
        return
    found = findings(_raw(args.props).get, _rules(args))
    with _inspected_lock:
        _inspected[args.urn] = tuple(found)
    # Nothing is rewritten: a value that was plain text in the program has already been in
    # plain text wherever the program got it from, so quietly wrapping it would hide that.
    return


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    rules = _rules(args)
    with _inspected_lock:
        inspected = _inspected.pop(args.urn, None)
    who = f"container {container_name(args.props, args.name)}"
    if inspected is not None:
        for finding in inspected:
            report_violation(f"{who}: {finding.subject} {finding.problem}; pass it as a Pulumi secret", None)
        return
    # Analyze shows secrets unwrapped: without the remediation pass every candidate is unproven.
    for finding in findings(functools.partial(prop, args.props), rules):
        report_violation(
            f"{who}: {finding.subject} could not be checked: secret markers reach this policy "
            'only in the remediation pass (enforcement level "remediate")',
            None,
        )


policy: Final = ResourceValidationPolicy(
    name=NAME,
    description="Requires every container environment entry, command word and label that looks "
    "secret to arrive as a Pulumi secret, not plain text.",
    validate=_validate,
    remediate=_remediate,
    # See the module docstring: the only pass that shows secret markers is the remediation;
    # the SDK reports this policy's violations as mandatory.
    enforcement_level=EnforcementLevel.REMEDIATE,
    config_schema=CONFIG_SCHEMA,
)
