"""Test helper: run a component under preflight's mocks, which answer AWS resources with
ids and ARNs shaped like AWS's own, per region."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pulumi
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from preflight.mocks import PreflightMocks, RecordingMonitor
from preflight.records import UNKNOWN_VALUE, RecordedResource, is_secret


def install() -> RecordingMonitor:
    """Fresh mocks for one test: a new root, so registrations of earlier tests do not leak in."""
    return install_mocks(PreflightMocks(lambda name: {}))


def install_mocks(mocks: PreflightMocks) -> RecordingMonitor:
    """`install` with the given mocks; a failed earlier run leaves nothing behind."""
    monitor = RecordingMonitor(mocks)
    # A run that failed leaves its error and pending outputs in the runtime (as preflight's runner clears).
    pulumi.runtime.settings.SETTINGS.rpc_manager.clear()
    pulumi.runtime.settings.SETTINGS.outputs.clear()
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
