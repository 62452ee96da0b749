"""The policy-pack client of preflight: runs a CrossGuard pack the way the Pulumi CLI does.

What the CLI does, read from pulumi/pulumi (``sdk/go/common/resource/plugin/analyzer_plugin.go``,
``pkg/resource/deploy/step_generator.go``, ``pkg/resource/analyzer/config.go``) and mirrored here:

* Start: the Python language host's ``RunPlugin`` runs ``python -u -m pulumi.policy
  <engine-address> <pack-dir>`` with the pack's directory as working directory, the interpreter
  chosen from PulumiPolicy.yaml's runtime options (:mod:`preflight.packruntime`); the pack
  prints its port as the first line of stdout. Then ``Handshake`` (pulumi-policy 1.21.0 leaves it
  UNIMPLEMENTED, which the CLI tolerates), ``ConfigureStack``, ``GetAnalyzerInfo``, and
  ``Configure`` with the reconciled config: every policy, with its enforcement level and
  its properties = the schema's top-level ``default`` values overlaid with the config file.
* The engine address: ``pulumi.policy``'s ``__main__`` parses it and never uses it, and the
  analyzer servicer never hands it to ``pulumi.runtime.Settings``, so ``pulumi.log`` in a
  policy writes to stderr. A minimal Engine service still listens on it here - the address is
  live, and a pack that does log through the engine is heard (:attr:`PolicyPackSession.engine_logs`).
* Analyze selection: in a preview the step generator sends *every* registered resource -
  custom resources, component resources, providers and the root stack - first to
  ``Remediate`` and then to ``Analyze``, with its inputs (secrets kept wrapped, unknowns kept)
  and its provider's inputs; a remediation's properties replace the inputs it analyzes.
  ``AnalyzeStack`` then gets all of them with their *outputs*, parent, dependencies and
  property dependencies. (``pulumi policy check``, which reads a snapshot, skips providers; a
  preview does not, and this client mirrors the preview.)
* Config validation: the CLI checks each policy's properties against ``{"type": "object",
  "properties": ..., "required": ...}`` built from its ``PolicyConfigSchema`` (gojsonschema).
  Nested schemas are passed whole, so ``additionalProperties: false`` inside a property is
  enforced, but a ``PolicyConfigSchema`` cannot put it at the top level, and a config key that
  names no policy is ignored. :func:`load_policy_config` is stricter: unknown policies,
  unknown properties at any level and wrong types are all errors naming the file and key path.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import grpc  # type: ignore[import-untyped]
import jsonschema  # type: ignore[import-untyped]
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import (
    analyzer_pb2,
    analyzer_pb2_grpc,
    engine_pb2,
    engine_pb2_grpc,
)

from preflight.documents import DocumentError, load_json
from preflight.packruntime import PackInterpreter, PackRuntimeError, read_policy_project, resolve_interpreter
from preflight.records import RecordedResource

__all__ = [
    "AnalyzerError",
    "AnalyzerInfo",
    "PackRun",
    "PolicyConfigError",
    "PolicyInfo",
    "PolicyPackSession",
    "PolicyPackStartError",
    "PolicySettings",
    "Violation",
    "analyze",
    "load_policy_config",
    "reconcile_policy_config",
    "run_pack",
    "run_session",
]

ENFORCEMENT_LEVELS: Final = ("advisory", "mandatory", "remediate", "disabled")
_LEVEL_FROM_PROTO: Final = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.DISABLED: "disabled",
    analyzer_pb2.REMEDIATE: "remediate",
}
_LEVEL_TO_PROTO: Final = {level: proto for proto, level in _LEVEL_FROM_PROTO.items()}
IN_FLIGHT: Final = 8
"""Resources whose Remediate and Analyze are under way at once: enough to keep the pack's server
threads busy while this process builds and reads the messages, on two cores (with the pack's two
threads, 4, 8 and 16 measure alike)."""
ALL_POLICIES: Final = "all"
"""The config key the CLI reads as an enforcement level for every policy of the pack."""
ROOT_STACK_TYPE: Final = "pulumi:pulumi:Stack"
# The pulumi_policy server accepts 400 MiB messages; a client must be able to send as much.
_GRPC_OPTIONS: Final = [
    ("grpc.max_receive_message_length", 400 * 1024 * 1024),
    ("grpc.max_send_message_length", 400 * 1024 * 1024),
]


@dataclass(frozen=True)
class Violation:
    """One policy violation, located on a resource."""

    policy: str
    enforcement: str
    urn: str
    message: str


@dataclass(frozen=True)
class PolicyInfo:
    """What the pack says about one policy in GetAnalyzerInfo."""

    name: str
    description: str
    enforcement: str
    kind: str
    """``"resource"`` or ``"stack"``."""
    config_properties: Mapping[str, Any] | None
    config_required: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnalyzerInfo:
    """The pack as GetAnalyzerInfo describes it."""

    name: str
    version: str
    supports_config: bool
    policies: Mapping[str, PolicyInfo]


@dataclass(frozen=True)
class PolicySettings:
    """One policy's entry in a policy config file: an enforcement level and/or properties."""

    enforcement: str | None
    properties: Mapping[str, Any]


