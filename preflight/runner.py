"""Runs the program's `__main__.py` under Pulumi mocks with a stack's real config files.

The run is what `pulumi preview` would do up to the providers: the same config map and
secret keys the CLI passes, the same RegisterResource calls, and a StackReference answered
from the referenced stack's own preflight run instead of a state backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import runpy
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import pulumi
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from config.loader import PROJECT, ConfigError, load_stack_config
from config.models import StackConfig
from preflight.mocks import PreflightMocks, RecordingMonitor
from preflight.project import ProjectError, StackConfigError, apply_project_config, load_project
from preflight.records import SECRET_SIG_KEY, SECRET_SIG_VALUE, UNKNOWN_VALUE, RecordedResource
from preflight.stackfile import StackFile, StackFileError, read_stack_file

PROJECT_DIR = Path(__file__).resolve().parent.parent
REPEAT_SECONDS: Final = 0.05
"""How often an interrupted run gets SIGINT again until it has unwound (see `_interruptible`)."""


class PreflightError(Exception):
    """The stack cannot be previewed: bad config, or the program failed. Message is for the user."""


@dataclass(frozen=True)
class PlanResult:
    """Everything one preflight run saw."""

    stack: str
    stack_file: Path
    config: StackConfig
    resources: list[RecordedResource]
    outputs: dict[str, Any]
    secret_outputs: frozenset[str]
    warnings: tuple[str, ...] = ()
    """What the program and its SDKs logged as warnings (deprecations among them)."""
    invokes: tuple[tuple[str, dict[str, Any]], ...] = ()
    """Every data source the program read, as (function token, arguments)."""


def stack_file_for(stack: str, project_dir: Path = PROJECT_DIR) -> Path:
    """Where the Pulumi CLI looks for a stack's config."""
    return project_dir / f"Pulumi.{stack}.yaml"


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


class _Collector:
    """Keeps the cyclic garbage collector to its youngest generation during the mocked run.

    The SDK makes several Outputs and futures per property of every resource (~190,000 at
    2,100 services), all alive until the run ends. Each older collection walks them again for
    nothing to free: full collections took 40 % of the run at 2,100 services, and collections
    of the middle generation, which walks each of them once more before promoting it, another
    10 %. The youngest generation is still collected: the run's cyclic garbage dies there (the
    SDK's ``contains_unknowns``, pulumi/runtime/rpc.py, makes a self-referencing closure on
    every call, 28,000 at 210 services), so peak memory stays where it was. After the run its
    objects are frozen (left out of later collections) rather than walked by the next full one;
    a process that runs another stack (the tests, dr previewing prod first) collects them
    before that run. benchmarks/ prints the peak memory.
    """

    NEVER: Final = 1_000_000_000
    frozen = False

    @classmethod
    @contextlib.contextmanager
    def young_only(cls) -> Iterator[None]:
        if cls.frozen:
            gc.unfreeze()
            gc.collect()
            cls.frozen = False
        thresholds = gc.get_threshold()
        gc.set_threshold(thresholds[0], cls.NEVER, cls.NEVER)
        try:
            yield
        finally:
            gc.freeze()
            cls.frozen = True
            gc.set_threshold(*thresholds)


class _Interrupt(KeyboardInterrupt):
    """Ctrl-C during the run. A subclass, so that CPython does not count it as an unhandled
    KeyboardInterrupt when it leaves code run by exec() of a string (dataclasses' methods, built
    while a provider module is imported): under ``python -m`` that ends the process by SIGINT
    whatever preflight returns (preflight/warm.py, ``_Stopped``). Only the exact type counts."""


