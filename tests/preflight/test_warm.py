"""The warm server (preflight/warm.py): a served run is the run the command makes in its own process."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from preflight import warm
from preflight.runner import PROJECT_DIR


@dataclass
class Served:
    process: subprocess.Popen[str]
    log: Path
    directory: Path

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def wait_for(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text())
            if found:
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"the warm server's log never matched {pattern!r}:\n{self.text()}")


def _env(directory: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, warm.DIR_ENV: str(directory)}
    env.pop(warm.SWITCH_ENV, None)  # the caller's own setting only: `extra` may turn the server off
    env.update(extra)
    env.setdefault("PREFLIGHT_POLICY_PYTHON", sys.executable)
    return env


def _start(directory: Path, log: Path, **extra: str) -> subprocess.Popen[str]:
    with log.open("w", encoding="utf-8") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "preflight.warm", "--idle-minutes", "3"],
            cwd=PROJECT_DIR,
            env=_env(directory, **extra),
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )


@contextlib.contextmanager
def _serving(directory: Path, log: Path) -> Iterator[Served]:
    """A warm server serving `directory`, stopped afterwards unless the test stopped it."""
    server = Served(_start(directory, log), log, directory)
    try:
        server.wait_for("serving ")
        yield server
    finally:
        if server.process.poll() is None:
            server.process.terminate()
            assert server.process.wait(timeout=30) == 130
            assert not list(directory.glob("*.sock"))  # a stopped server takes its socket with it


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with _serving(tmp_path / "warm", tmp_path / "server.log") as server:  # the directory made private by it
        yield server


def _preflight(directory: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "preflight", *args],
        cwd=PROJECT_DIR,
        env=_env(directory, **env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _learned(served: Served) -> Path:
    """The file where the server keeps what the runs imported, once it has written it."""
    learned = next(served.directory.glob("*.sock")).with_suffix(".modules.json")
    deadline = time.monotonic() + 60
    while not learned.exists():
        assert time.monotonic() < deadline, f"the warm server never wrote {learned}:\n{served.text()}"
        time.sleep(0.05)
    return learned


def test_a_served_run_prints_and_exits_as_the_cold_run(served: Served, tmp_path: Path) -> None:
    missing = tmp_path / "Pulumi.missing.yaml"
    runs = {
        ("--stack", "dev", "--json"): 0,
        ("--stack", "dev", "--no-policy", "--config-file", str(missing)): 2,
    }
    for args, code in runs.items():
        cold = _preflight(served.directory, *args, PREFLIGHT_WARM="0")
        hot = _preflight(served.directory, *args)
        assert cold.returncode == code
        assert (hot.returncode, hot.stdout, hot.stderr) == (cold.returncode, cold.stdout, cold.stderr)
        # Served, not run cold beside the server:
        served.wait_for(re.escape(f"ran {' '.join(args)} (pid ") + rf"\d+\): exit {code} in")
    assert "Pulumi.missing.yaml" in cold.stderr


def test_the_server_keeps_what_the_runs_imported_and_nothing_of_the_project(served: Served) -> None:
    assert _preflight(served.directory, "--stack", "dev", "--no-policy").returncode == 0
    names = json.loads(_learned(served).read_text(encoding="utf-8"))
    assert "pulumi_docker" in names and "pulumi.runtime.mocks" in names
    project = {path.name for path in PROJECT_DIR.iterdir() if path.is_dir()} | {"__main__"}
    assert not [name for name in names if name.split(".")[0] in project]


def _long_run(served: Served, tmp_path: Path, *options: str) -> tuple[subprocess.Popen[str], int]:
    """A served preflight of a 2,100-service prod stack (about half a minute of program run), once
    the server has forked it: the command's process and the run's pid."""
    from benchmarks.preflight_scale import synthetic_stack_file

    stack_file = synthetic_stack_file(2100, tmp_path)
    args = ["--stack", "prod", *options, "--config-file", str(stack_file)]
    client = subprocess.Popen(
        [sys.executable, "-m", "preflight", *args],
        cwd=PROJECT_DIR,
        env=_env(served.directory),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pid = int(served.wait_for(re.escape(f"running {' '.join(args)} (pid ") + r"(\d+)\)").group(1))
    return client, pid


def test_interrupting_the_command_stops_its_run_and_policy_pack(served: Served, tmp_path: Path) -> None:
    client, pid = _long_run(served, tmp_path)
    time.sleep(3)  # the policy pack is up and the program is running
    assert client.poll() is None
    client.send_signal(signal.SIGINT)
    client.communicate(timeout=30)
    assert client.returncode == 130
    served.wait_for(rf"\(pid {pid}\): exit 130 in", timeout=warm.GRACE_SECONDS + 30)
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # nothing of the run's process group, its pack included, is left
    assert served.process.poll() is None  # and the server serves on
    assert _preflight(served.directory, "--stack", "dev", "--no-policy").returncode == 0


def test_a_server_stopped_during_a_run_takes_the_run_along_and_the_command_says_so(
    served: Served, tmp_path: Path
) -> None:
    client, pid = _long_run(served, tmp_path, "--no-policy")
    time.sleep(1)
    served.process.terminate()
    out, err = client.communicate(timeout=60)
    # Not run again cold: the run had started, so it was this command's run.
    assert (client.returncode, out, err) == (2, "", "preflight: the warm server stopped during the run\n")
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    assert served.process.wait(timeout=30) == 130
    assert not list(served.directory.glob("*.sock"))


def test_a_server_that_starts_with_what_an_earlier_one_learned_serves_prod_as_the_cold_run(
    served: Served, tmp_path: Path
) -> None:
    # prod imports pulumi_command, whose `remote` package pulumi loads lazily; a server that
    # imported `remote`'s modules before loading `remote` itself left it without `Command`.
    args = ("--stack", "prod", "--no-policy", "--json")
    assert _preflight(served.directory, *args).returncode == 0
    learned = _learned(served)
    assert "pulumi_command.remote.command" in json.loads(learned.read_text(encoding="utf-8"))
    served.process.terminate()
    assert served.process.wait(timeout=30) == 130
    with _serving(served.directory, tmp_path / "second.log") as second:
        cold = _preflight(served.directory, *args, PREFLIGHT_WARM="0")
        hot = _preflight(served.directory, *args)
        second.wait_for(r"ran --stack prod --no-policy --json \(pid \d+\): exit 0")
        assert cold.returncode == 0
        assert (hot.returncode, hot.stdout, hot.stderr) == (cold.returncode, cold.stdout, cold.stderr)


@pytest.fixture
def lazy_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A package laid out as pulumi's providers are: `sub` is lazily imported by the package, its
    `__init__` star-imports `child`, and `child` reads a sibling through `sub` while it runs."""
    name = f"lazy_{tmp_path.name}".replace("-", "_")
    sub = tmp_path / name / "sub"
    sub.mkdir(parents=True)
    (tmp_path / name / "__init__.py").write_text(
        f"import pulumi._utils\nsub = pulumi._utils.lazy_import({name + '.sub'!r})\n", encoding="utf-8"
    )
    (sub / "__init__.py").write_text("from .child import *\nfrom .sibling import *\n", encoding="utf-8")
    (sub / "sibling.py").write_text("Sibling = 1\n", encoding="utf-8")
    (sub / "child.py").write_text("from . import sibling\n\nclass Thing:\n    pass\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in [module for module in sys.modules if module.split(".")[0] == name]:
        del sys.modules[module]


@pytest.mark.parametrize("learned", ["all", "child"])
def test_preloading_a_lazy_package_s_modules_leaves_the_package_whole(lazy_package: str, learned: str) -> None:
    server = warm.Server(Path("unused.sock"), 1.0)
    if learned == "all":  # sorted, as the server keeps them: `sub` before the modules it imports
        names = [lazy_package, f"{lazy_package}.sub", f"{lazy_package}.sub.child", f"{lazy_package}.sub.sibling"]
    else:
        names = [f"{lazy_package}.sub.child"]
    assert server.preload(names) == len(names) - (2 if learned == "all" else 0)  # `sub` brought its modules
    assert sys.modules[f"{lazy_package}.sub"].Thing is sys.modules[f"{lazy_package}.sub.child"].Thing


def test_a_lazy_module_the_run_never_used_is_not_learned(lazy_package: str) -> None:
    package = importlib.import_module(lazy_package)
    roots = (str(Path(str(package.__file__)).parent.parent) + os.sep,)
    assert warm._lazy(sys.modules[f"{lazy_package}.sub"])
    assert [warm._third_party(sys.modules[n], roots) for n in (lazy_package, f"{lazy_package}.sub")] == [True, False]
    assert package.sub.Sibling == 1  # read: executed, and from then on worth learning
    assert warm._third_party(sys.modules[f"{lazy_package}.sub"], roots)


def _server_that_learned(
    names: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **extra: str
) -> tuple[Served, Path]:
    """A server started where earlier runs taught it to import `names`, and its socket file."""
    directory = tmp_path / "warm"
    monkeypatch.setenv(warm.DIR_ENV, str(directory))
    socket_file = warm.socket_path()
    directory.mkdir(mode=0o700)
    socket_file.with_suffix(".modules.json").write_text(json.dumps(names), encoding="utf-8")
    log = tmp_path / "server.log"
    return Served(_start(directory, log, **extra), log, directory), socket_file


def test_a_server_stopped_while_it_imports_what_it_learned_leaves_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every module of pulumi_aws: many seconds of imports, dataclasses' exec() among them.
    aws = Path(importlib.util.find_spec("pulumi_aws").origin).parent  # type: ignore[arg-type,union-attr]
    names = sorted(f"pulumi_aws.{d.name}" for d in aws.iterdir() if (d / "__init__.py").exists())
    server, socket_file = _server_that_learned(names, tmp_path, monkeypatch)
    deadline = time.monotonic() + 60
    while not socket_file.exists():
        assert time.monotonic() < deadline and server.process.poll() is None, server.text()
        time.sleep(0.05)
    time.sleep(1)
    assert "imported " not in server.text()  # still importing
    server.process.terminate()
    assert server.process.wait(timeout=30) == 130
    assert not socket_file.exists()


def test_a_stop_that_a_module_swallows_while_the_server_imports_it_still_stops_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SIGTERM raises wherever the server's main thread is; code that catches BaseException (an
    # import guarded so, a finalizer the signal lands in) swallows it, and the server must stop anyway.
    started = tmp_path / "importing"
    (tmp_path / "swallower.py").write_text(
        "import pathlib, time\n"
        f"pathlib.Path({str(started)!r}).touch()\n"
        "try:\n"
        "    time.sleep(20)\n"
        "except BaseException:\n"
        "    pass\n",
        encoding="utf-8",
    )
    server, socket_file = _server_that_learned(["swallower"], tmp_path, monkeypatch, PYTHONPATH=str(tmp_path))
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert time.monotonic() < deadline and server.process.poll() is None, server.text()
            time.sleep(0.05)
        server.process.terminate()
        assert server.process.wait(timeout=40) == 130, server.text()
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()
    assert "serving" not in server.text()
    assert not socket_file.exists()


def test_sigterm_in_code_run_from_a_string_ends_the_server_with_its_own_exit_code(tmp_path: Path) -> None:
    # Under `python -m`, CPython ends a process by SIGINT (-2) whatever its exit code once a
    # KeyboardInterrupt has left code run by exec() of a string, caught or not: imports run such
    # code (dataclasses), so the server's SIGTERM must raise something else.
    (tmp_path / "stopper.py").write_text(
        "import os, signal, sys\n"
        "from preflight import warm\n"
        "signal.signal(signal.SIGTERM, warm._stop)\n"
        "try:\n"
        "    exec('os.kill(os.getpid(), signal.SIGTERM)')\n"
        "except BaseException:\n"
        "    sys.exit(130)\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
    stopped = subprocess.run([sys.executable, "-m", "stopper"], cwd=tmp_path, env=env, timeout=60, check=False)
    assert stopped.returncode == 130


def test_a_second_server_for_the_same_checkout_is_refused(served: Served, tmp_path: Path) -> None:
    second = _start(served.directory, tmp_path / "second.log")
    assert second.wait(timeout=60) == 2
    assert "a warm server already serves" in (tmp_path / "second.log").read_text(encoding="utf-8")
    assert served.process.poll() is None


def test_without_a_usable_server_the_command_runs_in_its_own_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "warm"
    monkeypatch.setenv(warm.DIR_ENV, str(directory))
    monkeypatch.delenv(warm.SWITCH_ENV, raising=False)
    assert warm.delegate(["--stack", "dev"]) is None  # no directory

    directory.mkdir(mode=0o700)
    path = warm.socket_path()
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # a socket file nobody listens on
    assert warm.delegate(["--stack", "dev"]) is None

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listening:
        path.unlink()
        listening.bind(str(path))
        listening.listen(1)
        monkeypatch.setenv(warm.SWITCH_ENV, "0")
        assert warm.delegate(["--stack", "dev"]) is None  # switched off
        monkeypatch.delenv(warm.SWITCH_ENV)
        directory.chmod(0o777)
        assert warm.delegate(["--stack", "dev"]) is None  # a directory others can enter is not trusted
        directory.chmod(0o700)


def _request(server: warm.Server, **changes: object) -> tuple[dict[str, object], bool]:
    """Hand `server` one request over a socket pair; its answer, and whether it serves on."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with ours, theirs:
        request = {
            "argv": ["--stack", "dev"],
            "cwd": str(PROJECT_DIR),
            "env": {},
            "streams": [warm._stream_spec(s) for s in (sys.stdin, sys.stdout, sys.stderr)],
            "interpreter": warm.interpreter_options(),
            **changes,
        }
        with open(os.devnull, "rb") as null:
            fds = [null.fileno()] * 3
            warm._send(ours, request, fds)
            serves_on = server.handle(theirs)
        answer, _ = warm._receive(ours)
    return answer, serves_on


def test_a_request_the_server_cannot_run_as_the_command_would_is_sent_back(tmp_path: Path) -> None:
    server = warm.Server(tmp_path / "x.sock", 60, log=open(os.devnull, "w"))  # noqa: SIM115
    answer, serves_on = _request(server, interpreter=[["error"], 0, 0, 0, 0, 0, []])
    assert serves_on and "other options" in str(answer["fallback"])

    server.fingerprint = (0, 0)  # as if a package was installed since it started
    answer, serves_on = _request(server)
    assert not serves_on and "packages changed" in str(answer["fallback"])
