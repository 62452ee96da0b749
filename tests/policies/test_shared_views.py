"""ziggie_policies._shared_views: one read-only view per resource and request, for all its policies.

The servicer is called in-process here, so conversions can be counted and what each policy was
handed compared by identity; the pack's own start goes through it too (last test).
"""

from __future__ import annotations

import ast
import dis
import inspect
import itertools
import json
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor_pb2, json_format, struct_pb2
from hypothesis import given, settings
from hypothesis import strategies as st
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyPack,
    PolicyProviderResource,
    PolicyResourceOptions,
    ResourceValidationPolicy,
    StackValidationPolicy,
)
from pulumi_policy import policy as sdk
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, _DictProxy, _ListProxy
from ziggie_policies import _shared_views
from ziggie_policies._shared_views import (
    OPTION_LISTS,
    SERVER_THREADS,
    SHARED_NAMES,
    SharedViewPolicyPack,
    SharedViewServicer,
)

from preflight.analyzer import PolicyPackSession
from preflight.records import SECRET_SIG_KEY, SECRET_SIG_VALUE, RecordedResource

PACK_DIR = Path(__file__).resolve().parents[2] / "policies"
Validate = Callable[[Any, Callable[..., None]], None]
PROVIDER = "urn:pulumi:t::p::pulumi:providers:docker::vps1-docker"


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def _props(i: int) -> dict[str, Any]:
    return {
        "name": f"svc{i}",
        "memory": 512 + i,
        "envs": ["A=1", {SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": "B_PASSWORD=x"}],
        "labels": [{"label": "ziggie.service", "value": f"svc{i}"}],
        "healthcheck": {"tests": ["CMD", "true"], "interval": UNKNOWN_STRING_VALUE},
        "networkMode": UNKNOWN_STRING_VALUE,
    }


def _options(i: int) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=i % 2 == 0,
        parent="urn:pulumi:t::p::ziggie:docker:Host::vps1" if i else "",
        aliases=[f"alias{i}"],
        ignoreChanges=["envs"],
        customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(create=60.0 + i),
    )


def _provider() -> analyzer_pb2.AnalyzerProviderResource:
    return analyzer_pb2.AnalyzerProviderResource(
        type="pulumi:providers:docker",
        properties=_struct({"host": "ssh://deploy@vps1"}),
        urn=PROVIDER,
        name="vps1-docker",
    )


def _urn(i: int) -> str:
    return f"urn:pulumi:t::p::docker:index/container:Container::svc{i}"


def _stack_request(count: int) -> analyzer_pb2.AnalyzeStackRequest:
    request = analyzer_pb2.AnalyzeStackRequest()
    for i in range(count):
        entry = request.resources.add(
            urn=_urn(i),
            type="docker:index/container:Container",
            name=f"svc{i}",
            properties=_struct(_props(i)),
            options=_options(i),
            parent=_urn(0) if i else "",
            dependencies=[_urn(j) for j in range(i)],
        )
        entry.provider.CopyFrom(_provider())
        if i:
            entry.propertyDependencies["image"].urns.extend([_urn(0)])
    return request


def _analyze_request(i: int = 1) -> analyzer_pb2.AnalyzeRequest:
    return analyzer_pb2.AnalyzeRequest(
        type="docker:index/container:Container",
        properties=_struct(_props(i)),
        urn=_urn(i),
        name=f"svc{i}",
        options=_options(i),
        provider=_provider(),
    )


def _servicers(policies: list[Any]) -> tuple[Any, SharedViewServicer]:
    """The SDK's own servicer and the shared-view one, over the same policies."""
    made = [
        cls("t-pack", "0.0.1", policies, EnforcementLevel.MANDATORY)
        for cls in (sdk._PolicyAnalyzerServicer, SharedViewServicer)
    ]
    return made[0], made[1]


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many messages the shared servicer converts to dicts and deserializes."""
    counts = {"dict": 0, "deserialized": 0, "field": 0}

    def counting(stage: str, function: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def count(source: Any) -> Any:
            counts[stage] += 1
            return function(source)

        return count

    monkeypatch.setattr(_shared_views, "_to_dict", counting("dict", _shared_views._to_dict))
    monkeypatch.setattr(_shared_views, "_deserialize", counting("deserialized", _shared_views._deserialize))
    convert_field = _shared_views._convert_field

    def count_field(key: str, value: Any) -> Any:
        counts["field"] += 1
        return convert_field(key, value)

    monkeypatch.setattr(_shared_views, "_convert_field", count_field)
    return counts


# --- one conversion per resource and request, for every policy --------------------------------


def _stack_recorders(count: int, *, read_props: bool = True) -> tuple[list[Any], dict[str, list[Any]]]:
    seen: dict[str, list[Any]] = {}

    def recorder(name: str) -> Any:
        def validate(args: Any, report: Callable[..., None]) -> None:
            seen[name] = list(args.resources)
            if read_props:
                for resource in args.resources:
                    assert resource.props["labels"] is resource.props["labels"]

        return StackValidationPolicy(name=name, description="Records the stack.", validate=validate)

    return [recorder(f"stack-{k}") for k in range(count)], seen


def test_stack_request_converts_each_resource_once_for_all_its_policies(conversions: dict[str, int]) -> None:
    policies, seen = _stack_recorders(4)
    _, shared = _servicers(policies)
    shared.AnalyzeStack(_stack_request(5), None)
    # The provider all five carry a copy of, once; of the resources, only the one prop the
    # policies read ("labels"), once each for all four policies.
    assert conversions == {"dict": 1, "deserialized": 1, "field": 5}
    first, *others = seen.values()
    assert all(resource.props is resource.props for resource in first)
    assert [r.name for r in first] == [f"svc{i}" for i in range(5)]
    for other in others:
        assert other is not first, "each policy gets a list of its own"
        assert all(theirs is mine for mine, theirs in zip(first, other, strict=True))


def test_a_stack_resource_whose_props_no_policy_reads_is_not_converted(conversions: dict[str, int]) -> None:
    policies, seen = _stack_recorders(3, read_props=False)
    _, shared = _servicers(policies)
    shared.AnalyzeStack(_stack_request(5), None)
    assert conversions == {"dict": 1, "deserialized": 1, "field": 0}  # the provider all five carry, built with each
    assert [r.name for r in next(iter(seen.values()))] == [f"svc{i}" for i in range(5)]


def test_the_sdk_servicer_converts_each_resource_once_per_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the shared views save: the SDK's own servicer, counted the same way, on the same request."""
    calls = []
    original = sdk.deserialize_properties
    monkeypatch.setattr(sdk, "deserialize_properties", lambda props, *a: calls.append(1) or original(props, *a))
    policies, _ = _stack_recorders(4)
    stock, _ = _servicers(policies)
    stock.AnalyzeStack(_stack_request(5), None)
    assert len(calls) == 4 * 10


def test_analyze_request_converts_the_resource_once_for_all_its_policies(conversions: dict[str, int]) -> None:
    seen: list[Any] = []

    def validate(args: Any, report: Callable[..., None]) -> None:
        seen.append(args)

    policies = [
        ResourceValidationPolicy(name=f"resource-{k}", description="Records the resource.", validate=validate)
        for k in range(3)
    ]
    _, shared = _servicers(policies)
    shared.Analyze(_analyze_request(), None)
    assert conversions == {"dict": 2, "deserialized": 2, "field": 0}  # the resource and its provider
    assert len(seen) == 3 and all(a.props is seen[0].props and a.provider is seen[0].provider for a in seen)
    # A new request's resource is converted anew; its provider, equal to the last one's, is not.
    shared.Analyze(_analyze_request(), None)
    assert conversions == {"dict": 3, "deserialized": 3, "field": 0}
    assert seen[3].props is not seen[0].props and seen[3].provider is seen[0].provider
    # A provider that differs is converted.
    other = _analyze_request()
    other.provider.properties["host"] = "ssh://deploy@vps2"
    shared.Analyze(other, None)
    assert conversions == {"dict": 5, "deserialized": 5, "field": 0}
    assert seen[6].provider.props["host"] == "ssh://deploy@vps2"


# --- the same answers as the SDK's own servicer ---------------------------------------------------


def _describe(props: Any) -> str:
    return f"name={props['name']} memory={props['memory']} envs={list(props['envs'])} labels={[dict(e) for e in props['labels']]}"


def _resource_policies() -> list[Any]:
    def describe(args: Any, report: Callable[..., None]) -> None:
        timeouts = args.opts.custom_timeouts
        report(
            f"{args.resource_type} {_describe(args.props)} protect={args.opts.protect} parent={args.opts.parent} "
            f"aliases={list(args.opts.aliases)} ignore={list(args.opts.ignore_changes)} "
            f"timeouts={timeouts.create_seconds},{timeouts.update_seconds} "
            f"provider={args.provider.name}:{args.provider.props['host']} health={args.props['healthcheck']['tests'][0]}"
        )

    def reads_unknown(args: Any, report: Callable[..., None]) -> None:
        report(args.props["healthcheck"]["interval"])

    def not_applicable(args: Any, report: Callable[..., None]) -> None:
        args.not_applicable("containers only on Tuesdays")

    async def later(args: Any, report: Callable[..., None]) -> None:
        report(f"async {args.name} network={args.props.get('nope')}")

    return [
        ResourceValidationPolicy(name="describe", description="Describes.", validate=describe),
        ResourceValidationPolicy(name="reads-unknown", description="Reads an unknown.", validate=reads_unknown),
        ResourceValidationPolicy(name="not-applicable", description="Never applies.", validate=not_applicable),
        ResourceValidationPolicy(name="later", description="Runs async.", validate=later),
        ResourceValidationPolicy(
            name="off", description="Disabled.", validate=describe, enforcement_level=EnforcementLevel.DISABLED
        ),
    ]


def _stack_policies() -> list[Any]:
    def links(args: Any, report: Callable[..., None]) -> None:
        for r in args.resources:
            deps = [d.name for d in r.dependencies]
            pdeps = {k: [d.name for d in v] for k, v in r.property_dependencies.items()}
            report(
                f"{r.resource_type} {_describe(r.props)} parent={r.parent.name if r.parent else None} deps={deps} "
                f"pdeps={pdeps} "
                f"provider={r.provider.props['host']} protect={r.opts.protect}",
                r.urn,
            )

    def drops(args: Any, report: Callable[..., None]) -> None:
        # Its own list: what it drops is still there for the next policy.
        args.resources.clear()
        report("dropped")

    def reads_unknown(args: Any, report: Callable[..., None]) -> None:
        report(args.resources[1].props["networkMode"])

    return [
        StackValidationPolicy(name="drops", description="Drops.", validate=drops),
        StackValidationPolicy(name="links", description="Reports links.", validate=links),
        StackValidationPolicy(name="stack-reads-unknown", description="Reads an unknown.", validate=reads_unknown),
    ]


def test_analyze_answers_as_the_sdk_servicer() -> None:
    stock, shared = _servicers(_resource_policies())
    expected = stock.Analyze(_analyze_request(), None)
    assert len(expected.diagnostics) == 3 and len(expected.not_applicable) == 1  # the case is not empty
    assert "can't run policy 'reads-unknown'" in expected.diagnostics[1].message
    assert shared.Analyze(_analyze_request(), None) == expected


def test_analyze_stack_answers_as_the_sdk_servicer() -> None:
    stock, shared = _servicers(_stack_policies())
    expected = stock.AnalyzeStack(_stack_request(4), None)
    assert len(expected.diagnostics) == 6
    assert "deps=['svc0', 'svc1']" in expected.diagnostics[3].message
    assert shared.AnalyzeStack(_stack_request(4), None) == expected


def test_remediate_answers_as_the_sdk_servicer() -> None:
    def rewrite(args: Any) -> Any:
        # Secrets are markers here: the raw list keeps them, as secrets-not-plaintext reads it.
        raw = args.props["envs"]["__target"]
        return {**args.props, "memory": args.props["memory"] * 2, "envs": raw, "seen": type(raw[1]).__name__}

    def chained(args: Any) -> Any:
        return {**args.props, "chained": args.props["memory"]}

    def unknown(args: Any) -> Any:
        return {"x": args.props["healthcheck"]["interval"]}

    policies = [
        ResourceValidationPolicy(
            name=name, description=f"{name}.", remediate=fn, enforcement_level=EnforcementLevel.REMEDIATE
        )
        for name, fn in (("rewrite", rewrite), ("chained", chained), ("unknown", unknown))
    ]
    stock, shared = _servicers(policies)
    expected = stock.Remediate(_analyze_request(), None)
    assert [r.policyName for r in expected.remediations] == ["rewrite", "chained", "unknown"]
    assert json_format.MessageToDict(expected.remediations[1].properties)["chained"] == 1026.0
    assert "Secret" in json_format.MessageToDict(expected.remediations[0].properties)["seen"]
    assert shared.Remediate(_analyze_request(), None) == expected


def test_the_runtime_is_configured_from_the_environment_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(sdk._PolicyAnalyzerServicer, "_configure_runtime_settings", lambda self: calls.append(self))
    _, shared = _servicers(_resource_policies())
    for _ in range(3):
        shared.Analyze(_analyze_request(), None)
        shared.Remediate(_analyze_request(), None)
        shared.AnalyzeStack(_stack_request(2), None)
    assert calls == [shared]


# Reports what pulumi.runtime holds in the pack process, request after request.
RUNTIME_PACK = """
import pulumi
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy
from ziggie_policies._shared_views import SharedViewPolicyPack

def where(args, report):
    config = pulumi.Config("p").get("k")
    report(f"{pulumi.get_project()}/{pulumi.get_stack()} dry_run={pulumi.runtime.is_dry_run()} k={config}")

SharedViewPolicyPack(name="where", enforcement_level=EnforcementLevel.ADVISORY, policies=[
    ResourceValidationPolicy(name="where", description="Says where.", validate=where),
])
"""


def test_every_request_sees_the_runtime_the_environment_configures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n", encoding="utf-8")
    (pack / "__main__.py").write_text(RUNTIME_PACK, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(PACK_DIR))
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"p:k": "v"}))
    # Under `make mutation` the mutated package reads mutmut's settings from the pack's working
    # directory, which this pack of the test's own has not got: it runs the package unmutated.
    monkeypatch.delenv("MUTANT_UNDER_TEST", raising=False)
    records = [RecordedResource(urn=f"urn:pulumi:dev::p::t:m:R::r{i}", type="t:m:R", name=f"r{i}") for i in range(3)]
    with PolicyPackSession(pack, timeout=60, stack="dev", project="p") as session:
        session.configure(None)
        violations = session.analyze_resources(records) + session.analyze_resources(records)
    assert [v.message for v in violations] == ["p/dev dry_run=True k=v"] * 6


