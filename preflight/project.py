"""The project config rules the Pulumi CLI applies to a stack before it runs the program.

`pulumi preview` loads Pulumi.yaml, then merges each stack's config with the project's
`config:` declarations and validates the result before any program starts. A stack it refuses
there must fail preflight too, with the CLI's own reason. Every rule below is read from
pulumi/pulumi and cites the file and function it mirrors:

* Loading Pulumi.yaml (`sdk/go/common/workspace/loaders.go`, `LoadProjectBytes`): the JSON
  schema (`sdk/go/common/workspace/project.json`, `configTypeDeclaration`), then the shorthand
  rewrite (`project.go`, `RewriteShorthandConfigValues`), then `project.go`, `Project.Validate`.
* Merging and validating a stack (`pkg/workspace/config.go`, `mergeConfig`,
  `validateStackConfigValues`, `validateStackConfigValue`; type checks in
  `sdk/go/common/workspace/project.go`, `ValidateConfigValue`). `pulumi preview` calls them
  through `ValidateStackConfigAndApplyProjectConfig` and prefixes the error with
  "validating stack config: " (`pkg/cmd/pulumi/operations/preview.go`).

What that means for a project's keys:

* A key of the project's namespace declared with neither `default` nor `value` is required on
  every stack; all missing ones are reported in one "Stack 'S' is missing configuration
  value(s) ..." error.
* A declared `default` (or `value`) is merged into a stack that does not set the key, and the
  program receives it like any other config value.
* `type` and `secret` are checked only on typed keys: `secret: true` without a `type` does
  nothing. A typed secret key must be set encrypted on every stack: a `default` is merged in
  plain text, and then fails "must be encrypted as it's secret".
* A key of another namespace (`aws:region`) may carry only a `value`.
* A stack may set keys the project does not declare: the CLI accepts them.

The CLI decrypts every `secure:` value before these checks; preflight has no secrets provider
and treats a `secure:` value as an encrypted string, whatever its text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from preflight.documents import DocumentError, load_yaml
from preflight.stackfile import StackFile

# sdk/go/common/workspace/project.go: the type names, and project.json's simpleConfigType enum.
CONFIG_TYPES: Final = ("string", "integer", "boolean", "array", "object")
# project.json, configTypeDeclaration: "additionalProperties": false over these.
DECLARATION_ATTRIBUTES: Final = ("type", "items", "description", "secret", "default", "value")
_INTEGER_TEXT = re.compile(r"^[+-]?[0-9]+$")  # what Go's strconv.Atoi accepts


class ProjectError(Exception):
    """Pulumi.yaml is not a project the CLI loads; the message is the CLI's reason."""


class StackConfigError(Exception):
    """The CLI would refuse the stack's config against the project's declarations."""


@dataclass(frozen=True)
class ItemsType:
    """The `items:` of an array declaration (project.go, `ProjectConfigItemsType`)."""

    type: str
    items: ItemsType | None = None


@dataclass(frozen=True)
class ConfigDeclaration:
    """One entry of Pulumi.yaml's `config:` block (project.go, `ProjectConfigType`)."""

    key: str
    """As written in Pulumi.yaml: `hosts`, `ziggie-infra:hosts` or `aws:region`."""
    type: str | None = None
    items: ItemsType | None = None
    default: Any = None
    """None means "no default", as Go's nil `any` does (`default: null` declares none)."""
    value: Any = None
    secret: bool = False
    description: str = ""


@dataclass(frozen=True)
class Project:
    """Pulumi.yaml as far as the config rules need it."""

    path: Path
    name: str
    config: Mapping[str, ConfigDeclaration]

    def full_key(self, key: str) -> str:
        """pkg/workspace/config.go, `parseConfigKey`: a key without a namespace is the project's."""
        return key if ":" in key else f"{self.name}:{key}"

    def in_project_namespace(self, key: str) -> bool:
        """project.go, `configKeyIsNamespacedByProject`."""
        return ":" not in key or key.startswith(f"{self.name}:")


def _items(value: Any, where: str) -> ItemsType:
    # project.json, configItemsType: an object with a `type` (and `items` when that is an array).
    if not isinstance(value, Mapping) or set(value) - {"type", "items"}:
        raise ProjectError(f"{where}: must be an object with `type` and, for an array, `items`")
    kind = value.get("type")
    if kind not in CONFIG_TYPES:
        raise ProjectError(f"{where}.type: must be one of {', '.join(CONFIG_TYPES)}, not {kind!r}")
    if kind == "array" and "items" not in value:
        raise ProjectError(f"{where}: an array item type needs `items`")
    nested = _items(value["items"], f"{where}.items") if "items" in value else None
    return ItemsType(type=kind, items=nested)


