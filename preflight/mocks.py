"""Pulumi mocks for preflight: realistic ids, and a monitor that records every registration.

`RecordingMonitor` keeps each RegisterResource/ReadResource request whole (type, name, parent,
provider, dependencies, property dependencies, protect, retain-on-delete and the inputs in
wire form, secrets still wrapped), which is what the engine and the policy analyzer see.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf import json_format
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks
from pulumi.runtime.mocks import MockMonitor

from preflight.records import RecordedResource

STACK_REFERENCE = "pulumi:pulumi:StackReference"


def _hex(seed: str, length: int = 64) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _tidy(value: Any) -> Any:
    """protobuf Struct carries every number as a double; give whole numbers back as int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _tidy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tidy(v) for v in value]
    return value


class PreflightMocks(Mocks):
    """Answers each resource with an id shaped like the real provider's."""

    def __init__(self, stack_outputs: Callable[[str], Mapping[str, Any]]) -> None:
        self._stack_outputs = stack_outputs

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        state = dict(args.inputs)
        if args.typ == STACK_REFERENCE:
            name = args.resource_id or args.inputs.get("name", args.name)
            outputs = dict(self._stack_outputs(name))
            return name, {"name": name, "outputs": outputs, "secretOutputNames": []}
        if args.typ == "docker:index/remoteImage:RemoteImage":
            digest = _hex(args.name)
            state.update(imageId=f"sha256:{digest}", repoDigest=f"{args.inputs.get('name')}@sha256:{digest}")
            return f"sha256:{digest}{args.inputs.get('name')}", state
        if args.typ == "docker:index/volume:Volume":
            return str(args.inputs.get("name", args.name)), state
        if args.typ.startswith("pulumi:providers:"):
            return _hex(args.name, 32), state
        return _hex(f"{args.typ}:{args.name}"), state

    def call(self, args: MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        raise NotImplementedError(f"preflight has no answer for the function {args.token}")


class RecordingMonitor(MockMonitor):
    """A MockMonitor that keeps every resource registration whole."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.records: list[RecordedResource] = []

    def _record(self, request: Any, urn: str, id_: str | None, custom: bool, outputs: Any) -> None:
        property_dependencies = {
            key: tuple(deps.urns) for key, deps in sorted(getattr(request, "propertyDependencies", {}).items())
        }
        self.records.append(
            RecordedResource(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=custom,
                id=id_ or None,
                parent=request.parent or None,
                provider=request.provider or None,
                dependencies=tuple(getattr(request, "dependencies", ())),
                property_dependencies=property_dependencies,
                protect=bool(getattr(request, "protect", False)),
                retain_on_delete=bool(getattr(request, "retainOnDelete", False)),
                inputs=_tidy(
                    json_format.MessageToDict(request.object if hasattr(request, "object") else request.properties)
                ),
                outputs=_tidy(json_format.MessageToDict(outputs)) if outputs is not None else {},
            )
        )

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        has_object = request.type != "pulumi:pulumi:Stack"
        self._record(request, response.urn, response.id, bool(request.custom), response.object if has_object else None)
        return response

    def ReadResource(self, request: Any) -> Any:
        response = super().ReadResource(request)  # type: ignore[no-untyped-call]
        self._record(request, response.urn, request.id, True, response.properties)
        return response
