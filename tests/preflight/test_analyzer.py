"""preflight.analyzer: the CLI's way of starting a pack and its Analyzer protocol, against small packs."""

from __future__ import annotations

import signal
import textwrap
import threading
import time
from pathlib import Path

import pytest
from pulumi.runtime.proto import analyzer_pb2

from preflight import analyzer
from preflight.analyzer import (
    PolicyInfo,
    PolicyPackSession,
    PolicyPackStartError,
    PolicySettings,
    Violation,
    analyze,
    reconcile_policy_config,
)
from preflight.records import SECRET_SIG_KEY, SECRET_SIG_VALUE, RecordedResource

ROOT = "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev"
HOST = "urn:pulumi:dev::p::ziggie:docker:Host::ws"
PROVIDER = "urn:pulumi:dev::p::ziggie:docker:Host$pulumi:providers:docker::ws-docker"
IMAGE = "urn:pulumi:dev::p::ziggie:docker:Host$docker:index/remoteImage:RemoteImage::ws-db-image"
CONTAINER = "urn:pulumi:dev::p::ziggie:docker:Host$docker:index/container:Container::ws-db"

# A pack that reports what it was sent: one advisory per Analyze, one per resource in AnalyzeStack.
ECHO_PACK = """
import pulumi
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy, StackValidationPolicy

def seen(args, report):
    provider = args.provider.name + "=" + str(args.provider.props.get("host")) if args.provider else "-"
    envs = list(args.props.get("envs", []))
    pulumi.log.info("analyzed " + args.name)
    report(f"{args.resource_type} provider={provider} parent={args.opts.parent} envs={envs} memory={args.props.get('memory')!r}")

def stack(args, report):
    for r in args.resources:
        deps = ",".join(d.name for d in r.dependencies)
        pdeps = {k: [d.name for d in v] for k, v in r.property_dependencies.items()}
        report(f"{r.name} parent={r.parent.name if r.parent else None} deps={deps} pdeps={pdeps} out={r.props.get('out')}", r.urn)
    report("stack-wide", "urn:not:in:stack")

PolicyPack(name="echo", enforcement_level=EnforcementLevel.ADVISORY, policies=[
    ResourceValidationPolicy(name="seen", description="Reports each resource.", validate=seen),
    StackValidationPolicy(name="stack", description="Reports the stack.", validate=stack),
])
"""


def _pack(tmp_path: Path, main: str, name: str = "pack") -> Path:
    pack = tmp_path / name
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n", encoding="utf-8")
    (pack / "__main__.py").write_text(textwrap.dedent(main), encoding="utf-8")
    return pack


def _record(urn: str, type_: str, name: str, **kwargs: object) -> RecordedResource:
    fields: dict[str, object] = {
        "custom": True,
        "id": None,
        "parent": HOST,
        "provider": None,
        "dependencies": (),
        "property_dependencies": {},
        "protect": False,
        "retain_on_delete": False,
        "inputs": {},
    }
    fields.update(kwargs)
    return RecordedResource(urn=urn, type=type_, name=name, **fields)  # type: ignore[arg-type]


