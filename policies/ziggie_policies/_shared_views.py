"""One read-only view of each resource per analyzer request, shared by every policy of the pack.

pulumi-policy 1.21.0's analyzer servicer (pulumi/pulumi-policy
``sdk/python/lib/pulumi_policy/policy.py``, ``_PolicyAnalyzerServicer``) converts a resource
inside its loop over the policies: ``Analyze`` calls ``json_format.MessageToDict``,
``deserialize_properties``, ``unknown_checking_proxy``, ``_get_resource_options`` and
``_get_provider_resource`` on its request once per resource policy, and ``AnalyzeStack`` does
the same for every resource of the stack once per stack policy. With ten stack policies that is
ten conversions of each of the 6,304 resources of 2,100 services: nearly all of AnalyzeStack's
time, where the policies' own logic is about 2 %. The Pulumi CLI calls the pack over the same
gRPC methods as preflight, so the saving has to live in the pack.

:class:`SharedViewPolicyPack` serves the pack with :class:`SharedViewServicer`, which runs the
SDK's own ``Analyze``, ``AnalyzeStack`` and ``_get_provider_resource`` code with those three
global names bound to memoizing stand-ins for the length of one request: each message is
converted once and every policy of the request reads the same view. AnalyzeStack's resources
are built and linked once per request (each of a resource's props converted when a policy
first reads it), equal option messages share one view, and a provider
(every resource of a host carries a copy) is viewed once for all requests. None of the SDK's
logic is rewritten (which policies run at which level, how violations, unknown values and
not-applicable are reported), and the installed ``pulumi_policy`` module is left unpatched.
tests/policies/test_shared_views.py pins the SDK shape this relies on.

A shared view must not carry one policy's writes into another policy's input, so it is
read-only all the way down: property maps and lists are the SDK's own unknown-checking proxies
over a ``MappingProxyType`` and a tuple (reading an unknown value still raises
``UnknownValueError``, writing raises ``TypeError``), and the options, custom timeouts and
provider are copies whose attributes cannot be set, and so are AnalyzeStack's resources, whose
dependencies are tuples; each stack policy gets a list of its own.

``Remediate`` converts its request once already (remediations chain, each seeing the last
one's properties, with secrets kept as markers), so it runs as the SDK has it but for the
faster Struct conversion and the shared provider. The SDK configures ``pulumi.runtime`` from
the environment on every request; this does it once per process. The server runs on two
threads, not the SDK's four (:data:`SERVER_THREADS` says why).
"""

from __future__ import annotations

import math
import threading
import types
from collections.abc import Callable, Iterator, Mapping
from concurrent import futures
from contextlib import contextmanager
from typing import Any, Final

from google.protobuf import json_format
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyPack,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    StackValidationArgs,
)
from pulumi_policy import policy as sdk
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import _DictProxy, _ListProxy

STRUCT: Final = "google.protobuf.Struct"


def _value(value: Any) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "number_value":
        number = value.number_value
        if math.isinf(number) or math.isnan(number):
            raise ValueError(f"Fail to serialize {number} for Value.number_value, which would parse as string_value")
        return number
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return _struct(value.struct_value)
    if kind == "list_value":
        return [_value(item) for item in value.list_value.values]
    return None  # null_value, or no kind set


def _struct(struct: Any) -> dict[str, Any]:
    fields = struct.fields  # its items() is the generic Mapping one, a Python generator
    return {key: _value(fields[key]) for key in fields}


def message_to_dict(message: Any) -> dict[str, Any]:
    """``json_format.MessageToDict(message)``, without its generic dispatch when it is a Struct.

    Every message the SDK's analyze code converts is a ``google.protobuf.Struct`` of resource
    properties, and json_format's walk over one (protocolbuffers/protobuf
    ``python/google/protobuf/json_format.py``, ``_StructMessageToJsonObject`` and
    ``_ValueMessageToJsonObject``) maps each Value by its kind: null or unset to None, numbers
    to floats (infinity and NaN refused with a ValueError), strings, booleans, structs to dicts
    and lists to lists, keys in the map's order. So does this, about three times as fast.
    """
    if message.DESCRIPTOR.full_name != STRUCT:
        return json_format.MessageToDict(message)  # type: ignore[no-any-return]
    return _struct(message)