def test_outside_analyze_the_servicer_builds_options_as_the_sdk_does_and_shares_providers() -> None:
    _, shared = _servicers(_resource_policies())
    options = shared._get_resource_options(_analyze_request())
    assert type(options) is PolicyResourceOptions
    provider = shared._get_provider_resource(_analyze_request())
    assert isinstance(provider, PolicyProviderResource) and isinstance(provider.props, _DictProxy)
    assert shared._get_provider_resource(_analyze_request()) is provider
    with pytest.raises(TypeError):
        provider.props["host"] = "ssh://evil"  # type: ignore[index]
    assert shared._get_provider_resource(analyzer_pb2.AnalyzeRequest()) is None


# --- a policy cannot write into another policy's input ----------------------------------------------


def _set(target: Any, key: Any, value: Any) -> None:
    target[key] = value


WRITES: list[tuple[str, Callable[[Any], None]]] = [
    ("props_key", lambda a: _set(a.props, "memory", 1)),
    ("nested_props_key", lambda a: _set(a.props["healthcheck"], "retries", 9)),
    ("raw_target_key", lambda a: _set(a.props["__target"], "memory", 1)),
    ("raw_list_element", lambda a: _set(a.props["envs"]["__target"], 0, "A=2")),
    ("raw_list_append", lambda a: a.props["labels"]["__target"].append({})),
    ("option", lambda a: setattr(a.opts, "protect", True)),
    ("option_list", lambda a: a.opts.aliases.append("x")),
    ("custom_timeout", lambda a: setattr(a.opts.custom_timeouts, "create_seconds", 1.0)),
    ("provider_name", lambda a: setattr(a.provider, "name", "other")),
    ("provider_props", lambda a: _set(a.provider.props, "host", "ssh://evil")),
    ("provider_deleted", lambda a: delattr(a.provider, "props")),
]


