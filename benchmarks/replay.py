"""The bare-SDK baseline preflight's program run is measured against.

`replay` registers exactly the resources a preflight run recorded - same types, names,
inputs, parents, providers, dependencies (of the resource and of each input), protect and the
other options - through the plain Pulumi SDK under mocks that echo the inputs, with everything at
the SDK's defaults (the cyclic garbage collector on, the SDK's own MockMonitor). What the
program does beyond that - reading and validating config, rendering files, preflight's
recording - is what the comparison shows.

Two ways to declare the same resources:

- `declared="classes"` (the benchmark's baseline): each resource through its provider SDK's
  class, as any Pulumi program declares it (``pulumi_docker.Container(name, image=..., opts=...)``),
  its recorded wire inputs turned back into the class's Python arguments; each component
  through a `ComponentResource` subclass. This is the SDK's whole cost for these resources:
  a typed class makes an Output for every property it declares (a Container's 78), serializes
  through its input types and records where in the program it was declared.
- `declared="untyped"`: `pulumi.CustomResource(type, name, inputs)` with the wire inputs as
  they are. No program declares resources this way; it shows how much of the SDK's cost is
  the typed classes'.
"""

from __future__ import annotations

import importlib
import json
import typing
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, Literal

import pulumi
from pulumi import _types
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from preflight.records import SECRET_SIG_KEY, RecordedResource, is_secret

ROOT_STACK = "pulumi:pulumi:Stack"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
PROVIDER_PREFIX = "pulumi:providers:"

Declared = Literal["classes", "untyped"]


class EchoMocks(Mocks):
    """Trivial mocks: a resource's id is its name and its state is its inputs."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: MockCallArgs) -> dict[Any, Any]:  # type: ignore[override]
        return {}


class Component(pulumi.ComponentResource):
    """A component as a program declares one: a subclass whose constructor calls the SDK's."""

    def __init__(self, t: str, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions) -> None:
        super().__init__(t, name, dict(props), opts)


def _value(wire: Any) -> Any:
    """A recorded wire-form input as the program handed it to the SDK: secrets become secret Outputs."""
    if is_secret(wire):
        return pulumi.Output.secret(_value(wire["value"]))
    if isinstance(wire, dict):
        return {key: _value(item) for key, item in wire.items() if key != SECRET_SIG_KEY}
    if isinstance(wire, list):
        return [_value(item) for item in wire]
    return wire


@cache
def provider_class(token: str) -> type[pulumi.CustomResource]:
    """The provider SDK's class for a resource type token, by the Python SDK generator's naming.

    ``docker:index/container:Container`` is ``pulumi_docker.Container`` (the ``index`` module is
    the package itself), ``command:remote:Command`` is ``pulumi_command.remote.Command``,
    ``pulumi:providers:docker`` is ``pulumi_docker.Provider``.
    """
    if token == STACK_REFERENCE:
        return pulumi.StackReference
    if token.startswith(PROVIDER_PREFIX):
        package, module, name = token[len(PROVIDER_PREFIX) :], "index", "Provider"
    else:
        package, module, name = token.split(":")
    path = f"pulumi_{package.replace('-', '_')}"
    first = module.split("/")[0]
    if first != "index":
        path += f".{first}"
    found = getattr(importlib.import_module(path), name, None)
    if not (isinstance(found, type) and issubclass(found, pulumi.CustomResource)):
        # A name the SDK does not have is a failed lookup, whatever the module holds under it.
        raise LookupError(f"no provider class for {token} (looked for {path}.{name})")  # noqa: TRY004
    return found


@cache
def _args_class(cls: type) -> type:
    """The input type a generated resource class takes its arguments as: the one other name its
    module exports (``ContainerArgs``; ``BucketVersioningInitArgs`` where ``BucketVersioningArgs``
    is taken by an input type of the same package)."""
    module = importlib.import_module(cls.__module__)
    names = [name for name in getattr(module, "__all__", ()) if name != cls.__name__ and name.endswith("Args")]
    if len(names) != 1:
        raise LookupError(f"{cls.__module__} exports {names or 'no'} argument classes for {cls.__name__}")
    args: type = getattr(module, names[0])
    return args


