"""stack-environment: a stack is the environment its policy config says, with the DR it demands.

What a stack protects follows its ``environment`` (the program protects prod's data), so one
line of the stack file saying ``environment: dev`` in prod would switch prod's protection off.
The expected environment is owned here, apart from the program: the stack's name, read from
its URNs (``urn:pulumi:<stack>::<project>::...``; pulumi_policy's Python SDK keeps only the tags
of ``ConfigureStack``, not the stack name), unless the policy config names another one. The
actual environment is the program's ``environment`` stack output: the engine sends each
resource's outputs to ``AnalyzeStack`` (pulumi/pulumi pkg/resource/deploy/step_generator.go:
"AnalyzeStack is called on the final outputs of each resource"), the root stack's included.
A run that sends no outputs for the root stack leaves nothing to compare, and this rule passes.

A stack whose config sets ``requireDr`` must hold its DR copies: at least one S3 replication
configuration and one Secrets Manager secret with a replica. ``cloud.awsDr: false`` or empty
``buckets``/``secrets`` removes them, and the policy names what is missing. Whether each copy
is complete is for bucket-replication and secret-replication.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from ziggie_policies._support import (
    S3_REPLICATION,
    SECRETS_MANAGER_SECRET,
    UNKNOWN,
    elements,
    prop,
    read_config,
)

NAME: Final = "stack-environment"
ROOT_STACK: Final = "pulumi:pulumi:Stack"
ENVIRONMENT_OUTPUT: Final = "environment"

CONFIG_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "environment": {
            "type": "string",
            "minLength": 1,
            "description": "The environment this stack must be; unset, the stack's name.",
        },
        "requireDr": {
            "type": "boolean",
            "default": False,
            "description": "Demand DR copies: a replicated S3 bucket and a Secrets Manager secret with a replica.",
        },
    }
)


def stack_name(resources: Sequence[PolicyResource]) -> str | None:
    """The stack's name, from the first URN (``urn:pulumi:<stack>::...``)."""
    for resource in resources:
        parts = resource.urn.split("::")
        if parts[0].startswith("urn:pulumi:"):
            return parts[0].removeprefix("urn:pulumi:")
    return None


def _environment_output(resources: Sequence[PolicyResource]) -> Any:
    for resource in resources:
        if resource.resource_type == ROOT_STACK:
            return prop(resource.props, ENVIRONMENT_OUTPUT)
    return None


def _has_replica(secret: PolicyResource) -> bool:
    replicas = prop(secret.props, "replicas")
    return replicas is UNKNOWN or any(True for _ in elements(replicas))


def environment_violations(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> list[str]:
    """Each way the stack is not the environment, or lacks the DR, its config demands."""
    found: list[str] = []
    stack = stack_name(resources)
    expected = config.get("environment") or stack
    actual = _environment_output(resources)
    source = "the policy config" if config.get("environment") else "the stack's name"
    if expected is not None and isinstance(actual, str) and actual != expected:
        found.append(
            f'stack {stack}: environment is "{actual}" but {source} says "{expected}"; what the program '
            "protects follows the environment"
        )
    if config["requireDr"]:
        replicated_buckets = any(r.resource_type == S3_REPLICATION for r in resources)
        replicated_secrets = any(r.resource_type == SECRETS_MANAGER_SECRET and _has_replica(r) for r in resources)
        if not replicated_buckets:
            found.append(
                f"stack {stack}: requireDr is set but no S3 bucket is replicated (is cloud.awsDr off or buckets empty?)"
            )
        if not replicated_secrets:
            found.append(
                f"stack {stack}: requireDr is set but no Secrets Manager secret has a replica "
                "(is cloud.awsDr off or secrets empty?)"
            )
    return found


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = read_config(NAME, CONFIG_SCHEMA, args.get_config())
    for message in environment_violations(args.resources, config):
        report_violation(message, None)


policy: Final = StackValidationPolicy(
    name=NAME,
    description="Requires the stack's environment to be the one its policy config names (by default "
    "its stack name), and its DR copies to exist when the config requires DR.",
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