def _snapshot(args: Any) -> str:
    t = args.opts.custom_timeouts
    return (
        f"{_describe(args.props)} {list(args.props['healthcheck'])} {list(args.props['healthcheck']['tests'])} "
        f"{args.opts.protect} {list(args.opts.aliases)} "
        f"{t.create_seconds} {args.provider.name} {dict(args.provider.props)}"
    )


@pytest.mark.parametrize(("write"), [w for _, w in WRITES], ids=[name for name, _ in WRITES])
def test_a_policy_cannot_change_what_the_next_policy_reads(write: Callable[[Any], None]) -> None:
    refused: list[BaseException] = []
    snapshots: list[str] = []

    def writer(args: Any, report: Callable[..., None]) -> None:
        snapshots.append(_snapshot(args))
        try:
            write(args)
        except (TypeError, AttributeError) as exc:
            refused.append(exc)

    def reader(args: Any, report: Callable[..., None]) -> None:
        snapshots.append(_snapshot(args))

    policies = [
        ResourceValidationPolicy(name="writer", description="Writes.", validate=writer),
        ResourceValidationPolicy(name="reader", description="Reads.", validate=reader),
    ]
    _, shared = _servicers(policies)
    response = shared.Analyze(_analyze_request(), None)
    assert not response.diagnostics, response.diagnostics
    assert len(refused) == 1, "the write went through"
    assert snapshots[0] == snapshots[1]