@contextlib.contextmanager
def _interruptible() -> Iterator[list[bool]]:
    """Ctrl-C stops the mocked run at once, as it stops `pulumi preview`.

    The SDK's ``run_pulumi_func`` (pulumi sdk/python/lib/pulumi/runtime/stack.py) catches any
    BaseException of the program, KeyboardInterrupt included, and then waits for every outstanding
    RPC; a program interrupted halfway leaves Outputs that never resolve, so that wait never ends
    and the first Ctrl-C would hang preflight. While the run lasts, SIGINT also stops the event
    loop (``run_until_complete`` then raises instead of waiting), and the run ends in
    KeyboardInterrupt. Only the default handler is replaced: an ignored SIGINT stays ignored.

    The SDK also swallows a KeyboardInterrupt that lands in some of its own code:
    ``_get_source_position_for_frame`` (pulumi/runtime/resource.py), called for every resource,
    catches BaseException around ``pathlib.Path(...).as_uri()`` and carries on. So after the first
    SIGINT a thread delivers it again every REPEAT_SECONDS until the run has unwound.
    Whatever the run then ends in (the loop stopped early, an error of the half-run program), it
    leaves as a KeyboardInterrupt. The yielded list holds True once SIGINT came.
    """
    interrupted = [False]
    main_thread = threading.current_thread() is threading.main_thread()
    if not main_thread or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield interrupted
        return
    # The loop `_sync_await` runs the program on: the SDK's own choice of it.
    loop: asyncio.AbstractEventLoop = _ensure_event_loop()  # type: ignore[no-untyped-call]
    unwinding = [False]
    stopped = threading.Event()
    repeater: list[threading.Thread] = []
    main = threading.get_ident()

    def repeat() -> None:
        while not stopped.wait(REPEAT_SECONDS):
            signal.pthread_kill(main, signal.SIGINT)

    def stop(signum: int, frame: Any) -> None:
        if unwinding[0]:
            # The run is over and the handler is being put back: raising here would cut that
            # short. A repeat is the interrupt already under way; a Ctrl-C is raised after it.
            interrupted[0] = True
            return
        if not interrupted[0]:
            interrupted[0] = True
            loop.stop()
            repeater.append(threading.Thread(target=repeat, name="preflight-interrupt", daemon=True))
            repeater[0].start()
        raise _Interrupt

    def put_back() -> None:
        stopped.set()
        for thread in repeater:
            thread.join()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, stop)
    # `unwinding` is set by the first statement of each way out, before any call: CPython runs a
    # signal handler at a call or a backward jump (Python/ceval.c, CHECK_EVAL_BREAKER), so none
    # can run between leaving the `try` and the store.
    try:
        yield interrupted
    except BaseException:
        unwinding[0] = True
        put_back()
        if interrupted[0]:
            raise _Interrupt from None
        raise
    unwinding[0] = True
    put_back()
    if interrupted[0]:
        raise _Interrupt  # Ctrl-C as the run ended: still an interrupted run


def _short_stack_name(reference: str) -> str:
    """`org/ziggie-infra/prod` -> `prod`: preflight finds the referenced stack's file by name."""
    return reference.rsplit("/", 1)[-1]


def _read(stack: str, path: Path, project_dir: Path) -> tuple[StackFile, StackConfig]:
    try:
        stack_file = read_stack_file(path)
    except StackFileError as exc:
        raise PreflightError(str(exc)) from None
    # Before the program runs, the CLI merges the stack's config with Pulumi.yaml's
    # declarations and refuses the stack if they disagree (preflight/project.py).
    try:
        project = load_project(project_dir / "Pulumi.yaml")
        stack_file = apply_project_config(project, stack, stack_file)
    except ProjectError as exc:
        raise PreflightError(str(exc)) from None
    except StackConfigError as exc:
        raise PreflightError(
            f"{path.name}: {exc} (the Pulumi CLI refuses this stack against Pulumi.yaml's config declarations)"
        ) from None
    try:
        config = load_stack_config(stack_file.config, stack_file.secret_keys, source=path.name, stack=stack)
    except ConfigError as exc:
        raise PreflightError(str(exc)) from None
    return stack_file, config


def run_stack(
    stack: str,
    config_file: Path | None = None,
    *,
    project_dir: Path = PROJECT_DIR,
    stack_outputs: Callable[[str], Mapping[str, Any]] | None = None,
) -> PlanResult:
    """Preview `stack` under mocks and return what it registered and exported.

    `stack_outputs` answers a StackReference by stack name; by default the referenced stack
    is itself previewed from its own stack file, so a renamed or missing output fails here.
    """
    path = config_file or stack_file_for(stack, project_dir)
    stack_file, config = _read(stack, path, project_dir)

    def referenced(name: str) -> Mapping[str, Any]:
        short = _short_stack_name(name)
        if short == stack:
            raise PreflightError(f"stack {stack} references itself")
        return run_stack(short, project_dir=project_dir).outputs

    answer = stack_outputs or referenced
    # A referenced stack is previewed before this run starts: the mocked runtime is global.
    cache: dict[str, Mapping[str, Any]] = {}
    if config.primary is not None:
        cache[config.primary.stack] = answer(config.primary.stack)

    def lookup(name: str) -> Mapping[str, Any]:
        if name not in cache:
            cache[name] = answer(name)
        return cache[name]

    monitor = RecordingMonitor(PreflightMocks(lookup))
    engine_log = _EngineLog()
    outputs, secret_outputs = _run_program(stack, stack_file, monitor, project_dir, engine_log.logger)
    return PlanResult(
        stack=stack,
        stack_file=path,
        config=config,
        # Registration order follows asyncio scheduling; the URN order is the stable one.
        resources=sorted(_with_stack_outputs(monitor.records, outputs, secret_outputs), key=lambda r: r.urn),
        outputs=outputs,
        secret_outputs=frozenset(secret_outputs),
        warnings=tuple(engine_log.warnings),
        invokes=tuple(monitor.invokes),
    )