@cache
def _names_and_types(input_type: type) -> tuple[dict[str, str], dict[str, Any]]:
    """An input type's Pulumi-to-Python property names, and its property types by Pulumi name."""
    names = {pulumi_name: py for py, pulumi_name in _types.input_type_py_to_pulumi_names(input_type).items()}
    return names, _types.input_type_types(input_type)


def _python(wire: Any, typ: Any) -> Any:
    """A wire-form value as a program passes it for a property of type `typ` (Python names, secrets as Outputs)."""
    if is_secret(wire):
        return pulumi.Output.secret(_python(wire["value"], typ))
    typ = _types.unwrap_type(typ) if typ is not None else None
    if isinstance(wire, dict):
        if isinstance(typ, type) and _types.is_input_type(typ):
            names, types = _names_and_types(typ)
            return {names[key]: _python(item, types.get(key)) for key, item in wire.items()}
        arguments = typing.get_args(typ)
        item_type = arguments[1] if len(arguments) == 2 else None
        return {key: _python(item, item_type) for key, item in wire.items()}
    if isinstance(wire, list):
        arguments = typing.get_args(typ)
        return [_python(item, arguments[0] if arguments else None) for item in wire]
    return wire


def _arguments(cls: type, record: RecordedResource) -> dict[str, tuple[str, Any]]:
    """A resource class's keyword arguments for the recorded inputs, by the inputs' wire names."""
    if cls is pulumi.StackReference:
        return {"name": ("stack_name", record.inputs["name"])}
    names, types = _names_and_types(_args_class(cls))
    provider = issubclass(cls, pulumi.ProviderResource)
    return {
        key: (names[key], _python(_from_json(wire, types.get(key)) if provider else wire, types.get(key)))
        for key, wire in record.inputs.items()
    }


def _from_json(wire: Any, typ: Any) -> Any:
    """A provider argument as the program passed it: a provider class sends each argument that is
    not a string as JSON (``.apply(pulumi.runtime.to_json)``, as pulumi_docker.Provider does)."""
    if is_secret(wire):
        return {**wire, "value": _from_json(wire["value"], typ)}
    if isinstance(wire, str) and _types.unwrap_type(typ) is not str:
        return json.loads(wire)
    return wire


def _register(resources: Sequence[RecordedResource], declared: Declared) -> None:
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
        arguments = (
            _arguments(cls := provider_class(record.type), record)
            if record.custom and declared == "classes"
            else {key: (key, _value(wire)) for key, wire in record.inputs.items()}
        )
        for key, dependencies in record.property_dependencies.items():
            if dependencies and key in arguments:
                # The program passed another resource's output: the value waits for those resources.
                name, value = arguments[key]
                urns = [make(dependency).urn for dependency in dependencies]
                arguments[key] = (name, pulumi.Output.all(*urns).apply(lambda _, value=value: value))
        props = dict(arguments.values())
        resource: pulumi.Resource
        if not record.custom:
            component = Component if declared == "classes" else pulumi.ComponentResource
            resource = component(record.type, record.name, props, opts)
        elif declared == "classes":
            resource = cls(record.name, opts=opts, **props)
        elif record.type.startswith(PROVIDER_PREFIX):
            resource = pulumi.ProviderResource(record.type[len(PROVIDER_PREFIX) :], record.name, props, opts)
        else:
            resource = pulumi.CustomResource(record.type, record.name, props, opts)
        made[urn] = resource
        return resource

    for record in resources:
        if record.type != ROOT_STACK:
            make(record.urn)


def prepare(resources: Sequence[RecordedResource], declared: Declared = "classes") -> None:
    """Import the provider classes the replay declares `resources` with, as a program's imports do.

    Only the lookup: what the SDK learns of a class when it is first used is the replay's to time.
    """
    if declared == "classes":
        for record in resources:
            if record.custom:
                cls = provider_class(record.type)
                if cls is not pulumi.StackReference:
                    _args_class(cls)


def replay(
    resources: Sequence[RecordedResource],
    *,
    project: str,
    stack: str,
    monitor: MockMonitor | None = None,
    declared: Declared = "classes",
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
        _sync_await(run_pulumi_func(lambda: _register(resources, declared)))
    finally:
        pulumi_settings.set_root_resource(None)  # type: ignore[arg-type]