def test_a_stack_policy_cannot_change_what_the_next_stack_policy_reads() -> None:
    refused: list[BaseException] = []
    seen: list[str] = []

    writes: list[Callable[[Any], None]] = [
        lambda r: _set(r.props, "memory", 1),
        lambda r: setattr(r.opts, "protect", True),
        lambda r: setattr(r, "parent", None),
        lambda r: r.dependencies.clear(),
        lambda r: _set(r.property_dependencies, "image", []),
        lambda r: r.property_dependencies["image"].append(r),
    ]

    def writer(args: Any, report: Callable[..., None]) -> None:
        for write in writes:
            try:
                write(args.resources[1])
            except (TypeError, AttributeError) as exc:
                refused.append(exc)

    def reader(args: Any, report: Callable[..., None]) -> None:
        r = args.resources[1]
        seen.append(
            f"{r.props['memory']} {r.opts.protect} {r.parent.name} {[d.name for d in r.dependencies]} "
            f"{ {k: [d.name for d in v] for k, v in r.property_dependencies.items()} }"
        )

    policies = [
        StackValidationPolicy(name="writer", description="Writes.", validate=writer),
        StackValidationPolicy(name="reader", description="Reads.", validate=reader),
    ]
    _, shared = _servicers(policies)
    shared.AnalyzeStack(_stack_request(2), None)
    assert len(refused) == len(writes)
    assert seen == ["513.0 False svc0 ['svc0'] {'image': ['svc0']}"]