def convert_field(key: str, value: Any) -> Any:
    """One top-level property of a Struct as the SDK has it in a resource's props: the field's
    ``Value`` as ``message_to_dict`` converts it, then as ``deserialize_properties`` does (which
    deserializes each key on its own: pulumi-policy ``deserialize.py``)."""
    return deserialize_properties({key: _value(value)})[key]


# Read at call time, so a test can count the conversions actually made.
_to_dict: Callable[[Any], dict[str, Any]] = message_to_dict
_deserialize: Callable[[dict[str, Any]], dict[str, Any]] = deserialize_properties
_convert_field: Callable[[str, Any], Any] = convert_field


class LazyProps(Mapping[str, Any]):
    """A Struct's properties, each converted by :func:`convert_field` when first read, then kept.

    Keys, their order and every value are those of ``deserialize_properties(MessageToDict(struct))``;
    only the time of the work differs, and with it where a value neither could convert (a
    non-finite number, a malformed secret) raises: on reading its key, not on reading the props.
    """

    __slots__ = ("_converted", "_fields")

    def __init__(self, struct: Any) -> None:
        self._fields = struct.fields
        self._converted: dict[str, Any] = {}

    def __getitem__(self, key: Any) -> Any:
        try:
            return self._converted[key]  # an unhashable key raises TypeError, as a dict's lookup
        except KeyError:
            pass
        if not isinstance(key, str) or key not in self._fields:
            raise KeyError(key)
        value = self._converted[key] = _convert_field(key, self._fields[key])
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)


_request = threading.local()
"""The views of the request the current thread serves (the pack's gRPC server has 4 threads)."""


class _Views:
    """The views built during one request, one table per kind of view.

    A table is keyed on the identity of what each view was built from, and holds that source until
    the request ends, so its identity cannot be reused by another object meanwhile; protobuf then
    also hands out the same wrapper for the same sub-message on every policy's pass over the
    request. Each kind has its own table, so a view of one kind is never handed out for another.
    """

    def __init__(self, stack_builder: Callable[[], list[SharedResource]] | None = None) -> None:
        self.dicts: dict[int, tuple[Any, Any]] = {}
        self.deserialized: dict[int, tuple[Any, Any]] = {}
        self.proxies: dict[int, tuple[Any, Any]] = {}
        self.options: dict[int, tuple[Any, Any]] = {}
        self.equal_options: dict[bytes, SharedOptions] = {}
        """Options by their message's bytes: equal options messages share one view."""
        self.stack_builder = stack_builder
        """Builds the resources of the AnalyzeStack request being served, if that is the request."""
        self.stack: list[SharedResource] | None = None
        """Those resources, built when the first stack policy asks for them."""


def _held(table: dict[int, tuple[Any, Any]], source: Any, build: Callable[[Any], Any]) -> Any:
    """The view in `table` built from `source` itself, else a new one, kept there."""
    held = table.get(id(source))
    if held is not None and held[0] is source:
        return held[1]
    view = build(source)
    table[id(source)] = (source, view)
    return view


def _current() -> _Views | None:
    views: _Views | None = getattr(_request, "views", None)
    return views


@contextmanager
def _one_request(stack_builder: Callable[[], list[SharedResource]] | None = None) -> Iterator[_Views]:
    views = _request.views = _Views(stack_builder)
    try:
        yield views
    finally:
        del _request.views


# --- the stand-ins the SDK's conversion code runs with -----------------------------------------


class _NestedViews:
    """A lazy view's nested lists and dicts: each made a read-only view, with its path, when first read.

    The view is kept, so reading the same place again gives the same view.
    """

    def __init__(self, path: list[str]) -> None:
        self._path = path
        self._views: dict[Any, Any] = {}

    def _view(self, key: Any, value: Any) -> Any:
        if not isinstance(value, (list, dict)):
            return value
        view = self._views.get(key)
        if view is None:
            view = self._views[key] = _read_only(value, [*self._path, str(key)])
        return view


