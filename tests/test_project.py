"""Tests for Pulumi.yaml: the real CLI accepts every committed stack, and its declarations mean
what the program means.

The rule for declaring a key (see the comment in Pulumi.yaml and preflight/project.py):
typed always; no `default` only when every stack sets it; `type: object, default: {}` only when
`{}` loads exactly as leaving the key out; secrets only typed, with no default, and only when
every stack sets them encrypted; anything else optional is not declared.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.catalog import DEFAULT_CATALOG
from config.loader import STRING_KEYS, STRUCTURED_KEYS, load_stack_config
from config.models import SMTP_PASSWORD_KEY, Host, StackConfig
from preflight.project import apply_project_config, load_project
from preflight.stackfile import read_stack_file

ROOT = Path(__file__).resolve().parents[1]
PROJECT = load_project(ROOT / "Pulumi.yaml")
DECLARED = PROJECT.config
STACKS = ["dev", "prod", "dr"]

MODEL_KEYS = {field.alias or name: field for name, field in StackConfig.model_fields.items()}
SECRET_KEYS = {key for entry in DEFAULT_CATALOG.values() for key in entry.get("secretEnv", {}).values()} | {
    SMTP_PASSWORD_KEY,
    # The SSH key the ssh:// hosts are bootstrapped with (Host.sshKeySecret's default).
    Host.model_fields["ssh_key_secret"].default,
}
# The smallest stack the program accepts: one host, one service that reads no secret.
MINIMAL: dict[str, str] = {
    "ziggie-infra:environment": "dev",
    "ziggie-infra:hosts": json.dumps(
        {
            "h": {
                "dockerHost": "unix:///var/run/docker.sock",
                "memory": "8G",
                "cpus": "4",
                "osReserveMemory": "2G",
                "osReserveCpus": "1",
                "monthlyPriceUsd": "0",
            }
        }
    ),
    "ziggie-infra:include": json.dumps(["flowise"]),
}


def test_project_name_is_the_config_namespace() -> None:
    assert PROJECT.name == yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"] == "ziggie-infra"


@pytest.mark.parametrize("stack", STACKS)
def test_cli_accepts_the_committed_stack(stack: str) -> None:
    apply_project_config(PROJECT, stack, read_stack_file(ROOT / f"Pulumi.{stack}.yaml"))


@pytest.mark.parametrize("key", sorted(DECLARED))
def test_declared_key_is_typed_and_read_by_the_program(key: str) -> None:
    declared = DECLARED[key]
    assert declared.type is not None, f"Pulumi.yaml config.{key}: without a `type` the CLI checks nothing"
    assert key in STRUCTURED_KEYS | STRING_KEYS | SECRET_KEYS, (
        f"config.{key} is declared but the program reads no such key"
    )


@pytest.mark.parametrize("key", sorted(set(DECLARED) & set(MODEL_KEYS)))
def test_description_equals_the_model_field(key: str) -> None:
    assert DECLARED[key].description == MODEL_KEYS[key].description, (
        f"Pulumi.yaml config.{key}.description drifted from StackConfig's field description"
    )


@pytest.mark.parametrize("key", sorted(k for k, d in DECLARED.items() if d.default is not None))
def test_default_loads_as_leaving_the_key_out(key: str) -> None:
    # The CLI hands a default to the program on every stack that does not set the key, so a
    # default must not change what the stack means.
    with_default = {**MINIMAL, f"ziggie-infra:{key}": json.dumps(DECLARED[key].default)}
    assert load_stack_config(with_default, (), source="t", stack="dev") == load_stack_config(
        MINIMAL, (), source="t", stack="dev"
    )


@pytest.mark.parametrize("key", sorted(k for k, d in DECLARED.items() if d.default is None and d.value is None))
def test_required_key_is_required_by_the_model_too(key: str) -> None:
    # A key the CLI requires on every stack is one the program cannot do without.
    assert key in SECRET_KEYS or MODEL_KEYS[key].is_required(), f"config.{key} is optional: give it a default"


@pytest.mark.parametrize("key", sorted(SECRET_KEYS | set(MODEL_KEYS) | {"include"}))
def test_secret_declared_exactly_for_secrets(key: str) -> None:
    if key not in DECLARED:
        return
    declared = DECLARED[key]
    assert declared.secret is (key in SECRET_KEYS), f"config.{key}"
    if declared.secret:
        assert declared.type == "string" and declared.default is None and declared.value is None, (
            f"config.{key}: `secret: true` acts only with a type, and a default is stored in plain text"
        )


def _stack_keys(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    return {k.removeprefix("ziggie-infra:"): v for k, v in document["config"].items() if k.startswith("ziggie-infra:")}


@pytest.mark.parametrize("key", sorted(SECRET_KEYS))
def test_secret_only_some_stacks_set_is_not_declared(key: str) -> None:
    # Declared, it would be required (encrypted) on every stack; dr reads its secrets from
    # prod's replicas and sets none. The program requires it where it is read.
    setters = [stack for stack in STACKS if key in _stack_keys(stack)]
    if len(setters) < len(STACKS):
        assert key not in DECLARED, f"config.{key} is set only by {setters}; declaring it makes every stack need it"