class PolicyConfigError(Exception):
    """A policy config file is not valid for the pack; each line names the file, key path and problem."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = tuple(errors)


class AnalyzerError(RuntimeError):
    """The policy pack failed while analyzing; carries the pack's stderr."""


class PolicyPackStartError(AnalyzerError):
    """The policy pack process did not start serving."""


# --- policy config ---------------------------------------------------------------------------


def _key_path(parts: Sequence[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _schema_errors(where: str, policy: PolicyInfo, properties: Mapping[str, Any]) -> list[str]:
    schema = {
        "type": "object",
        "properties": dict(policy.config_properties or {}),
        "required": list(policy.config_required),
        "additionalProperties": False,
    }
    if not schema["required"]:
        del schema["required"]
    errors: list[str] = []
    validator = jsonschema.Draft7Validator(schema)
    for error in validator.iter_errors(dict(properties)):
        path = [policy.name, *error.absolute_path]
        if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
            known = sorted(error.schema.get("properties", {}))
            for key in sorted(k for k in error.instance if k not in known):
                known_text = ", ".join(known) if known else "none"
                errors.append(f"{where}: {_key_path([*path, key])}: unknown property (known: {known_text})")
            if known or not isinstance(error.schema.get("additionalProperties"), Mapping):
                continue
        errors.append(f"{where}: {_key_path(path)}: {error.message}")
    return sorted(errors)


def load_policy_config(path: Path, policies: Mapping[str, PolicyInfo]) -> dict[str, PolicySettings]:
    """Read and validate a ``--policy-pack-config`` file against the pack's policies.

    The file maps a policy name (or ``"all"``) to an enforcement level string or an object with
    an optional ``enforcementLevel`` and the policy's properties, as the Pulumi CLI reads it.

    Raises:
        PolicyConfigError: on unreadable JSON, an unknown policy, an unknown property at any
            depth, a wrong type or an invalid enforcement level; one line per problem.
    """
    where = str(path)
    try:
        document = load_json(path)
    except DocumentError as exc:
        raise PolicyConfigError([str(exc)]) from None
    if not isinstance(document, dict):
        raise PolicyConfigError([f"{where}: must be a JSON object mapping policy names to their config"])

    errors: list[str] = []
    settings: dict[str, PolicySettings] = {}
    known_policies = ", ".join([ALL_POLICIES, *sorted(policies)])
    for name, value in document.items():
        if name != ALL_POLICIES and name not in policies:
            errors.append(f"{where}: {name}: unknown policy (known: {known_policies})")
            continue
        level: Any = None
        properties: dict[str, Any] = {}
        level_path = name
        if isinstance(value, str):
            level = value
        elif isinstance(value, dict):
            properties = dict(value)
            level = properties.pop("enforcementLevel", None)
            level_path = f"{name}.enforcementLevel"
        else:
            errors.append(f"{where}: {name}: must be an enforcement level or an object, not {json.dumps(value)}")
            continue
        if level is not None and level not in ENFORCEMENT_LEVELS:
            errors.append(
                f"{where}: {level_path}: {json.dumps(level)} is not an enforcement level "
                f"({', '.join(ENFORCEMENT_LEVELS)})"
            )
            continue
        if name == ALL_POLICIES:
            errors += [
                f"{where}: {ALL_POLICIES}.{key}: unknown property (known: enforcementLevel)" for key in properties
            ]
        else:
            # Validated as the CLI validates it - defaults first, the file on top - so a
            # required property with a default is satisfied.
            merged = {**_defaults(policies[name]), **properties}
            errors += _schema_errors(where, policies[name], merged)
        settings[name] = PolicySettings(enforcement=level, properties=properties)
    if errors:
        raise PolicyConfigError(errors)
    return settings


def _defaults(policy: PolicyInfo) -> dict[str, Any]:
    return {
        key: spec["default"]
        for key, spec in (policy.config_properties or {}).items()
        if isinstance(spec, Mapping) and "default" in spec
    }


def reconcile_policy_config(
    policies: Mapping[str, PolicyInfo], settings: Mapping[str, PolicySettings]
) -> dict[str, PolicySettings]:
    """Every policy's effective level and properties, as the CLI's ReconcilePolicyPackConfig makes them."""
    every = settings.get(ALL_POLICIES)
    result: dict[str, PolicySettings] = {}
    for name, policy in sorted(policies.items()):
        given = settings.get(name)
        level = policy.enforcement
        if every is not None and every.enforcement is not None:
            level = every.enforcement
        if given is not None and given.enforcement is not None:
            level = given.enforcement
        properties = {**_defaults(policy), **(dict(given.properties) if given else {})}
        result[name] = PolicySettings(enforcement=level, properties=properties)
    return result


# --- wire helpers ----------------------------------------------------------------------------


def _struct(properties: Mapping[str, Any]) -> Any:
    """A protobuf Struct of wire-form properties; internal ``__`` keys are skipped as the engine does."""
    struct = struct_pb2.Struct()
    struct.update({key: value for key, value in properties.items() if not key.startswith("__")})
    return struct


def _options(resource: RecordedResource) -> Any:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect,
        parent=resource.parent or "",
        customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(),
    )


def _message(diagnostic: Any) -> str:
    # The SDK sends "<policy description>\n<message>"; the description is known from the policy.
    prefix = f"{diagnostic.description}\n"
    text: str = diagnostic.message
    return text[len(prefix) :] if diagnostic.description and text.startswith(prefix) else text


def _level(diagnostic: Any) -> str:
    level = _LEVEL_FROM_PROTO.get(diagnostic.enforcementLevel, "advisory")
    # Both the SDK and the engine report a remediate-level violation as mandatory.
    return "mandatory" if level == "remediate" else level


def _integral(value: Any) -> Any:
    """JSON numbers as written: a Struct turns every number into a double (0 into 0.0)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _integral(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral(item) for item in value]
    return value


def _sorted(violations: list[Violation]) -> list[Violation]:
    return sorted(violations, key=lambda v: (v.policy, v.urn, v.message, v.enforcement))


class _EngineServicer(engine_pb2_grpc.EngineServicer):
    """The few Engine calls a policy pack could make: log messages and the root resource."""

    def __init__(self) -> None:
        self.logs: list[str] = []
        self._root = ""
        self._lock = threading.Lock()

    def Log(self, request: Any, context: Any) -> Any:
        severity = engine_pb2.LogSeverity.Name(request.severity).lower()
        with self._lock:
            self.logs.append(f"{severity}: {request.message}")
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.GetRootResourceResponse(urn=self._root)

    def SetRootResource(self, request: Any, context: Any) -> Any:
        self._root = request.urn
        return engine_pb2.SetRootResourceResponse()

    def RequirePulumiVersion(self, request: Any, context: Any) -> Any:
        return engine_pb2.RequirePulumiVersionResponse()


def _drain(stream: Any, sink: list[str], first_line: queue.Queue[str | None] | None) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", errors="replace")
        if first_line is not None:
            first_line.put(line)
            first_line = None
        else:
            sink.append(line)
    if first_line is not None:
        first_line.put(None)


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class _Pipeline:
    """Remediate-then-Analyze of many resources on gRPC's futures, at most ``width`` resources in flight.

    A resource's Analyze is sent from the callback of its Remediate, with the properties the
    remediations left. gRPC's blocking call makes a call object and a completion queue of its own
    for every call and wakes its thread for each; a future rides the channel's shared queue and
    its callback runs on the channel's thread. At 2,100 services (12,608 calls) that is about
    a quarter less CPU in preflight than eight threads making blocking calls, and on two cores
    the pack's own gRPC threads get that CPU back (benchmarks/ prints Remediate+Analyze).
    """

    def __init__(self, stub: Any, timeout: float, width: int, failure: Callable[[str, Any], AnalyzerError]) -> None:
        self._stub = stub
        self._timeout = timeout
        self._failure = failure
        self._slots = threading.Semaphore(width)
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)
        self._calls: set[Any] = set()  # under way
        self._open = 0  # resources submitted and not finished
        self._stopped = False
        self._error: BaseException | None = None
        self._found: list[Violation] = []

    def submit(self, request: Any) -> bool:
        """Send ``request``'s Remediate once a slot is free; False, sending nothing, once a call has failed."""
        self._slots.acquire()
        with self._lock:
            if self._stopped:
                self._slots.release()
                return False
            self._open += 1
        self._send("Remediate", request, lambda response: self._remediated(request, response))
        return True

    def wait(self) -> list[Violation]:
        """Every submitted resource's violations once all have finished; the first failure is raised."""
        with self._settled:
            while self._open:
                self._settled.wait()
        if self._error is not None:
            raise self._error
        return self._found

    def cancel(self) -> None:
        """Stop: send nothing more, cancel what is under way (an interrupt, a failure of the caller)."""
        with self._lock:
            self._stopped = True
            calls = list(self._calls)
        for call in calls:
            call.cancel()

    def _send(self, method: str, request: Any, then: Callable[[Any], None]) -> None:
        """Send ``method`` for a submitted resource; once stopped, the resource finishes without it.

        The check and the registration of the call share the lock with :meth:`cancel`, so a call
        is either sent before cancel (and cancelled by it) or not sent at all.
        """
        with self._lock:
            call = None if self._stopped else getattr(self._stub, method).future(request, timeout=self._timeout)
            if call is not None:
                self._calls.add(call)
        if call is None:
            self._finish([], None)
            return
        # Outside the lock: a call already answered runs the callback here, and it takes the lock.
        call.add_done_callback(lambda done: self._answered(method, done, then))

    def _answered(self, method: str, call: Any, then: Callable[[Any], None]) -> None:
        with self._lock:
            self._calls.discard(call)
        try:
            response = call.result()
        except grpc.RpcError as exc:
            self._finish([], self._failure(method, exc))
            return
        except BaseException as exc:  # noqa: BLE001 - cancelled; raised by wait() unless stopped on purpose
            self._finish([], exc)
            return
        try:
            then(response)
        except BaseException as exc:  # noqa: BLE001 - a callback's error must reach wait(), not gRPC's log
            self._finish([], exc)

    def _remediated(self, request: Any, response: Any) -> None:
        violations: list[Violation] = []
        for remediation in response.remediations:
            if remediation.diagnostic:
                violations.append(Violation(remediation.policyName, "advisory", request.urn, remediation.diagnostic))
            elif remediation.HasField("properties"):
                # The engine analyzes what the remediation left, not what the program sent.
                request.properties.CopyFrom(remediation.properties)
        self._send("Analyze", request, lambda analyzed: self._analyzed(request, violations, analyzed))

    def _analyzed(self, request: Any, violations: list[Violation], response: Any) -> None:
        violations += [Violation(d.policyName, _level(d), request.urn, _message(d)) for d in response.diagnostics]
        self._finish(violations, None)

    def _finish(self, violations: list[Violation], error: BaseException | None) -> None:
        with self._lock:
            self._found += violations
            if error is not None and self._error is None:
                self._error = error
                self._stopped = True
            self._open -= 1
            if not self._open:
                self._settled.notify_all()
        self._slots.release()


class PolicyPackSession:
    """One running policy pack, kept for several analyses; use it as a context manager.

    The pack process is started by :meth:`start` (or ``with``) and always stopped by
    :meth:`close`, which ``with`` calls on every exit; a session dropped without closing is
    stopped when it is garbage-collected or at interpreter exit.
    """

    def __init__(
        self,
        pack_dir: Path,
        *,
        timeout: float = 120.0,
        stack: str = "",
        project: str = "",
        organization: str = "",
        python: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.pack_dir = Path(pack_dir).resolve()
        self.python = python
        """An explicit interpreter; None resolves the CLI's (see :func:`resolve_interpreter`)."""
        self.environ = environ
        """The environment the pack starts in; None: this process's when :meth:`start` runs."""
        self.interpreter: PackInterpreter | None = None
        self._version: str | None = None
        self.timeout = timeout
        self.stack, self.project, self.organization = stack, project, organization
        self._process: subprocess.Popen[bytes] | None = None
        self._engine: Any = None
        self._engine_servicer = _EngineServicer()
        self._channel: Any = None
        self._stub: Any = None
        self._stdout: list[str] = []
        self._stderr: list[str] = []
        self._threads: list[threading.Thread] = []
        self._info: AnalyzerInfo | None = None
        self._settings: dict[str, PolicySettings] = {}
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._starting: threading.Thread | None = None
        self._start_error: BaseException | None = None

    # -- lifecycle --

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def stderr(self) -> str:
        """What the pack wrote to stderr so far (``pulumi.log`` lands here, see the module doc)."""
        return "".join(self._stderr)

    @property
    def engine_logs(self) -> list[str]:
        """Messages the pack logged through the Engine service, as ``"<severity>: <message>"``."""
        return list(self._engine_servicer.logs)

    @property
    def info(self) -> AnalyzerInfo:
        """The pack's GetAnalyzerInfo, read at start."""
        self.wait_started()
        if self._info is None:
            raise AnalyzerError("the policy pack session is not started")
        return self._info

    def start(self, *, wait: bool = True) -> None:
        """Start the engine service and the pack, connect, and read the pack's info.

        With ``wait=False`` the start runs on a thread and this returns at once, so the pack
        starts while the caller does other work (such as the program run); every method that
        needs the pack first waits for it (:meth:`wait_started`) and raises what the start raised.
        """
        if self._process is not None or self._starting is not None:
            return
        if wait:
            self._start()
            return
        self._starting = threading.Thread(target=self._start_in_background, name="policy-pack-start", daemon=True)
        self._starting.start()

    def wait_started(self) -> None:
        """Wait for a start begun with ``wait=False``; raises what it raised. Returns at once otherwise."""
        starting = self._starting
        if starting is None or starting is threading.current_thread():
            return  # started, or this is the start itself (its calls, its cleanup on failure)
        starting.join()
        self._starting = None
        error, self._start_error = self._start_error, None
        if error is not None:
            raise error

    def _start_in_background(self) -> None:
        try:
            self._start()
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that waits for the start
            self._start_error = exc

    def _start(self) -> None:
        if not (self.pack_dir / "PulumiPolicy.yaml").is_file():
            raise PolicyPackStartError(f"{self.pack_dir}: not a policy pack (no PulumiPolicy.yaml)")
        try:
            self.interpreter = resolve_interpreter(self.pack_dir, self.python)
            self._version = read_policy_project(self.pack_dir).version
        except PackRuntimeError as exc:
            raise PolicyPackStartError(f"policy pack {self.pack_dir} failed to start: {exc}") from None
        self._engine = grpc.server(futures.ThreadPoolExecutor(max_workers=2), options=_GRPC_OPTIONS)
        engine_pb2_grpc.add_EngineServicer_to_server(self._engine_servicer, self._engine)
        engine_port = self._engine.add_insecure_port("127.0.0.1:0")
        self._engine.start()
        engine_address = f"127.0.0.1:{engine_port}"

        env = self.interpreter.environ(os.environ if self.environ is None else self.environ)
        if self.project and self.stack:
            env.update(
                PULUMI_PROJECT=self.project,
                PULUMI_STACK=self.stack,
                PULUMI_DRY_RUN="true",
                PULUMI_ORGANIZATION=self.organization or "organization",
            )
        # The language host's command: the pack directory is both the working directory and the program.
        self._process = subprocess.Popen(
            self.interpreter.command(engine_address, self.pack_dir),
            cwd=self.pack_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._finalizer = weakref.finalize(self, _terminate, self._process)
        first_line: queue.Queue[str | None] = queue.Queue()
        for stream, sink, first in (
            (self._process.stdout, self._stdout, first_line),
            (self._process.stderr, self._stderr, None),
        ):
            thread = threading.Thread(target=_drain, args=(stream, sink, first), daemon=True)
            thread.start()
            self._threads.append(thread)
        try:
            self._connect(first_line, engine_address)
        except BaseException:
            self.close()
            raise

    def _connect(self, first_line: queue.Queue[str | None], engine_address: str) -> None:
        assert self._process is not None
        try:
            line = first_line.get(timeout=self.timeout)
        except queue.Empty:
            line = None
            reason = f"printed no port within {self.timeout:g} s"
        else:
            reason = "exited before printing its port"
        if line is None or not line.strip().isdigit():
            if line is not None:
                reason = f"printed {line.strip()!r} instead of its port"
            _terminate(self._process)
            for thread in self._threads:
                thread.join(timeout=5)
            raise PolicyPackStartError(
                f"policy pack {self.pack_dir} failed to start: it {reason} "
                f"(exit code {self._process.returncode}); stderr:\n{self.stderr.rstrip()}"
            )
        self._channel = grpc.insecure_channel(f"127.0.0.1:{int(line)}", options=_GRPC_OPTIONS)
        self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        try:
            self._stub.Handshake(
                analyzer_pb2.AnalyzerHandshakeRequest(
                    engine_address=engine_address,
                    root_directory=str(self.pack_dir),
                    program_directory=str(self.pack_dir),
                ),
                timeout=self.timeout,
            )
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise self._failure("Handshake", exc) from None
        self._call(
            "ConfigureStack",
            analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=self.stack, project=self.project, organization=self.organization, dry_run=True
            ),
        )
        self._info = self._read_info(self._call("GetAnalyzerInfo", empty_pb2.Empty()))
        if self._version:
            # The CLI reports PulumiPolicy.yaml's version over the pack's (pulumi-policy says 0.0.1).
            self._info = replace(self._info, version=self._version)

    def close(self) -> None:
        """Stop the pack process and the engine service; safe to call more than once."""
        # A start still under way finishes first, so there is a process to stop; its error, if
        # any, is for whoever uses the session, not for closing it.
        with suppress(BaseException):
            self.wait_started()
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._process is not None:
            _terminate(self._process)
            for stream in (self._process.stdout, self._process.stderr):
                if stream is not None:
                    with suppress(OSError):
                        stream.close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if self._engine is not None:
            self._engine.stop(0)
            self._engine = None

    # -- calls --

    def _failure(self, method: str, exc: Any) -> AnalyzerError:
        return AnalyzerError(
            f"policy pack {self.pack_dir}: {method} failed: {exc.code().name}: {exc.details()}"
            + (f"\nstderr:\n{self.stderr.rstrip()}" if self.stderr.strip() else "")
        )

    def _started_stub(self) -> Any:
        """The pack's Analyzer stub once its start has finished; an error if it never started."""
        self.wait_started()
        if self._stub is None:
            raise AnalyzerError("the policy pack session is not started")
        return self._stub

    def _call(self, method: str, request: Any) -> Any:
        stub = self._started_stub()
        try:
            return getattr(stub, method)(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            raise self._failure(method, exc) from None

    @staticmethod
    def _read_info(response: Any) -> AnalyzerInfo:
        policies: dict[str, PolicyInfo] = {}
        for policy in response.policies:
            properties = None
            required: tuple[str, ...] = ()
            if policy.HasField("configSchema"):
                properties = _integral(json_format.MessageToDict(policy.configSchema.properties))
                required = tuple(policy.configSchema.required)
            policies[policy.name] = PolicyInfo(
                name=policy.name,
                description=policy.description,
                enforcement=_LEVEL_FROM_PROTO[policy.enforcementLevel],
                kind="stack" if policy.policy_type == analyzer_pb2.POLICY_TYPE_STACK else "resource",
                config_properties=properties,
                config_required=required,
            )
        return AnalyzerInfo(
            name=response.name,
            version=response.version,
            supports_config=response.supportsConfig,
            policies=dict(sorted(policies.items())),
        )

    def configure(self, policy_config_path: Path | None) -> dict[str, PolicySettings]:
        """Validate the config file (if any), reconcile it with the defaults and send Configure."""
        given = load_policy_config(policy_config_path, self.info.policies) if policy_config_path else {}
        settings = reconcile_policy_config(self.info.policies, given)
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, entry in settings.items():
            config = request.policyConfig[name]
            config.enforcementLevel = _LEVEL_TO_PROTO[entry.enforcement or "advisory"]
            config.properties.update(dict(entry.properties))
        self._call("Configure", request)
        self._settings = settings
        return settings

    def analyze_resources(self, resources: Sequence[RecordedResource]) -> list[Violation]:
        """Remediate, then Analyze, every resource, as a preview does; all violations, sorted.

        Each resource's Remediate comes before its Analyze, as the engine's step generator has
        it; different resources are analyzed :data:`IN_FLIGHT` at a time, as the engine analyzes
        the registrations of a program that registers resources concurrently. What each resource
        gets is the same as one at a time, and the result is sorted, so the order of the answers
        does not reach the report. The first call that fails stops the rest and is raised.
        """
        pipeline = _Pipeline(self._started_stub(), self.timeout, IN_FLIGHT, self._failure)
        by_urn = {r.urn: r for r in resources}
        built: dict[str, Any] = {}
        try:
            for resource in resources:
                request = analyzer_pb2.AnalyzeRequest(
                    type=resource.type,
                    properties=_struct(resource.inputs),
                    urn=resource.urn,
                    name=resource.name,
                    options=_options(resource),
                    provider=self._provider(resource, by_urn, built),
                )
                if not pipeline.submit(request):
                    break
            found = pipeline.wait()
        except BaseException:
            pipeline.cancel()
            raise
        return _sorted(found)

    def analyze_stack(self, resources: Sequence[RecordedResource]) -> list[Violation]:
        """AnalyzeStack over all resources with their outputs, parents and dependencies."""
        by_urn = {r.urn: r for r in resources}
        providers: dict[str, Any] = {}
        request = analyzer_pb2.AnalyzeStackRequest()
        for resource in resources:
            entry = request.resources.add(
                urn=resource.urn,
                type=resource.type,
                name=resource.name,
                # The engine sends outputs here; a preview's create echoes the inputs as outputs,
                # so inputs fill in whatever the recorded outputs leave out.
                properties=_struct({**resource.inputs, **resource.outputs}),
                options=_options(resource),
                parent=resource.parent or "",
                dependencies=list(resource.dependencies),
            )
            provider = self._provider(resource, by_urn, providers)
            if provider is not None:
                entry.provider.CopyFrom(provider)
            for key, urns in resource.property_dependencies.items():
                if urns:
                    entry.propertyDependencies[key].urns.extend(urns)
        response = self._call("AnalyzeStack", request)
        root = next((r.urn for r in resources if r.type == ROOT_STACK_TYPE), "")
        return _sorted(
            [
                # As the engine does: a URN outside the stack is reported on the root stack.
                Violation(d.policyName, _level(d), d.urn if d.urn in by_urn else root, _message(d))
                for d in response.diagnostics
            ]
        )

    def run(self, resources: Sequence[RecordedResource]) -> list[Violation]:
        """Per-resource analysis, then the stack analysis; all violations, sorted."""
        return _sorted(self.analyze_resources(resources) + self.analyze_stack(resources))

    @staticmethod
    def _provider(resource: RecordedResource, by_urn: Mapping[str, RecordedResource], built: dict[str, Any]) -> Any:
        """The AnalyzerProviderResource of ``resource``'s explicit provider; built once per provider."""
        provider_urn = resource.provider_urn
        provider = by_urn.get(provider_urn) if provider_urn else None
        if provider is None:
            return None
        if provider.urn not in built:
            built[provider.urn] = analyzer_pb2.AnalyzerProviderResource(
                type=provider.type, properties=_struct(provider.inputs), urn=provider.urn, name=provider.name
            )
        return built[provider.urn]


@dataclass(frozen=True)
class PackRun:
    """One run of a pack over a plan: what ran, with which interpreter, and what it found."""

    name: str
    version: str
    interpreter: str
    """The interpreter's path and why it was chosen."""
    policies: Mapping[str, str]
    """Every policy of the pack and the enforcement level it ran at (``disabled`` did not run)."""
    violations: list[Violation]

    @property
    def policies_run(self) -> int:
        """Policies that ran: all but the disabled ones."""
        return sum(1 for level in self.policies.values() if level != "disabled")


def run_pack(
    pack_dir: Path,
    policy_config_path: Path | None,
    resources: Sequence[RecordedResource],
    *,
    stack: str = "",
    project: str = "",
    python: str | os.PathLike[str] | None = None,
    timeout: float = 120.0,
) -> PackRun:
    """Run the pack at ``pack_dir`` over ``resources`` once and stop it; errors as :func:`analyze`."""
    with PolicyPackSession(pack_dir, timeout=timeout, stack=stack, project=project, python=python) as session:
        return run_session(session, policy_config_path, resources)


def run_session(
    session: PolicyPackSession, policy_config_path: Path | None, resources: Sequence[RecordedResource]
) -> PackRun:
    """Configure a session (started, or starting with ``start(wait=False)``) and run it over ``resources``.

    The session stays open: whoever started it closes it. Errors as :func:`analyze`.
    """
    settings = session.configure(policy_config_path)
    violations = session.run(resources)
    assert session.interpreter is not None
    return PackRun(
        name=session.info.name,
        version=session.info.version,
        interpreter=f"{session.interpreter.python} ({session.interpreter.reason})",
        policies={name: entry.enforcement or "advisory" for name, entry in settings.items()},
        violations=violations,
    )


def analyze(
    pack_dir: Path,
    policy_config_path: Path | None,
    resources: Sequence[RecordedResource],
    *,
    timeout: float = 120.0,
) -> list[Violation]:
    """Run the pack at ``pack_dir`` over ``resources`` once and stop it; violations sorted.

    Raises:
        PolicyConfigError: the config file is not valid for the pack.
        PolicyPackStartError: the pack did not start (its stderr is in the message).
        AnalyzerError: a call to the pack failed.
    """
    with PolicyPackSession(pack_dir, timeout=timeout) as session:
        session.configure(policy_config_path)
        return session.run(resources)