def test_a_read_only_view_reads_like_the_sdk_proxy() -> None:
    """Same keys, lengths, values and unknown-value errors as unknown_checking_proxy's."""
    raw = json_format.MessageToDict(_struct(_props(3)))
    stock = sdk.unknown_checking_proxy(sdk.deserialize_properties(raw))
    view = _shared_views._read_only(sdk.deserialize_properties(raw), [])
    assert isinstance(view, _DictProxy) and isinstance(view["envs"], _ListProxy)
    assert list(view) == list(stock) and len(view["envs"]) == len(stock["envs"]) == 2
    assert [view["envs"][i] for i in range(2)] == [stock["envs"][i] for i in range(2)] == ["A=1", "B_PASSWORD=x"]
    for props in (stock, view):
        with pytest.raises(sdk.UnknownValueError) as caught:
            props["healthcheck"]["interval"]
        assert caught.value.message == "string value at .healthcheck.interval can't be known during preview"


# --- the SDK shape this relies on (a pulumi-policy upgrade that changes it fails here) -------------


def _global_loads(function: Any) -> set[str]:
    return {i.argval for i in dis.get_instructions(function) if i.opname == "LOAD_GLOBAL"}


@pytest.mark.parametrize("method", ["Analyze", "AnalyzeStack", "_get_provider_resource"])
def test_the_sdk_converts_through_the_global_names_the_servicer_rebinds(method: str) -> None:
    function = getattr(sdk._PolicyAnalyzerServicer, method)
    assert set(SHARED_NAMES) <= _global_loads(function), method
    # ...with the signatures the stand-ins take.
    assert list(inspect.signature(sdk.deserialize_properties).parameters) == ["props", "proxy_secrets"]
    assert list(inspect.signature(sdk.unknown_checking_proxy).parameters) == ["props"]


def _attributes_read(function: Any, parameter: str) -> set[str]:
    instructions = list(dis.get_instructions(function))
    return {
        following.argval
        for current, following in itertools.pairwise(instructions)
        if current.opname == "LOAD_FAST" and current.argval == parameter
    }


def test_remediate_converts_through_json_format_and_options_come_from_the_options_message() -> None:
    assert "json_format" in _global_loads(sdk._PolicyAnalyzerServicer.Remediate)
    # One options view serves every request with equal options: the SDK reads nothing else.
    assert _attributes_read(sdk._PolicyAnalyzerServicer._get_resource_options, "request") == {"options"}
    assert _attributes_read(sdk._PolicyAnalyzerServicer._get_provider_resource, "request") <= {"HasField", "provider"}


def test_the_sdk_hands_stack_policies_their_resources_through_stack_validation_args() -> None:
    """The servicer runs the SDK's AnalyzeStack over a request without resources and fills them in there."""
    function = sdk._PolicyAnalyzerServicer.AnalyzeStack
    assert "StackValidationArgs" in _global_loads(function)
    assert list(inspect.signature(sdk.StackValidationArgs).parameters) == ["resources", "config", "stack_tags"]
    # The request is read for its resources only: any other read fails on the servicer's stand-in.
    assert _attributes_read(function, "request") == {"resources"}
    resource = sdk.PolicyResource("t", {}, "u", "n", None, None, None, [], {})  # type: ignore[arg-type]
    assert set(vars(resource)) == {
        "resource_type",
        "props",
        "urn",
        "name",
        "opts",
        "provider",
        "parent",
        "dependencies",
        "property_dependencies",
    }


def test_the_sdk_builds_options_and_provider_through_the_methods_the_servicer_overrides() -> None:
    for method in ("Analyze", "AnalyzeStack"):
        names = {i.argval for i in dis.get_instructions(getattr(sdk._PolicyAnalyzerServicer, method))}
        assert {"_get_resource_options", "_get_provider_resource"} <= names, method
    options = sdk._PolicyAnalyzerServicer._get_resource_options(None, _analyze_request())
    assert set(vars(options)) == {
        "protect",
        "ignore_changes",
        "delete_before_replace",
        "aliases",
        "custom_timeouts",
        "additional_secret_outputs",
        "parent",
    }
    assert set(OPTION_LISTS) <= set(vars(options))
    assert type(options.custom_timeouts) is PolicyCustomTimeouts
    for proxy in (_DictProxy, _ListProxy):
        assert list(inspect.signature(proxy).parameters) == ["target", "props_acc"]


def test_the_pack_is_served_by_the_shared_view_servicer() -> None:
    assert "_PolicyAnalyzerServicer" in _global_loads(PolicyPack.__init__)
    assert SharedViewPolicyPack.__init__.__code__ is PolicyPack.__init__.__code__
    assert SharedViewPolicyPack.__init__.__globals__["_PolicyAnalyzerServicer"] is SharedViewServicer
    tree = ast.parse((PACK_DIR / "__main__.py").read_text(encoding="utf-8"))
    packs = [
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.endswith("PolicyPack")
    ]
    assert packs == ["SharedViewPolicyPack"]


