"""The bare-SDK baseline preflight's program run is measured against.

`replay` registers exactly the resources a preflight run recorded - same types, names,
inputs, parents, providers, dependencies, protect and the other options - through the plain
Pulumi SDK (`pulumi.CustomResource`, `ComponentResource`, `ProviderResource`) under mocks that
echo the inputs, with everything at the SDK's defaults (the cyclic garbage collector on, the
SDK's own MockMonitor). What the program does beyond that - reading and validating config,
building typed resource args, preflight's recording - is what the comparison shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from preflight.records import SECRET_SIG_KEY, RecordedResource, is_secret

ROOT_STACK = "pulumi:pulumi:Stack"
PROVIDER_PREFIX = "pulumi:providers:"


class EchoMocks(Mocks):
    """Trivial mocks: a resource's id is its name and its state is its inputs."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: MockCallArgs) -> dict[Any, Any]:  # type: ignore[override]
        return {}


def _value(wire: Any) -> Any:
    """A recorded wire-form input as the program handed it to the SDK: secrets become secret Outputs."""
    if is_secret(wire):
        return pulumi.Output.secret(_value(wire["value"]))
    if isinstance(wire, dict):
        return {key: _value(item) for key, item in wire.items() if key != SECRET_SIG_KEY}
    if isinstance(wire, list):
        return [_value(item) for item in wire]
    return wire


def _register(resources: Sequence[RecordedResource]) -> None:
    by_urn = {r.urn: r for r in resources}
    made: dict[str, pulumi.Resource] = {}

    def make(urn: str) -> pulumi.Resource:
        if urn in made:
            return made[urn]
        record = by_urn[urn]
        parent = make(record.parent) if record.parent and by_urn[record.parent].type != ROOT_STACK else None
        provider = make(record.provider_urn) if record.provider_urn else None
        opts = pulumi.ResourceOptions(
            parent=parent,
            provider=provider if isinstance(provider, pulumi.ProviderResource) else None,
            depends_on=[make(dependency) for dependency in record.dependencies],
            protect=record.protect or None,
            retain_on_delete=record.retain_on_delete or None,
            ignore_changes=list(record.ignore_changes) or None,
            additional_secret_outputs=list(record.additional_secret_outputs) or None,
        )
        props = {key: _value(value) for key, value in record.inputs.items()}
        resource: pulumi.Resource
        if record.type.startswith(PROVIDER_PREFIX):
            resource = pulumi.ProviderResource(record.type[len(PROVIDER_PREFIX) :], record.name, props, opts)
        elif record.custom:
            resource = pulumi.CustomResource(record.type, record.name, props, opts)
        else:
            resource = pulumi.ComponentResource(record.type, record.name, props, opts)
        made[urn] = resource
        return resource

    for record in resources:
        if record.type != ROOT_STACK:
            make(record.urn)


def replay(
    resources: Sequence[RecordedResource],
    *,
    project: str,
    stack: str,
    monitor: MockMonitor | None = None,
) -> None:
    """Register `resources` again through the bare SDK, under `EchoMocks`, and wait for the run to end.

    `monitor` (the SDK's own MockMonitor over EchoMocks unless given) receives the requests.
    """
    mocks = EchoMocks()
    pulumi_settings.SETTINGS.rpc_manager.clear()
    pulumi_settings.SETTINGS.outputs.clear()
    pulumi.runtime.set_all_config({}, [])
    pulumi_settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=True, monitor=monitor or MockMonitor(mocks))
    try:
        _sync_await(run_pulumi_func(lambda: _register(resources)))
    finally:
        pulumi_settings.set_root_resource(None)  # type: ignore[arg-type]
