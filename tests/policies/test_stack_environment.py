"""stack-environment: the stack is the environment its policy config names, with its DR copies."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from policy_fixtures import (
    STACK,
    UNKNOWN,
    container,
    on_host,
    replicated_pair,
    root,
    run_direct,
    sm_secret,
)
from ziggie_policies import stack_environment
from ziggie_policies._support import PolicyConfigError

from preflight.records import RecordedResource


def _root(environment: Any) -> RecordedResource:
    """The root stack with its ``environment`` output, as the engine sends it to AnalyzeStack."""
    return dataclasses.replace(root(), outputs={"environment": environment})


def _dr(*, buckets: bool = True, secrets: bool = True) -> list[RecordedResource]:
    found: list[RecordedResource] = []
    if buckets:
        found += replicated_pair("ziggie-prod-assets", "ziggie-prod-assets-eu-west-1")
    if secrets:
        found.append(sm_secret("ziggie/prod/postgres"))
    return found


WRONG = (
    f'stack {STACK}: environment is "dev" but the stack\'s name says "{STACK}"; what the program protects '
    "follows the environment"
)
NO_BUCKETS = f"stack {STACK}: requireDr is set but no S3 bucket is replicated (is cloud.awsDr off or buckets empty?)"
NO_SECRETS = f"stack {STACK}: requireDr is set but no Secrets Manager secret has a replica (is cloud.awsDr off or secrets empty?)"
DR = {"requireDr": True}

CASES = [
    pytest.param([_root(STACK), *_dr()], DR, [], id="environment_is_the_stack_name_and_dr_present_passes"),
    pytest.param([_root("dev"), *_dr()], DR, [WRONG], id="prod_stack_saying_dev_fails"),
    pytest.param(
        [_root("staging")],
        {"environment": "staging"},
        [],
        id="config_names_another_environment_passes",
    ),
    pytest.param(
        [_root(STACK)],
        {"environment": "staging"},
        [
            f'stack {STACK}: environment is "{STACK}" but the policy config says "staging"; what the program '
            "protects follows the environment"
        ],
        id="config_names_an_environment_the_stack_is_not",
    ),
    pytest.param([root(), *_dr()], DR, [], id="root_without_outputs_not_applicable"),
    pytest.param([_root(UNKNOWN)], {}, [], id="environment_unknown_during_preview_is_skipped"),
    pytest.param([_root(STACK)], DR, [NO_BUCKETS, NO_SECRETS], id="dr_required_with_aws_dr_off"),
    pytest.param([_root(STACK), *_dr(buckets=False)], DR, [NO_BUCKETS], id="dr_required_buckets_empty"),
    pytest.param([_root(STACK), *_dr(secrets=False)], DR, [NO_SECRETS], id="dr_required_secrets_empty"),
    pytest.param(
        [_root(STACK), *_dr(secrets=False), sm_secret("ziggie/prod/solo", replicas=())],
        DR,
        [NO_SECRETS],
        id="secret_without_replica_is_no_dr_copy",
    ),
    pytest.param(
        [_root(STACK), *_dr(secrets=False), sm_secret("ziggie/prod/later", replicas=UNKNOWN)],
        DR,
        [],
        id="replicas_unknown_during_preview_count",
    ),
    pytest.param([_root(STACK), *on_host("vps1", container("vps1", "api"))], {}, [], id="dr_not_required_passes"),
]


@pytest.mark.parametrize(("resources", "config", "expected"), CASES)
def test_stack_environment(
    run: Any, resources: list[RecordedResource], config: dict[str, Any], expected: list[str]
) -> None:
    assert run(stack_environment.policy, resources, config) == sorted(expected)


def test_unknown_config_key_is_an_error() -> None:
    with pytest.raises(PolicyConfigError) as caught:
        run_direct(stack_environment.policy, [_root(STACK)], {"requireDR": True})
    assert str(caught.value) == (
        "policy stack-environment: unknown config key 'requireDR' (known: environment, requireDr)"
    )
