"""Test helper: run a component under Pulumi mocks that answer AWS resources like AWS does.

`AwsMocks` is the one place that knows what AWS hands back (ids and ARNs per region); it
extends preflight's mocks with the shapes these components' tests read, so it can later move
into `preflight/mocks.py` whole.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pulumi
from pulumi.runtime import MockResourceArgs
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from preflight.mocks import ACCOUNT_ID, DEFAULT_REGION, PreflightMocks, RecordingMonitor
from preflight.records import UNKNOWN_VALUE, RecordedResource, is_secret

# S3 settings resources are addressed by their bucket: AWS (and the provider) use its name as their id.
_S3_BUCKET_SETTINGS = frozenset(
    {
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
    }
)


class AwsMocks(PreflightMocks):
    """preflight's AWS answers, plus the ids and ARNs of the DR components' other resources."""

    def __init__(self) -> None:
        super().__init__(lambda name: {})

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        state = dict(args.inputs)
        region = str(state.get("region") or DEFAULT_REGION)
        if args.typ in _S3_BUCKET_SETTINGS:
            return str(state["bucket"]), {**state, "region": region}
        if args.typ == "aws:iam/rolePolicy:RolePolicy":
            policy_name = str(state.get("name") or f"{args.name}-policy")
            return f"{state['role']}:{policy_name}", {**state, "name": policy_name}
        if args.typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
            alarm = str(state.get("name") or args.name)
            arn = f"arn:aws:cloudwatch:{region}:{ACCOUNT_ID}:alarm:{alarm}"
            return alarm, {**state, "name": alarm, "arn": arn, "region": region}
        if args.typ == "aws:secretsmanager/secretVersion:SecretVersion":
            version = "EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE"
            secret_arn = str(state["secretId"])
            return f"{secret_arn}|{version}", {**state, "arn": secret_arn, "versionId": version, "region": region}
        return super().new_resource(args)


def install() -> RecordingMonitor:
    """Fresh mocks for one test: a new root, so registrations of earlier tests do not leak in."""
    monitor = RecordingMonitor(AwsMocks())
    pulumi.runtime.settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(monitor.mocks, project="ziggie-infra", stack="prod", preview=True, monitor=monitor)
    return monitor


def run(monitor: RecordingMonitor, build: Callable[[], Any]) -> dict[str, RecordedResource]:
    """Run `build` as a Pulumi program and return its registrations by resource name."""
    _sync_await(run_pulumi_func(build))
    return {r.name: r for r in monitor.records}


def json_input(record: RecordedResource, key: str) -> Any:
    """A JSON document input (a policy), as the engine received it: known, plain text, parsed."""
    value = record.inputs.get(key)
    assert value is not None, f"{record.urn}: no {key} input"
    assert value != UNKNOWN_VALUE, f"{record.urn}: {key} is unknown at preview"
    assert not is_secret(value), f"{record.urn}: {key} is a secret; a policy should be readable"
    assert isinstance(value, str), f"{record.urn}: {key} is {type(value).__name__}, not a JSON string"
    return json.loads(value)


def plain_values(value: Any) -> Iterator[Any]:
    """Every leaf of a wire-form value that is not inside a secret wrapper."""
    if is_secret(value):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from plain_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from plain_values(item)
    else:
        yield value
