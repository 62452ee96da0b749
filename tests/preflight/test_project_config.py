"""preflight.project: the Pulumi CLI's project config rules, one test per rule with the case it refuses.

Each refused case is a Pulumi.yaml and/or a stack file in tmp_path, and the assertion is the
CLI's own message (pkg/workspace/config.go, sdk/go/common/workspace/project.go).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from preflight_cli import run_preflight

from preflight.project import (
    ItemsType,
    Project,
    ProjectError,
    StackConfigError,
    apply_project_config,
    load_project,
    validate_config_value,
)
from preflight.runner import PROJECT_DIR, PreflightError, run_stack
from preflight.stackfile import StackFile, read_stack_file


def _project(tmp_path: Path, config: str) -> Project:
    path = tmp_path / "Pulumi.yaml"
    path.write_text("name: test\nruntime: python\nconfig:\n" + textwrap.indent(textwrap.dedent(config), "  "))
    return load_project(path)


def _stack(tmp_path: Path, config: str, name: str = "dev") -> StackFile:
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text("config:\n" + textwrap.indent(textwrap.dedent(config), "  "))
    return read_stack_file(path)


def _refused(tmp_path: Path, project: str, stack: str) -> str:
    with pytest.raises(StackConfigError) as info:
        apply_project_config(_project(tmp_path, project), "dev", _stack(tmp_path, stack))
    return str(info.value)


# --- pkg/workspace/config.go, mergeConfig: required keys -------------------------------------


def test_key_without_default_or_value_is_required(tmp_path: Path) -> None:
    message = _refused(tmp_path, "region:\n  type: string\n", "test:other: x\n")
    assert message == "validating stack config: Stack 'dev' is missing configuration value 'region'"


def test_all_missing_keys_are_named_in_one_error(tmp_path: Path) -> None:
    project = "hello: {type: integer}\nvalues: {type: array, items: {type: string}}\nworld: {description: untyped}\n"
    message = _refused(tmp_path, project, "{}\n")
    assert (
        message == "validating stack config: Stack 'dev' is missing configuration values 'hello', 'values' and 'world'"
    )


def test_untyped_declaration_is_required_too(tmp_path: Path) -> None:
    # What broke every committed stack: a description alone makes a key required.
    message = _refused(tmp_path, "hosts:\n  description: Docker hosts.\n", "{}\n")
    assert message.endswith("is missing configuration value 'hosts'")


def test_default_and_value_fill_a_missing_key_and_reach_the_program(tmp_path: Path) -> None:
    project = _project(
        tmp_path, "size: {type: integer, default: 3}\nnet: {type: object, default: {}}\nzone: {value: a}\n"
    )
    merged = apply_project_config(project, "dev", _stack(tmp_path, "test:size: 5\n"))
    assert merged.config == {"test:size": "5", "test:net": "{}", "test:zone": "a"}


def test_key_of_another_namespace_is_never_required(tmp_path: Path) -> None:
    project = _project(tmp_path, "aws:region: {value: eu-north-1}\n")
    merged = apply_project_config(project, "dev", _stack(tmp_path, "aws:region: eu-west-1\n"))
    assert merged.config == {"aws:region": "eu-west-1"}  # the stack's value wins over `value`


def test_undeclared_project_key_is_accepted(tmp_path: Path) -> None:
    project = _project(tmp_path, "size: {type: integer, default: 3}\n")
    merged = apply_project_config(project, "dev", _stack(tmp_path, "test:undeclared: yes-please\n"))
    assert merged.config["test:undeclared"] == "yes-please"


# --- pkg/workspace/config.go, validateStackConfigValue: secret, then type -------------------


def test_typed_secret_in_plain_text_is_refused(tmp_path: Path) -> None:
    message = _refused(tmp_path, "token: {type: string, secret: true}\n", "test:token: hunter2\n")
    assert (
        message
        == "validating stack config: Stack 'dev' with configuration key 'token' must be encrypted as it's secret"
    )


def test_typed_secret_with_a_default_is_refused_where_the_stack_does_not_set_it(tmp_path: Path) -> None:
    # The default is merged in plain text, and the secret check then refuses it.
    message = _refused(tmp_path, "token: {type: string, secret: true, default: none}\n", "{}\n")
    assert message.endswith("configuration key 'token' must be encrypted as it's secret")


def test_encrypted_typed_secret_passes(tmp_path: Path) -> None:
    project = _project(tmp_path, "token: {type: string, secret: true}\n")
    apply_project_config(project, "dev", _stack(tmp_path, "test:token: {secure: AAABAHx}\n"))


def test_untyped_secret_does_nothing(tmp_path: Path) -> None:
    project = _project(tmp_path, "token: {secret: true, description: the old style}\n")
    merged = apply_project_config(project, "dev", _stack(tmp_path, "test:token: plain-text\n"))
    assert merged.config["test:token"] == "plain-text"


@pytest.mark.parametrize(
    ("declaration", "value", "type_name"),
    [
        ("{type: object}", "a-string", "object"),
        ("{type: object}", "[a, b]", "object"),
        ("{type: string}", "{a: 1}", "string"),
        ("{type: integer}", "hello", "integer"),
        ("{type: boolean}", "yes", "boolean"),
        ("{type: array, items: {type: string}}", "someValue", "array<string>"),
        ("{type: array, items: {type: integer}}", "[1, x]", "array<integer>"),
    ],
    ids=[
        "string_for_object",
        "list_for_object",
        "mapping_for_string",
        "word_for_integer",
        "yes_is_not_a_boolean",
        "string_for_array",
        "array_item_not_integer",
    ],
)
def test_typed_key_of_the_wrong_type_is_refused(tmp_path: Path, declaration: str, value: str, type_name: str) -> None:
    message = _refused(tmp_path, f"key: {declaration}\n", f"test:key: {value}\n")
    assert message == f"validating stack config: Stack 'dev' with configuration key 'key' must be of type '{type_name}'"


@pytest.mark.parametrize(
    ("kind", "items", "value", "expected"),
    [
        ("string", None, "20", True),
        ("integer", None, "20", True),
        ("integer", None, "-3", True),
        ("integer", None, 2.0, True),
        ("integer", None, "2.5", False),
        ("integer", None, True, False),
        ("boolean", None, "true", True),
        ("boolean", None, "True", False),
        ("object", None, {}, True),
        ("array", ItemsType("string"), ["a"], True),
        ("array", None, ["a"], False),
        ("array", ItemsType("array", ItemsType("integer")), [[1.0, "2"]], True),
    ],
    ids=[
        "digits_are_a_string",
        "digits_are_an_integer",
        "negative_integer",
        "whole_float_is_an_integer",
        "fraction_is_not_an_integer",
        "bool_is_not_an_integer",
        "true_text_is_a_boolean",
        "capitalised_true_is_not",
        "mapping_is_an_object",
        "array_of_strings",
        "array_without_items_never_validates",
        "nested_arrays",
    ],
)
def test_validate_config_value(kind: str, items: ItemsType | None, value: Any, expected: bool) -> None:
    assert validate_config_value(kind, items, value) is expected


def test_untyped_key_is_not_type_checked(tmp_path: Path) -> None:
    project = _project(tmp_path, "size: {default: t3.micro}\n")
    assert apply_project_config(project, "dev", _stack(tmp_path, "test:size: 9999\n")).config["test:size"] == "9999"


# --- sdk/go/common/workspace/project.go, Project.Validate: the declarations themselves ------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("size: {default: 1, value: 2}\n", "project config 'size' cannot have both a 'default' and 'value' attribute"),
        (
            "names: {type: array}\n",
            "The configuration key 'names' declares an array but does not specify the underlying type via the "
            "'items' attribute",
        ),
        (
            "size: {type: integer, default: big}\n",
            "The default value specified for configuration key 'size' is not of the expected type 'integer'",
        ),
        (
            "aws:region: {type: string, value: eu-north-1}\n",
            "Configuration key 'aws:region' is not namespaced by the project and should not define a type",
        ),
        (
            "aws:region: {default: eu-north-1}\n",
            "Configuration key 'aws:region' is not namespaced by the project and should not define a default "
            "value. Did you mean to use the 'value' attribute instead of 'default'?",
        ),
        (
            "aws:region: {description: the provider's region}\n",
            "Configuration key 'aws:region' is namespaced and must provide an attribute 'value'",
        ),
    ],
    ids=[
        "default_and_value",
        "array_without_items",
        "default_of_the_wrong_type",
        "other_namespace_with_a_type",
        "other_namespace_with_a_default",
        "other_namespace_without_a_value",
    ],
)
def test_declaration_the_cli_refuses_to_load(tmp_path: Path, config: str, message: str) -> None:
    with pytest.raises(ProjectError) as info:
        _project(tmp_path, config)
    assert str(info.value) == f"could not unmarshal '{tmp_path / 'Pulumi.yaml'}': {message}"


def test_other_namespace_shorthand_is_a_value(tmp_path: Path) -> None:
    project = _project(tmp_path, "aws:region: eu-north-1\nsize: 3\n")
    assert (project.config["aws:region"].value, project.config["size"].default) == ("eu-north-1", 3)


def test_unknown_declaration_attribute_is_refused(tmp_path: Path) -> None:
    # project.json, configTypeDeclaration: additionalProperties false (the CLI's wording comes
    # from its JSON-schema library; the attribute and the key are what both name).
    with pytest.raises(ProjectError, match=r"config.token: attribute 'secrte' not allowed"):
        _project(tmp_path, "token: {type: string, secrte: true}\n")


def test_unknown_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"config.size.type: must be one of string, integer, boolean, array, object"):
        _project(tmp_path, "size: {type: number}\n")


# --- preflight applies the rules before the program runs ------------------------------------


def test_preflight_refuses_a_stack_the_cli_refuses(tmp_path: Path) -> None:
    committed = (PROJECT_DIR / "Pulumi.dr.yaml").read_text()
    path = tmp_path / "Pulumi.dr.yaml"
    path.write_text(committed.replace("  ziggie-infra:environment: dr\n", ""))
    with pytest.raises(PreflightError, match=r"Stack 'dr' is missing configuration value 'environment'"):
        run_stack("dr", path)


def test_cli_exits_2_with_the_clis_reason(tmp_path: Path) -> None:
    committed = (PROJECT_DIR / "Pulumi.dev.yaml").read_text()
    path = tmp_path / "Pulumi.dev.yaml"
    features = "  ziggie-infra:features:\n    AI_INSTRUCTOR: true\n    WORKFLOW_BUILDER: true\n"
    assert features in committed
    path.write_text(committed.replace(features, "  ziggie-infra:features: all\n"))
    result = run_preflight("--stack", "dev", "--config-file", str(path), "--no-policy")
    assert result.returncode == 2
    assert (
        "Pulumi.dev.yaml: validating stack config: Stack 'dev' with configuration key 'features' must be of type "
        "'object'" in result.stderr
    )
    assert "Traceback" not in result.stderr