class ReadOnlyDict(_NestedViews, _DictProxy):
    """``unknown_checking_proxy``'s dict proxy over a mapping that cannot be written, built lazily.

    As the SDK's ``_proxy_helper``, each nested list and dict is a proxy with the path that leads to
    it, which names an unknown value's place in its error; here it is made when first read (and
    kept, so reading it again gives the same view) rather than for every value up front: most
    policies read a few keys of a few resources. Nothing mutable is handed out: ``"__target"``, the
    SDK proxy's way to its contents (unknown values unchecked), gives a read-only mapping of views.
    """

    def __init__(self, target: Mapping[str, Any], path: list[str]) -> None:
        self._raw = types.MappingProxyType(target)  # type: ignore[arg-type]
        _DictProxy.__init__(self, self._raw, path)  # type: ignore[arg-type]
        _NestedViews.__init__(self, path)

    def __getitem__(self, key: Any) -> Any:
        if key == "__target":
            return types.MappingProxyType({k: self._view(k, v) for k, v in self._raw.items()})
        return self._view(key, super().__getitem__(key))  # raises UnknownValueError as the SDK's proxy


class ReadOnlyList(_NestedViews, _ListProxy):
    """``unknown_checking_proxy``'s list proxy over a tuple, its nested lists and dicts viewed when read."""

    def __init__(self, target: list[Any], path: list[str]) -> None:
        self._raw = tuple(target)
        _ListProxy.__init__(self, self._raw, path)  # type: ignore[arg-type]
        _NestedViews.__init__(self, path)

    def __getitem__(self, key: Any) -> Any:
        if key == "__target":
            return tuple(self._view(i, v) for i, v in enumerate(self._raw))
        if isinstance(key, slice):  # as the SDK's proxy: a tuple of the items, unknown values unchecked
            return tuple(self._view(i, self._raw[i]) for i in range(*key.indices(len(self._raw))))
        value = super().__getitem__(key)
        return self._view(key + len(self._raw) if key < 0 else key, value)


def _read_only(value: Any, path: list[str]) -> Any:
    """``unknown_checking_proxy``'s proxies of `value`, over containers that cannot be written."""
    if isinstance(value, list):
        return ReadOnlyList(value, path)
    if isinstance(value, dict):
        return ReadOnlyDict(value, path)
    return value


def _read_only_root(props: dict[str, Any]) -> Any:
    return _read_only(props, [])


class _SharedJsonFormat:
    """Stands in for ``google.protobuf.json_format``: one dict per message and request."""

    @staticmethod
    def MessageToDict(message: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:  # noqa: N802 - the SDK's name
        views = _current()
        if args or kwargs:
            return json_format.MessageToDict(message, *args, **kwargs)
        if views is None:
            return _to_dict(message)
        converted: dict[str, Any] = _held(views.dicts, message, _to_dict)
        return converted


def _shared_deserialize(props: dict[str, Any], proxy_secrets: bool = False) -> dict[str, Any]:
    views = _current()
    if views is None or proxy_secrets:
        return deserialize_properties(props, proxy_secrets)
    deserialized: dict[str, Any] = _held(views.deserialized, props, _deserialize)
    return deserialized


def _shared_proxy(props: dict[str, Any]) -> Mapping[str, Any]:
    views = _current()
    if views is None:
        return _read_only_root(props)  # a provider's view, kept across requests
    view: Mapping[str, Any] = _held(views.proxies, props, _read_only_root)
    return view


def _with_globals(function: Callable[..., Any], **names: Any) -> Any:
    """``function``'s own code, run with some of the global names it reads bound to ``names``."""
    scope = {**vars(sdk), **names}
    # Its name is its code's, as FunctionType takes it when none is given.
    rebound = types.FunctionType(function.__code__, scope, argdefs=function.__defaults__, closure=function.__closure__)
    rebound.__kwdefaults__ = function.__kwdefaults__
    rebound.__qualname__ = function.__qualname__
    rebound.__doc__ = function.__doc__
    return rebound


SHARED_NAMES: Final = {
    "json_format": _SharedJsonFormat,
    "deserialize_properties": _shared_deserialize,
    "unknown_checking_proxy": _shared_proxy,
}
"""The global names of the SDK's conversion code that read the request's shared views."""


# --- read-only copies of the SDK's option and provider objects ---------------------------------


class _ReadOnlyAttributes:
    """Attributes cannot be set or deleted: the object is shared by every policy of a request."""

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__}.{name} is shared by every policy of the request and read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__}.{name} is shared by every policy of the request and read-only")


class SharedOptions(_ReadOnlyAttributes, PolicyResourceOptions):
    """A resource's options as the SDK builds them, read-only, its lists as tuples."""


class SharedCustomTimeouts(_ReadOnlyAttributes, PolicyCustomTimeouts):
    """A resource's custom timeouts as the SDK builds them, read-only."""


