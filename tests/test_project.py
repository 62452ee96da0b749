"""Tests for Pulumi.yaml: its declared config keys match the typed config and the catalog's secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from config.catalog import DEFAULT_CATALOG
from config.loader import STRING_KEYS, STRUCTURED_KEYS
from config.models import StackConfig

ROOT = Path(__file__).resolve().parents[1]
PROJECT: dict[str, Any] = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
DECLARED: dict[str, dict[str, Any]] = PROJECT["config"]

MODEL_KEYS = {field.alias or name: field for name, field in StackConfig.model_fields.items()}
SECRET_KEYS = {key for entry in DEFAULT_CATALOG.values() for key in entry.get("secretEnv", {}).values()}
# Optional top-level keys not declared in Pulumi.yaml yet: a key declared with neither `default`
# nor `value` is required on every stack by the CLI, so their declaration waits for the
# project's declaration rules (issue 10) and is reconciled when the branches merge.
PENDING_DECLARATION = frozenset({"gcp", "budgets"})


def test_project_name_is_the_config_namespace() -> None:
    assert PROJECT["name"] == "ziggie-infra"


def test_declared_keys_are_the_model_keys_include_and_the_catalog_secrets() -> None:
    expected = (set(MODEL_KEYS) | {"include"} | SECRET_KEYS) - PENDING_DECLARATION
    declared = set(DECLARED)
    assert declared == expected, (
        f"missing from Pulumi.yaml: {sorted(expected - declared)}; not in the program: {sorted(declared - expected)}"
    )


def test_loader_reads_exactly_the_model_keys_and_include() -> None:
    assert set(MODEL_KEYS) | {"include"} == STRUCTURED_KEYS | STRING_KEYS
    assert not STRUCTURED_KEYS & STRING_KEYS


@pytest.mark.parametrize("key", sorted(set(MODEL_KEYS) - PENDING_DECLARATION))
def test_description_equals_the_model_field(key: str) -> None:
    assert DECLARED[key].get("description") == MODEL_KEYS[key].description, (
        f"Pulumi.yaml config.{key}.description drifted from StackConfig's field description"
    )


@pytest.mark.parametrize("key", sorted(SECRET_KEYS))
def test_secret_key_is_declared_secret(key: str) -> None:
    assert DECLARED[key].get("secret") is True, f"Pulumi.yaml config.{key} needs `secret: true`"
    assert DECLARED[key].get("description"), f"Pulumi.yaml config.{key} needs a description"


@pytest.mark.parametrize("key", sorted((set(MODEL_KEYS) | {"include"}) - PENDING_DECLARATION))
def test_plain_key_is_not_declared_secret(key: str) -> None:
    assert not DECLARED[key].get("secret", False), f"config.{key} holds no secret"


@pytest.mark.parametrize("stack", ["dev", "prod", "dr"])
def test_stack_file_sets_only_declared_keys(stack: str) -> None:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    ours = {key.removeprefix("ziggie-infra:") for key in document["config"] if key.startswith("ziggie-infra:")}
    assert ours <= set(DECLARED) | PENDING_DECLARATION, (
        f"Pulumi.{stack}.yaml sets undeclared keys {sorted(ours - set(DECLARED) - PENDING_DECLARATION)}"
    )