def test_the_pack_serves_on_its_own_number_of_threads() -> None:
    # The SDK's PolicyPack.__init__ reads concurrent.futures once: for its gRPC server's pool.
    tree = ast.parse(textwrap.dedent(inspect.getsource(PolicyPack.__init__)))
    uses = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and getattr(n.value, "id", None) == "futures"]
    servers = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) == "grpc.server" and n.args]
    assert [ast.unparse(n) for n in uses] == ["futures.ThreadPoolExecutor"]
    assert [ast.unparse(n.args[0]) for n in servers] == ["futures.ThreadPoolExecutor(max_workers=4)"]
    # The pack's copy of that code makes the pool with SERVER_THREADS threads instead.
    assert SharedViewPolicyPack.__init__.__globals__["futures"] is _shared_views._ServerFutures
    pool = _shared_views._ServerFutures.ThreadPoolExecutor(max_workers=4)
    try:
        assert pool._max_workers == SERVER_THREADS == 2
        # Named, so that a thread dump of the pack (py-spy dump, faulthandler) shows which
        # threads run its handlers.
        assert pool.submit(lambda: threading.current_thread().name).result().startswith("policy-server_")
    finally:
        pool.shutdown()


# --- Struct to dict, as json_format does it ----------------------------------------------------------

STRUCTS = [
    pytest.param({}, id="empty"),
    pytest.param(_props(7), id="resource_props_with_secret_and_unknowns"),
    pytest.param(
        {
            "n": None,
            "t": True,
            "f": False,
            "zero": 0,
            "int": 3072,
            "float": 0.8,
            "neg": -1.5e300,
            "s": "ünïcode ✓",
            "empty_list": [],
            "empty_map": {},
            "nested": {"a": [1, "x", None, [True, {"b": []}]], "c": {"d": {"e": "f"}}},
        },
        id="every_kind_nested",
    ),
]


@pytest.mark.parametrize("values", STRUCTS)
def test_message_to_dict_is_json_formats_for_a_struct(values: dict[str, Any]) -> None:
    struct = _struct(values)
    expected = json_format.MessageToDict(struct)
    got = _shared_views.message_to_dict(struct)
    assert got == expected
    assert repr(got) == repr(expected)  # same key order, same types (3072.0, not 3072)


@pytest.mark.parametrize("number", [float("inf"), float("-inf"), float("nan")], ids=["inf", "minus_inf", "nan"])
def test_message_to_dict_refuses_what_json_format_refuses(number: float) -> None:
    struct = _struct({"a": [{"b": number}]})
    with pytest.raises(ValueError, match="Fail to serialize"):
        json_format.MessageToDict(struct)
    with pytest.raises(ValueError, match="Fail to serialize"):
        _shared_views.message_to_dict(struct)


def test_message_to_dict_of_another_message_is_json_formats() -> None:
    options = _options(2)
    assert _shared_views.message_to_dict(options) == json_format.MessageToDict(options)


# --- the stand-ins and caches, one by one -------------------------------------------------------------


def test_a_rebound_function_is_the_same_function_reading_other_globals() -> None:
    def original(a: int, b: int = 2, *, c: int = 3) -> tuple[Any, ...]:
        """Reads a global."""
        return (len, a, b, c)

    rebound = _shared_views._with_globals(original, len="rebound")
    assert rebound(1) == ("rebound", 1, 2, 3) and original(1) == (len, 1, 2, 3)
    assert rebound(1, 5, c=6)[1:] == (1, 5, 6)
    for attribute in ("__name__", "__qualname__", "__doc__", "__defaults__", "__kwdefaults__", "__code__"):
        assert getattr(rebound, attribute) == getattr(original, attribute), attribute
    # Every other global the SDK's code reads is the SDK module's.
    assert rebound.__globals__["deserialize_properties"] is sdk.deserialize_properties


def test_a_closure_keeps_its_cells_when_rebound() -> None:
    outer = 7

    def reads_a_cell() -> tuple[Any, int]:
        return (len, outer)

    assert _shared_views._with_globals(reads_a_cell, len=None)() == (None, 7)


# json_format.MessageToDict(message, always_print_fields_with_no_presence, preserving_proto_field_name, ...)
PASSED_THROUGH: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((False, True), {}),
    ((), {"use_integers_for_enums": True}),
    ((False, True), {"use_integers_for_enums": True}),
]


@pytest.mark.parametrize(("args", "kwargs"), PASSED_THROUGH, ids=["positional", "keyword", "both"])
def test_message_to_dict_with_options_is_json_formats_own_call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    # A message with a snake_case field and an enum, so that each spelling's option shows.
    field = descriptor_pb2.FieldDescriptorProto(name="x", type_name=".t.T", type=9)
    expected = json_format.MessageToDict(field, *args, **kwargs)
    assert ("type_name" in expected) == bool(args) and (expected["type"] == 9) == bool(kwargs)
    with _shared_views._one_request():
        assert _shared_views._SharedJsonFormat.MessageToDict(field, *args, **kwargs) == expected
    assert _shared_views._SharedJsonFormat.MessageToDict(field, *args, **kwargs) == expected