ROOT_STACK: Final = "pulumi:pulumi:Stack"


def _wire(value: Any) -> Any:
    """A resolved output value in the engine's wire form: unknowns as the unknown marker."""
    if type(value).__name__ == "Unknown":
        return UNKNOWN_VALUE
    if isinstance(value, Mapping):
        return {str(k): _wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wire(v) for v in value]
    return value


def _with_stack_outputs(
    records: list[RecordedResource], outputs: Mapping[str, Any], secret: set[str]
) -> list[RecordedResource]:
    """The records, the root stack's with the program's exports as its outputs.

    The SDK registers the root stack's outputs with RegisterResourceOutputs once the program has
    run (pulumi sdk/python/lib/pulumi/runtime/stack.py, `Stack.__init__`), and the engine stores
    them as the stack's Outputs (pulumi/pulumi pkg/resource/deploy/step_executor.go,
    `executeRegisterResourceOutputs`), finalized before the executor calls `AnalyzeResources`
    (pkg/resource/deploy/deployment_executor.go, `Execute`), which sends them to AnalyzeStack as
    the stack's properties (pkg/resource/deploy/step_generator.go). Under mocks the root stack is
    registered before the program runs, so preflight adds what it exported here; a secret
    export stays wrapped.
    """
    exported = {
        name: {SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": _wire(value)} if name in secret else _wire(value)
        for name, value in outputs.items()
    }
    return [replace(r, outputs={**r.outputs, **exported}) if r.type == ROOT_STACK else r for r in records]


class _EngineLog(logging.Handler):
    """Collects what the program logs through the (mocked) engine at warning level or above."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.warnings: list[str] = []
        self.logger = logging.getLogger(f"preflight.engine.{id(self)}")
        self.logger.propagate = False
        self.logger.setLevel(logging.WARNING)
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.warnings.append(record.getMessage())


def _run_program(
    stack: str, stack_file: StackFile, monitor: RecordingMonitor, project_dir: Path, logger: logging.Logger
) -> tuple[dict[str, Any], set[str]]:
    import json

    env = {
        "PULUMI_CONFIG": json.dumps(stack_file.config),
        "PULUMI_CONFIG_SECRET_KEYS": json.dumps(list(stack_file.secret_keys)),
        "ZIGGIE_STACK_FILE": stack_file.path.name,
    }
    # A run that failed leaves its error and pending outputs in the runtime; start clean, as
    # pulumi.runtime.test does.
    pulumi_settings.SETTINGS.rpc_manager.clear()
    pulumi_settings.SETTINGS.outputs.clear()
    pulumi.runtime.set_all_config({}, [])
    pulumi_settings.set_root_resource(None)  # type: ignore[arg-type]
    with _environment(env):
        pulumi.runtime.set_all_config(dict(stack_file.config), list(stack_file.secret_keys))
        pulumi.runtime.set_mocks(
            monitor.mocks, project=PROJECT, stack=stack, preview=True, monitor=monitor, logger=logger
        )
        outputs: dict[str, Any] = {}
        secret: set[str] = set()

        async def program() -> None:
            # As the Python language host runs a project whose Pulumi.yaml names no `main`:
            # ``runpy.run_path(args.PROGRAM, run_name='__main__')`` with the project directory as
            # PROGRAM (pulumi/pulumi sdk/python/cmd/pulumi-language-python-exec; a failing
            # program's traceback there names "./__main__.py"). run_path puts the directory first
            # on sys.path for the run and loads __main__.py through the import system, so its
            # compiled code is kept in __pycache__ as any module's is.
            runpy.run_path(str(project_dir), run_name="__main__")
            root = pulumi_settings.get_root_resource()
            for name, value in sorted(getattr(root, "outputs", {}).items()):
                output = pulumi.Output.from_input(value)
                outputs[name] = await output.future(with_unknowns=True)
                if await output.is_secret():
                    secret.add(name)

        try:
            with _Collector.young_only(), _interruptible():
                _sync_await(run_pulumi_func(program))
        except pulumi.RunError as exc:
            raise PreflightError(str(exc)) from None
        except PreflightError:
            raise
        except Exception as exc:
            raise PreflightError(f"the program failed: {type(exc).__name__}: {exc}") from exc
        finally:
            pulumi_settings.set_root_resource(None)  # type: ignore[arg-type]
    return outputs, secret