def _stack() -> list[RecordedResource]:
    return [
        _record(ROOT, "pulumi:pulumi:Stack", "p-dev", custom=False, parent=None),
        _record(HOST, "ziggie:docker:Host", "ws", custom=False, parent=ROOT),
        _record(PROVIDER, "pulumi:providers:docker", "ws-docker", inputs={"host": "unix:///var/run/docker.sock"}),
        _record(
            IMAGE,
            "docker:index/remoteImage:RemoteImage",
            "ws-db-image",
            provider=f"{PROVIDER}::id1",
            inputs={"name": "postgres:16"},
        ),
        _record(
            CONTAINER,
            "docker:index/container:Container",
            "ws-db",
            provider=f"{PROVIDER}::id1",
            dependencies=(IMAGE,),
            property_dependencies={"image": (IMAGE,), "name": ()},
            inputs={"memory": 3072, "envs": ["A=1", {SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": "B_PASSWORD=x"}]},
            outputs={"out": "from-outputs"},
        ),
    ]


@pytest.fixture(scope="module")
def echo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _pack(tmp_path_factory.mktemp("echo"), ECHO_PACK)


def test_every_registration_is_analyzed_with_its_provider_and_parent(echo: Path) -> None:
    with PolicyPackSession(echo, timeout=60) as session:
        session.configure(None)
        violations = session.analyze_resources(_stack())
        # pulumi.log in a pack goes to stderr: pulumi-policy never connects to the engine address.
        assert "info: analyzed ws-db" in session.stderr
        assert session.engine_logs == []
    assert {(v.urn, v.message) for v in violations} == {
        (ROOT, "pulumi:pulumi:Stack provider=- parent=None envs=[] memory=None"),
        (HOST, f"ziggie:docker:Host provider=- parent={ROOT} envs=[] memory=None"),
        (PROVIDER, f"pulumi:providers:docker provider=- parent={HOST} envs=[] memory=None"),
        (
            IMAGE,
            (
                f"docker:index/remoteImage:RemoteImage provider=ws-docker=unix:///var/run/docker.sock parent={HOST} "
                "envs=[] memory=None"
            ),
        ),
        # Numbers travel as doubles; a secret reaches Analyze unwrapped (see secrets-not-plaintext).
        (
            CONTAINER,
            (
                f"docker:index/container:Container provider=ws-docker=unix:///var/run/docker.sock parent={HOST} "
                "envs=['A=1', 'B_PASSWORD=x'] memory=3072.0"
            ),
        ),
    }
    assert {(v.policy, v.enforcement) for v in violations} == {("seen", "advisory")}
    assert violations == sorted(violations, key=lambda v: (v.policy, v.urn, v.message, v.enforcement))


def test_analyze_stack_sends_outputs_parents_and_dependencies(echo: Path) -> None:
    violations = [v for v in analyze(echo, None, _stack(), timeout=60) if v.policy == "stack"]
    assert [(v.urn, v.message) for v in violations] == sorted(
        [
            (CONTAINER, "ws-db parent=ws deps=ws-db-image pdeps={'image': ['ws-db-image']} out=from-outputs"),
            (HOST, "ws parent=p-dev deps= pdeps={} out=None"),
            (IMAGE, "ws-db-image parent=ws deps= pdeps={} out=None"),
            (PROVIDER, "ws-docker parent=ws deps= pdeps={} out=None"),
            (ROOT, "p-dev parent=None deps= pdeps={} out=None"),
            # A URN outside the stack is reported on the root stack, as the engine does.
            (ROOT, "stack-wide"),
        ]
    )


def test_pack_that_fails_to_start_reports_its_stderr_and_is_gone(tmp_path: Path) -> None:
    broken = _pack(tmp_path, "raise SystemExit('policy pack exploded on import')\n")
    with pytest.raises(PolicyPackStartError, match=r"(?s)exited before printing its port.*policy pack exploded"):
        analyze(broken, None, _stack(), timeout=60)


def test_not_a_pack_directory(tmp_path: Path) -> None:
    with pytest.raises(PolicyPackStartError, match="not a policy pack"):
        analyze(tmp_path, None, [], timeout=60)


def test_session_always_stops_the_pack(echo: Path) -> None:
    with pytest.raises(RuntimeError, match="caller failed"), PolicyPackSession(echo, timeout=60) as session:
        process = session._process
        assert process is not None
        assert process.poll() is None
        raise RuntimeError("caller failed")
    assert process.poll() is not None


def test_reconcile_applies_defaults_all_and_per_policy_levels() -> None:
    policies = {
        "a": PolicyInfo("a", "Requires a.", "mandatory", "resource", {"x": {"type": "number", "default": 1}}),
        "b": PolicyInfo("b", "Requires b.", "mandatory", "stack", None),
    }
    settings = reconcile_policy_config(
        policies, {"all": PolicySettings("advisory", {}), "b": PolicySettings("disabled", {})}
    )
    assert settings == {"a": PolicySettings("advisory", {"x": 1}), "b": PolicySettings("disabled", {})}


def test_violation_is_a_frozen_record() -> None:
    violation = Violation("p", "mandatory", "urn", "m")
    with pytest.raises(AttributeError):
        violation.policy = "q"  # type: ignore[misc]


# A pack whose answers take different times: Remediate marks what it saw (all but every fifth
# resource), Analyze reports what it got, after a pause that depends on the resource, and says on
# stderr when it starts and ends, so overlapping calls show.
SLOW_PACK = """
import sys, time, zlib
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy

def mark(args):
    if args.props["memory"] % 320:
        return {**args.props, "remediated": "by-" + args.props["name"]}

def slow(args, report):
    sys.stderr.write("start " + args.name + "\\n")  # one write: the pack's threads print at once
    sys.stderr.flush()
    time.sleep((zlib.crc32(args.name.encode()) % 7) / 500)
    report(f"saw remediated={args.props.get('remediated')} memory={args.props.get('memory')}")
    report(f"second finding of {args.name}")
    sys.stderr.write("end " + args.name + "\\n")
    sys.stderr.flush()

PolicyPack(name="slow", enforcement_level=EnforcementLevel.ADVISORY, policies=[
    ResourceValidationPolicy(name="mark", description="Marks.", remediate=mark,
                             enforcement_level=EnforcementLevel.REMEDIATE),
    ResourceValidationPolicy(name="slow", description="Answers slowly.", validate=slow),
])
"""


def _overlapped(stderr: str) -> bool:
    running: set[str] = set()
    for line in stderr.splitlines():
        word, _, name = line.partition(" ")
        if word == "start":
            running.add(name)
            if len(running) > 1:
                return True
        elif word == "end":
            running.discard(name)
    return False


def test_concurrent_analysis_finds_what_one_at_a_time_finds_in_the_same_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [
        _record(
            f"urn:pulumi:dev::p::docker:index/container:Container::c{i}",
            "docker:index/container:Container",
            f"c{i}",
            inputs={"name": f"c{i}", "memory": 64 * i},
        )
        for i in range(40)
    ]
    with PolicyPackSession(_pack(tmp_path, SLOW_PACK), timeout=60) as session:
        session.configure(None)
        monkeypatch.setattr(analyzer, "IN_FLIGHT", 1)
        one_at_a_time = session.analyze_resources(records)
        assert not _overlapped(session.stderr)
        monkeypatch.undo()
        assert analyzer.IN_FLIGHT > 1
        mark = len(session.stderr)
        concurrent = session.analyze_resources(records)
        assert _overlapped(session.stderr[mark:]), "the calls did not overlap"
    assert concurrent == one_at_a_time
    assert len(one_at_a_time) == 40 * 2
    assert Violation("slow", "advisory", records[7].urn, "saw remediated=by-c7 memory=448.0") in concurrent
    assert [v.message for v in concurrent if v.urn == records[5].urn] == [
        "saw remediated=None memory=320.0",
        "second finding of c5",
    ]


def test_a_pack_started_in_the_background_is_waited_for_by_its_first_use(echo: Path) -> None:
    session = PolicyPackSession(echo, timeout=60)
    try:
        session.start(wait=False)
        # The caller is free at once; the pack starts meanwhile and the first use waits for it.
        assert session._starting is not None
        session.configure(None)
        assert session.info.name == "echo"
        assert {v.urn for v in session.run(_stack())} >= {ROOT, CONTAINER}
        process = session._process
        assert process is not None and process.poll() is None
    finally:
        session.close()
    assert process.poll() is not None


def test_a_background_start_that_fails_raises_at_first_use_and_leaves_nothing_running(tmp_path: Path) -> None:
    pack = _pack(tmp_path, "import sys\nprint('no port today', flush=True)\nsys.exit(3)\n")
    session = PolicyPackSession(pack, timeout=60)
    session.start(wait=False)
    with pytest.raises(PolicyPackStartError, match="printed 'no port today' instead of its port"):
        session.configure(None)
    assert session._process is not None and session._process.poll() is not None
    session.close()


def test_closing_a_session_still_starting_stops_its_pack(echo: Path) -> None:
    session = PolicyPackSession(echo, timeout=60)
    session.start(wait=False)
    session.close()
    assert session._process is not None and session._process.poll() is not None


# A pack that fails on one resource: its Remediate raises for "bad-remediate", its Analyze for
# "bad-analyze"; a resource named "drowsy-..." takes 3 s to remediate. Every Analyze says on
# stderr which resource it got.
FAILING_PACK = """
import sys, time
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy

def remediate(args):
    if args.name == "bad-remediate":
        raise RuntimeError("remediation broke on " + args.name)
    if args.name.startswith("drowsy-"):
        time.sleep(3)

def validate(args, report):
    sys.stderr.write("analyzed " + args.name + "\\n")  # one write: the pack's threads print at once
    sys.stderr.flush()
    if args.name == "bad-analyze":
        raise RuntimeError("validation broke on " + args.name)
    time.sleep(0.02)

PolicyPack(name="failing", enforcement_level=EnforcementLevel.ADVISORY, policies=[
    ResourceValidationPolicy(name="fix", description="Fixes.", remediate=remediate,
                             enforcement_level=EnforcementLevel.REMEDIATE),
    ResourceValidationPolicy(name="check", description="Checks.", validate=validate),
])
"""


def _named(*names: str) -> list[RecordedResource]:
    return [
        _record(f"urn:pulumi:dev::p::docker:index/container:Container::{n}", "docker:index/container:Container", n)
        for n in names
    ]


@pytest.mark.parametrize(
    ("bad", "method"),
    [("bad-analyze", "Analyze"), ("bad-remediate", "Remediate")],
    ids=["analyze_raises", "remediate_raises"],
)
def test_the_first_failing_call_is_raised_and_stops_what_was_not_yet_sent(
    tmp_path: Path, bad: str, method: str
) -> None:
    records = _named("c0", "c1", bad, *(f"c{i}" for i in range(3, 80)))
    with PolicyPackSession(_pack(tmp_path, FAILING_PACK), timeout=60) as session:
        session.configure(None)
        with pytest.raises(analyzer.AnalyzerError, match=rf"{method} failed: UNKNOWN: .*broke on {bad}"):
            session.analyze_resources(records)
        analyzed = [line.split()[1] for line in session.stderr.splitlines() if line.startswith("analyzed ")]
        # The failing resource's own Analyze is sent only when its Remediate answered.
        assert (bad in analyzed) == (method == "Analyze")
        # Calls already under way finish, nothing after them is sent: far from all 80.
        assert len(analyzed) <= 3 + 2 * analyzer.IN_FLIGHT, analyzed
        # The session is still usable afterwards.
        assert session.analyze_resources(_named("after")) == []


def test_an_interrupt_leaves_at_once_and_sends_no_analyze_for_a_remediation_answered_after_it(
    tmp_path: Path,
) -> None:
    records = _named(*(f"drowsy-{i}" for i in range(2 * analyzer.IN_FLIGHT)))
    with PolicyPackSession(_pack(tmp_path, FAILING_PACK), timeout=60) as session:
        session.configure(None)
        # As Ctrl-C reaches the process: the main thread gets SIGINT while it waits.
        timer = threading.Timer(0.5, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
        start = time.monotonic()
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                session.analyze_resources(records)
        finally:
            timer.cancel()
        # Leaving at once: before the first remediation (3 s) answers.
        assert time.monotonic() - start < 2.5
        # The remediations under way were cancelled: none of them leads to an Analyze when the
        # pack gets to answer it.
        time.sleep(max(0.0, start + 4.5 - time.monotonic()))
        assert "analyzed " not in session.stderr


class _Call:
    """A gRPC future that the test answers by hand."""

    def __init__(self, method: str, request: object) -> None:
        self.method, self.request = method, request
        self.cancelled = False
        self._callbacks: list[object] = []
        self._response: object = None

    def add_done_callback(self, callback: object) -> None:
        self._callbacks.append(callback)

    def cancel(self) -> bool:
        self.cancelled = True
        return True

    def result(self) -> object:
        return self._response

    def answer(self, response: object) -> None:
        self._response = response
        for callback in self._callbacks:
            callback(self)  # type: ignore[operator]


class _Stub:
    def __init__(self) -> None:
        self.calls: list[_Call] = []

    def __getattr__(self, method: str) -> object:
        stub = self

        class _Method:
            def future(self, request: object, timeout: float) -> _Call:
                call = _Call(method, request)
                stub.calls.append(call)
                return call

        return _Method()


def test_cancel_cancels_the_calls_under_way_and_a_remediation_answered_after_it_sends_no_analyze() -> None:
    stub = _Stub()
    pipeline = analyzer._Pipeline(stub, 60, 4, lambda method, exc: analyzer.AnalyzerError(method))
    first, second = analyzer_pb2.AnalyzeRequest(urn="a"), analyzer_pb2.AnalyzeRequest(urn="b")
    assert pipeline.submit(first) and pipeline.submit(second)
    stub.calls[0].answer(analyzer_pb2.RemediateResponse())
    assert [(c.method, c.request.urn) for c in stub.calls] == [("Remediate", "a"), ("Remediate", "b"), ("Analyze", "a")]
    pipeline.cancel()
    # What was under way when cancel came: a's Analyze and b's Remediate; a's Remediate had answered.
    assert [c.cancelled for c in stub.calls] == [False, True, True]
    stub.calls[1].answer(analyzer_pb2.RemediateResponse())
    assert len(stub.calls) == 3, "an Analyze was sent after cancel"
    assert not pipeline.submit(analyzer_pb2.AnalyzeRequest(urn="c"))
    stub.calls[2].answer(analyzer_pb2.AnalyzeResponse())
    assert pipeline.wait() == []