def test_deserializing_with_secrets_proxied_is_the_sdks_in_and_out_of_a_request() -> None:
    props = {"s": {SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": "pw"}}
    expected = sdk.deserialize_properties(props, True)
    with _shared_views._one_request():
        inside = _shared_views._shared_deserialize(props, True)
    outside = _shared_views._shared_deserialize(props, True)
    for got in (inside, outside):
        assert type(got) is type(expected) and type(got) is not dict
        assert got["s"] == "pw"
    assert type(_shared_views._shared_deserialize(props)) is dict


def test_stack_validation_args_are_the_sdks_outside_analyze_stack() -> None:
    resources: list[Any] = [object()]
    config, tags = {"k": "v"}, {"team": "infra"}
    for views in (None, _shared_views._Views()):
        if views is None:
            args = _shared_views._shared_stack_args(resources, config, tags)
        else:
            with _shared_views._one_request():
                args = _shared_views._shared_stack_args(resources, config, tags)
        assert args.resources is resources and args.get_config() == config and args.stack_tags == tags


def test_in_analyze_stack_each_policy_gets_the_shared_resources_with_its_config_and_tags() -> None:
    built: list[list[Any]] = []

    def builder() -> list[Any]:
        built.append([object(), object()])
        return built[-1]

    with _shared_views._one_request(builder):
        first = _shared_views._shared_stack_args([], {"a": 1}, {"t": "1"})
        second = _shared_views._shared_stack_args([], {"b": 2}, {"t": "2"})
    assert len(built) == 1, "the resources are built once per request"
    assert first.resources == second.resources == built[0] and first.resources is not second.resources
    assert (first.get_config(), first.stack_tags) == ({"a": 1}, {"t": "1"})
    assert (second.get_config(), second.stack_tags) == ({"b": 2}, {"t": "2"})


def test_nested_lists_are_read_only_views_that_name_an_unknowns_place() -> None:
    raw = {"a": [[1, UNKNOWN_STRING_VALUE]], "b": [{"c": UNKNOWN_STRING_VALUE}], "d": [[[2]]]}
    stock = sdk.unknown_checking_proxy(sdk.deserialize_properties(raw))
    view = _shared_views._read_only(sdk.deserialize_properties(raw), [])
    assert isinstance(view["a"][0], _ListProxy) and isinstance(view["b"][0], _DictProxy)
    assert view["d"][0][0][0] == 2
    with pytest.raises(TypeError):
        view["a"][0]["__target"][0] = 5  # a tuple underneath
    for read in (lambda p: p["a"][0][1], lambda p: p["b"][0]["c"]):
        messages = []
        for props in (stock, view):
            with pytest.raises(sdk.UnknownValueError) as caught:
                read(props)
            messages.append(caught.value.message)
        assert messages[0] == messages[1] and messages[0].startswith("string value at .")


def _stack_request_with_options(
    options: list[analyzer_pb2.AnalyzerResourceOptions],
) -> analyzer_pb2.AnalyzeStackRequest:
    request = analyzer_pb2.AnalyzeStackRequest()
    for i, option in enumerate(options):
        request.resources.add(urn=_urn(i), type="t:m:R", name=f"r{i}", properties=_struct({}), options=option)
    return request


def test_equal_options_share_one_view_in_a_request_and_others_get_their_own() -> None:
    policies, seen = _stack_recorders(2, read_props=False)
    _, shared = _servicers(policies)
    shared.AnalyzeStack(_stack_request_with_options([_options(1), _options(2), _options(1)]), None)
    resources = seen["stack-0"]
    assert resources[0].opts is resources[2].opts
    assert resources[1].opts is not resources[0].opts and resources[1].opts.protect is True
    assert type(resources[0].opts) is _shared_views.SharedOptions and resources[0].opts.aliases == ("alias1",)


def test_a_provider_is_shared_whatever_the_order_of_its_properties() -> None:
    _, shared = _servicers(_resource_policies())
    keys = [f"k{i}" for i in range(20)]
    requests = []
    for order in (keys, keys[::-1]):
        request = _analyze_request()
        request.provider.properties.Clear()
        for key in order:
            request.provider.properties[key] = key
        requests.append(request)
    assert requests[0].provider.SerializeToString() != requests[1].provider.SerializeToString()
    first = shared._get_provider_resource(requests[0])
    assert shared._get_provider_resource(requests[1]) is first


def test_the_provider_views_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_shared_views, "MAX_PROVIDERS", 2)
    _, shared = _servicers(_resource_policies())
    kept = []
    for host in ("vps1", "vps2", "vps3"):
        request = _analyze_request()
        request.provider.properties["host"] = f"ssh://deploy@{host}"
        shared._get_provider_resource(request)
        kept.append(len(shared._providers))
    assert kept == [1, 2, 1], "the third provider starts a new table once two are kept"


def test_a_shared_object_refuses_writes_and_deletes_by_name() -> None:
    options = _shared_views.read_only_options(
        sdk._PolicyAnalyzerServicer._get_resource_options(None, _analyze_request())
    )
    message = "SharedOptions.protect is shared by every policy of the request and read-only"
    with pytest.raises(AttributeError) as written:
        options.protect = True
    with pytest.raises(AttributeError) as deleted:
        del options.protect
    assert str(written.value) == str(deleted.value) == message
    assert _shared_views.read_only_provider(None) is None


def test_the_servicer_takes_the_sdks_arguments_by_keyword_too() -> None:
    servicer = SharedViewServicer(
        name="t-pack", version="0.0.1", policies=_resource_policies(), enforcement_level=EnforcementLevel.MANDATORY
    )
    assert servicer._providers == {}
    assert len(servicer.Analyze(_analyze_request(), None).diagnostics) == 3


# --- lazily built read-only views read exactly as the SDK's eager proxies ------------------------

_UNKNOWN = st.sampled_from([UNKNOWN_STRING_VALUE, "04da6b54", "x"])
_JSON = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | _UNKNOWN,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from("abcd"), inner, max_size=4),
    max_leaves=20,
)