def _declaration(project_name: str, key: str, raw: Any, where: str) -> ConfigDeclaration:
    # project.go, RewriteShorthandConfigValues: `key: <string|int|bool|list>` is a default for a
    # key of the project's namespace and a value for any other.
    if isinstance(raw, str | int | bool | list):
        own = ":" not in key or key.startswith(f"{project_name}:")
        raw = {"default": raw} if own else {"value": raw}
    if not isinstance(raw, Mapping):
        raise ProjectError(f"{where}: must be a value or an object of {', '.join(DECLARATION_ATTRIBUTES)}")
    unknown = sorted(set(raw) - set(DECLARATION_ATTRIBUTES))
    if unknown:
        raise ProjectError(
            f"{where}: attribute {unknown[0]!r} not allowed (allowed: {', '.join(DECLARATION_ATTRIBUTES)})"
        )
    kind = raw.get("type")
    if kind is not None and kind not in CONFIG_TYPES:
        raise ProjectError(f"{where}.type: must be one of {', '.join(CONFIG_TYPES)}, not {kind!r}")
    secret = raw.get("secret", False)
    if not isinstance(secret, bool):
        raise ProjectError(f"{where}.secret: must be true or false")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ProjectError(f"{where}.description: must be a string")
    return ConfigDeclaration(
        key=key,
        type=kind,
        items=_items(raw["items"], f"{where}.items") if raw.get("items") is not None else None,
        default=raw.get("default"),
        value=raw.get("value"),
        secret=secret,
        description=description,
    )


def validate_project(project: Project) -> None:
    """project.go, `Project.Validate`: the rules on each declaration; raises ProjectError.

    Go visits the declarations in map order and stops at the first error; here they are
    visited sorted, so the error reported is stable.
    """
    for key, declared in sorted(project.config.items()):
        if declared.default is not None and declared.value is not None:
            raise ProjectError(f"project config '{key}' cannot have both a 'default' and 'value' attribute")
        if project.in_project_namespace(key):
            if declared.type == "array" and declared.items is None:
                raise ProjectError(
                    f"The configuration key '{key}' declares an array "
                    "but does not specify the underlying type via the 'items' attribute"
                )
            if (
                declared.type is not None
                and declared.default is not None
                and not validate_config_value(declared.type, declared.items, declared.default)
            ):
                raise ProjectError(
                    f"The default value specified for configuration key '{key}' is not of the expected type "
                    f"'{full_type_name(declared.type, declared.items)}'"
                )
        else:
            if declared.type is not None:
                raise ProjectError(
                    f"Configuration key '{key}' is not namespaced by the project and should not define a type"
                )
            if declared.default is not None:
                raise ProjectError(
                    f"Configuration key '{key}' is not namespaced by the project and "
                    "should not define a default value. "
                    "Did you mean to use the 'value' attribute instead of 'default'?"
                )
            if declared.value is None:
                raise ProjectError(f"Configuration key '{key}' is namespaced and must provide an attribute 'value'")


def load_project(path: Path) -> Project:
    """Read Pulumi.yaml as the CLI's `LoadProject` does; raises ProjectError with the CLI's reason."""
    try:
        document = load_yaml(path)
    except DocumentError as exc:
        raise ProjectError(f"could not read {exc}") from None
    if not isinstance(document, Mapping):
        raise ProjectError(f"could not validate '{path}': expected project to be an object")
    name = document.get("name")
    if not isinstance(name, str) or not name:
        raise ProjectError(f"could not validate '{path}': project is missing a non-empty string 'name' attribute")
    raw_config = document.get("config") or {}
    if not isinstance(raw_config, Mapping):
        raise ProjectError(f"could not validate '{path}': config: must be a mapping of keys to declarations")
    try:
        config = {str(key): _declaration(name, str(key), raw, f"config.{key}") for key, raw in raw_config.items()}
    except ProjectError as exc:
        raise ProjectError(f"could not validate '{path}': {exc}") from None
    project = Project(path=path, name=name, config=config)
    try:
        validate_project(project)
    except ProjectError as exc:
        # LoadProjectBytes wraps Project.Validate's error this way.
        raise ProjectError(f"could not unmarshal '{path}': {exc}") from None
    return project


def full_type_name(kind: str, items: ItemsType | None) -> str:
    """project.go, `InferFullTypeName`: `array<string>`, `array<array<integer>>`, `object`."""
    if items is not None:
        return f"array<{full_type_name(items.type, items.items)}>"
    return kind


def validate_config_value(kind: str, items: ItemsType | None, value: Any) -> bool:
    """project.go, `ValidateConfigValue`: does `value` (as the CLI decoded it) have type `kind`?"""
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        if isinstance(value, float):
            return value.is_integer()  # YAML and JSON numbers arrive as floats; whole ones pass
        return isinstance(value, str) and bool(_INTEGER_TEXT.match(value))
    if kind == "boolean":
        return value in ("true", "false") or isinstance(value, bool)
    if kind == "object":
        return isinstance(value, Mapping)
    if not isinstance(value, list) or items is None:
        return False
    return all(validate_config_value(items.type, items.items, item) for item in value)