class SharedProvider(_ReadOnlyAttributes, PolicyProviderResource):
    """A resource's provider as the SDK builds it, read-only (its props are a read-only view)."""


class SharedResource(_ReadOnlyAttributes, PolicyResource):
    """A resource of AnalyzeStack, linked to its parent and dependencies, read-only.

    Its props are converted from the request's message key by key, when a policy first reads
    each: most stack policies look at a few props of a few kinds of resource (host-allocation
    reads four of a container's forty-odd, whose environment and uploaded files are the bulk).
    """

    @property
    def props(self) -> Any:
        attributes = vars(self)
        view = attributes.get("_props")
        if view is None:
            view = attributes["_props"] = ReadOnlyDict(LazyProps(attributes["_properties"]), [])
        return view


OPTION_LISTS: Final = ("ignore_changes", "aliases", "additional_secret_outputs")
"""The options the SDK hands out as the request's own (writable) repeated fields."""


def _copy_as(frozen: type[Any], attributes: Mapping[str, Any]) -> Any:
    copy = object.__new__(frozen)
    vars(copy).update(attributes)  # past __setattr__: the copy is filled once, here
    return copy


def read_only_options(options: PolicyResourceOptions) -> SharedOptions:
    """``options`` with its lists as tuples and its custom timeouts read-only."""
    attributes = dict(vars(options))
    for name in OPTION_LISTS:
        attributes[name] = tuple(attributes[name])
    attributes["custom_timeouts"] = _copy_as(SharedCustomTimeouts, vars(options.custom_timeouts))
    shared: SharedOptions = _copy_as(SharedOptions, attributes)
    return shared


def read_only_provider(provider: PolicyProviderResource | None) -> SharedProvider | None:
    """``provider`` read-only; its props are already the request's read-only view."""
    return None if provider is None else _copy_as(SharedProvider, vars(provider))


# --- the servicer and the pack ------------------------------------------------------------------

_NO_RESOURCES: Final = types.SimpleNamespace(resources=())
MAX_PROVIDERS: Final = 4096
"""Provider views kept across requests (a stack has one provider per host and cloud region)."""


def _shared_stack_args(resources: list[Any], config: Any, stack_tags: Any) -> StackValidationArgs:
    """Stands in for StackValidationArgs in the SDK's AnalyzeStack: the request's shared resources."""
    views = _current()
    if views is None or views.stack_builder is None:
        return StackValidationArgs(resources, config, stack_tags)
    if views.stack is None:
        views.stack = views.stack_builder()
    # A list of its own for each policy, of the same read-only resources.
    return StackValidationArgs(list(views.stack), config, stack_tags)


_Base: Any = sdk._PolicyAnalyzerServicer  # the SDK names its servicer private; PolicyPack builds it