def _reads(props: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], str]]:
    """Every read a policy can make of `props`, walked down every path: what each one gives."""
    out: list[tuple[tuple[Any, ...], str]] = []
    keys: list[Any] = list(props) if isinstance(props, _DictProxy) else list(range(-len(props), len(props)))
    for key in keys:
        try:
            value = props[key]
        except sdk.UnknownValueError as exc:
            out.append(((*path, key), f"unknown: {exc.message}"))
            continue
        if isinstance(value, (_DictProxy, _ListProxy)):
            out.append(((*path, key), "dict view" if isinstance(value, _DictProxy) else "list view"))
            out += _reads(value, (*path, key))
        else:
            out.append(((*path, key), repr(value)))
    if isinstance(props, _ListProxy):
        out.append(((*path, "[1:]"), repr([_plain(v) for v in props[1:]])))
    out.append(
        (
            (*path, "__target"),
            repr(sorted(map(str, props["__target"])) if isinstance(props, _DictProxy) else len(props["__target"])),
        )
    )
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, _DictProxy):
        return {k: _plain(v) for k, v in value["__target"].items()}
    if isinstance(value, _ListProxy):
        return [_plain(v) for v in value["__target"]]
    return value


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdef"), _JSON, max_size=6))
def test_a_lazy_view_reads_as_the_sdks_proxy_everywhere(raw: dict[str, Any]) -> None:
    stock = sdk.unknown_checking_proxy(sdk.deserialize_properties(raw))
    view = _shared_views._read_only(sdk.deserialize_properties(raw), [])
    assert _reads(view) == _reads(stock)
    assert _plain(view) == _plain(stock) == json.loads(json.dumps(raw))


_WIRE = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | _UNKNOWN | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from("abcd"), inner, max_size=4)
        | st.builds(lambda value: {SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": value}, inner)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdef"), _WIRE, max_size=6))
def test_props_converted_key_by_key_read_as_the_sdks_whole_conversion(raw: dict[str, Any]) -> None:
    struct = _struct(raw)
    stock = sdk.unknown_checking_proxy(sdk.deserialize_properties(json_format.MessageToDict(struct)))
    lazy = _shared_views.ReadOnlyDict(_shared_views.LazyProps(struct), [])
    assert _reads(lazy) == _reads(stock)
    assert _plain(lazy) == _plain(stock)
    assert list(lazy) == list(stock) and len(lazy) == len(stock)


def test_props_converted_key_by_key_convert_only_what_is_read_and_miss_as_a_dict() -> None:
    props = _shared_views.LazyProps(_struct({"a": 1, "b": float("inf"), "c": [{"d": 2}]}))
    assert props["a"] == 1.0 and props["c"] == [{"d": 2.0}] and props["c"] is props["c"]
    assert set(props._converted) == {"a", "c"}
    # A value json_format refuses fails where it is read, and only there.
    with pytest.raises(ValueError, match="Fail to serialize"):
        props["b"]
    with pytest.raises(KeyError) as missing:
        props["e"]
    assert missing.value.args == ("e",)  # as a dict says it
    with pytest.raises(KeyError):
        props[1]
    with pytest.raises(TypeError):
        props[["a"]]  # type: ignore[index]
    assert props.get("e", "absent") == "absent" and "a" in props and 1 not in props


def test_a_lazy_view_builds_a_nested_view_when_first_read_and_then_keeps_it() -> None:
    view = _shared_views._read_only({"a": [{"b": [1]}], "c": {"d": 2}}, [])
    assert view._views == {}
    first = view["a"]
    assert list(view._views) == ["a"] and view["a"] is first and first[0] is first[-1] is first[0]
    with pytest.raises(TypeError):
        view["__target"]["c"]["d"] = 3  # what "__target" gives is read-only views too
    assert view["c"]["d"] == 2