# --- stack values, as config.Value holds them (sdk/go/common/resource/config/value.go, object.go) ---


def _is_secure(raw: Any) -> bool:
    """object.go, `isSecureValue`: a mapping whose only key is `secure`, with a string."""
    return isinstance(raw, Mapping) and set(raw) == {"secure"} and isinstance(raw["secure"], str)


def secure(raw: Any) -> bool:
    """object.go, `object.Secure`: the value, or anything nested in it, is encrypted."""
    if _is_secure(raw):
        return True
    if isinstance(raw, Mapping):
        return any(secure(v) for v in raw.values())
    if isinstance(raw, list):
        return any(secure(v) for v in raw)
    return False


def _is_object(raw: Any) -> bool:
    """object.go, `MarshalString`: mappings (but a lone `secure:`) and lists are objects."""
    return isinstance(raw, Mapping | list) and not _is_secure(raw)


def _plaintext(raw: Any) -> Any:
    """The decrypted content the CLI type-checks: an object as JSON decodes it, else its text."""
    if _is_secure(raw):
        return raw["secure"]
    if isinstance(raw, Mapping):
        return {str(k): _plaintext(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_plaintext(v) for v in raw]
    return raw


def _scalar_text(raw: Any) -> str:
    """object.go, `MarshalString`: bools and numbers by their JSON text, strings as they are."""
    if isinstance(raw, str):
        return raw
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))  # Go's JSON writes the float 1.0 as 1
    return json.dumps(raw)


def _content(raw: Any) -> Any:
    if _is_object(raw):
        # config.go, validateStackConfigValue: an object's JSON text is unmarshalled again, so
        # its numbers arrive as float64.
        return json.loads(json.dumps(_plaintext(raw)), parse_int=float)
    return _scalar_text(_plaintext(raw))


def _lookup(values: Mapping[str, Any], full_key: str) -> tuple[bool, Any]:
    """config/map.go, `Map.Get` with path=true, for dotted paths (`ns:outer.inner`)."""
    namespace, _, name = full_key.partition(":")
    first, *rest = name.split(".")
    root_key = f"{namespace}:{first}"
    if root_key not in values:
        return False, None
    current = values[root_key]
    for part in rest:
        if not isinstance(current, Mapping) or part not in current:
            return False, None
        current = current[part]
    return True, current


def _program_text(value: Any) -> str:
    """pkg/workspace/config.go, `createConfigValue`: string, int and bool as text, the rest JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int):
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _missing_error(stack: str, keys: list[str]) -> str:
    """pkg/workspace/config.go, `missingStackConfigurationKeysError` and `formatMissingKeys`."""
    if len(keys) == 1:
        return f"Stack '{stack}' is missing configuration value '{keys[0]}'"
    keys = sorted(keys)
    listed = ", ".join(f"'{k}'" for k in keys[:-2])
    head = f"{listed}, " if listed else ""
    return f"Stack '{stack}' is missing configuration values {head}'{keys[-2]}' and '{keys[-1]}'"


def apply_project_config(project: Project, stack: str, stack_file: StackFile) -> StackFile:
    """The stack's config after `ValidateStackConfigAndApplyProjectConfig`, as the program gets it.

    Raises StackConfigError with the CLI's message ("validating stack config: Stack 'dev' ...").
    """
    values: dict[str, Any] = dict(stack_file.values)
    config = dict(stack_file.config)
    missing: list[str] = []
    # mergeConfig: project keys in sorted order; the missing ones are reported together.
    for key in sorted(project.config):
        declared = project.config[key]
        full = project.full_key(key)
        found, _ = _lookup(values, full)
        if found:
            continue
        if declared.value is None and declared.default is None:
            if project.in_project_namespace(full):
                missing.append(key)
            continue
        merged = declared.default if declared.default is not None else declared.value
        if "." in full.partition(":")[2]:
            continue  # a default for a path inside an object: preflight keeps only top-level keys
        values[full] = merged
        config[full] = _program_text(merged)
    if missing:
        raise StackConfigError(f"validating stack config: {_missing_error(stack, missing)}")
    # validateStackConfigValues: typed keys only, sorted; the secret check comes before the type.
    for key in sorted(project.config):
        declared = project.config[key]
        if declared.type is None:
            continue
        found, raw = _lookup(values, project.full_key(key))
        if declared.secret and not (found and secure(raw)):
            raise StackConfigError(
                f"validating stack config: Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret"
            )
        if not validate_config_value(declared.type, declared.items, _content(raw) if found else ""):
            raise StackConfigError(
                f"validating stack config: Stack '{stack}' with configuration key '{key}' must be of type "
                f"'{full_type_name(declared.type, declared.items)}'"
            )
    return replace(stack_file, config=config, values=values)