class SharedViewServicer(_Base):  # type: ignore[misc]
    """The SDK's analyzer servicer, converting each resource once per request for all its policies."""

    _sdk_analyze = _with_globals(_Base.Analyze, **SHARED_NAMES)
    _sdk_analyze_stack = _with_globals(_Base.AnalyzeStack, StackValidationArgs=_shared_stack_args)
    _sdk_provider = _with_globals(_Base._get_provider_resource, **SHARED_NAMES)
    # Remediate builds its one view itself (remediations chain) with secrets kept as markers;
    # only its conversion to a dict is the faster one.
    Remediate = _with_globals(_Base.Remediate, json_format=_SharedJsonFormat)

    _runtime_lock: Final = threading.Lock()
    _runtime_configured = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._providers: dict[bytes, PolicyProviderResource | None] = {}

    def _configure_runtime_settings(self) -> None:
        """The SDK's ``_configure_runtime_settings``, once per process instead of once per request.

        It copies the config variables and the project, stack and dry-run settings from the
        environment into ``pulumi.runtime`` - the same each time, as the process's environment
        does not change - and builds the Settings through ``inspect.signature`` on every call:
        about 0.2 ms, 2.5 s of the 12,608 Remediate and Analyze calls at 2,100 services.
        """
        with self._runtime_lock:
            if not self._runtime_configured:
                super()._configure_runtime_settings()
                self._runtime_configured = True

    def Analyze(self, request: Any, context: Any) -> Any:  # noqa: N802 - the gRPC method's name
        with _one_request():
            return self._sdk_analyze(request, context)

    def AnalyzeStack(self, request: Any, context: Any) -> Any:  # noqa: N802 - the gRPC method's name
        # The SDK's code runs every stack policy over a request without resources, so it builds
        # nothing per policy; StackValidationArgs hands each policy the request's one linked list.
        with _one_request(lambda: self._stack_resources(request)):
            return self._sdk_analyze_stack(_NO_RESOURCES, context)

    def _stack_resources(self, request: Any) -> list[SharedResource]:
        """Every resource of an AnalyzeStack request once, linked as the SDK links them."""
        built: list[tuple[SharedResource, Any]] = []
        by_urn: dict[str, SharedResource] = {}
        for r in request.resources:
            resource = _copy_as(
                SharedResource,
                {
                    "resource_type": r.type,
                    "_properties": r.properties,  # converted when first read
                    "urn": r.urn,
                    "name": r.name,
                    "opts": self._get_resource_options(r),
                    "provider": self._get_provider_resource(r),
                },
            )
            built.append((resource, r))
            by_urn[r.urn] = resource
        # Links only to resources of the request; a property's entry stays, possibly empty.
        for resource, r in built:
            vars(resource).update(
                parent=by_urn.get(r.parent),  # None for "", no parent, as for one outside the request
                dependencies=tuple(by_urn[urn] for urn in r.dependencies if urn in by_urn),
                property_dependencies=types.MappingProxyType(
                    {
                        key: tuple(by_urn[urn] for urn in deps.urns if urn in by_urn)
                        for key, deps in r.propertyDependencies.items()
                    }
                ),
            )
        return [resource for resource, _ in built]

    def _get_resource_options(self, request: Any) -> PolicyResourceOptions:
        build = super()._get_resource_options
        views = _current()
        if views is None:
            return build(request)  # type: ignore[no-any-return]

        # Options are built from the request's options message alone: one view for equal ones.
        # The message has no map field, so equal options serialize to equal bytes as they are.
        def shared(r: Any) -> SharedOptions:
            key = r.options.SerializeToString()
            options = views.equal_options.get(key)
            if options is None:
                options = views.equal_options[key] = read_only_options(build(r))
            return options

        viewed: PolicyResourceOptions = _held(views.options, request, shared)
        return viewed

    def _get_provider_resource(self, request: Any) -> PolicyProviderResource | None:
        if not request.HasField("provider"):
            return None
        # Every resource of a host carries a copy of the same provider, and a copy is all the
        # SDK builds the view from: one read-only view serves equal copies, request after request.
        key = request.provider.SerializeToString(deterministic=True)
        provider: PolicyProviderResource | None = self._providers.get(key)
        if provider is None:
            if len(self._providers) >= MAX_PROVIDERS:
                self._providers.clear()
            provider = self._providers[key] = read_only_provider(self._sdk_provider(request))
        return provider


SERVER_THREADS: Final = 2
"""Threads of the pack's gRPC server; the SDK's PolicyPack serves with four.

Every handler of the pack is Python that holds the GIL from the request's conversion to the
response, so handlers run one at a time whatever the number of threads, and every thread more
only adds handoffs of the GIL between them. Two keep one thread free to take the next call
(a Cancel among them) while the other runs a handler. Measured on two cores over the 12,608
Remediate and Analyze calls of 2,100 services (benchmarks/analyzer_throughput.py and
preflight_scale.py): about 4.0 s with two or three threads, 4.8 s with four, 4.4 s with one.
"""


class _ServerFutures:
    """``concurrent.futures`` as ``PolicyPack.__init__`` reads it: its one use, the gRPC server's
    pool (``grpc.server(futures.ThreadPoolExecutor(max_workers=4), ...)``), made with
    :data:`SERVER_THREADS` threads."""

    @staticmethod
    def ThreadPoolExecutor(max_workers: int | None = None) -> futures.ThreadPoolExecutor:  # noqa: N802 - the SDK's name
        return futures.ThreadPoolExecutor(max_workers=SERVER_THREADS, thread_name_prefix="policy-server")


class SharedViewPolicyPack(PolicyPack):
    """A PolicyPack served by :class:`SharedViewServicer` on :data:`SERVER_THREADS` threads;
    constructing it serves, as PolicyPack does."""

    __init__ = _with_globals(PolicyPack.__init__, _PolicyAnalyzerServicer=SharedViewServicer, futures=_ServerFutures)
