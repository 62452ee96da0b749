"""A warm preflight: a server that keeps pulumi and the providers imported, and forks a run per request.

Most of a cold ``python -m preflight --stack prod`` is Python importing pulumi and the provider
modules prod's resources come from (README, "The floor"). ``python -m preflight.warm`` imports
them once and then serves runs: ``python -m preflight`` finds the server's socket, hands it its
arguments, working directory, environment and its own stdin, stdout and stderr, and the server
forks a child that runs preflight in them, exactly as the command would have run, and answers
with the child's exit code. Without a server (or with ``PREFLIGHT_WARM=0``) preflight runs in
its own process as before; both give the same output and exit code.

What the server keeps is third-party code only: modules loaded from the interpreter's
site-packages and standard library, never the project's own (``__main__.py``, ``components/``,
``config/``, ``preflight/``), which every run imports afresh, so an edited program or stack file
is always what runs. It learns what to keep from the runs themselves: after each run it imports
whatever third-party modules that run loaded (pulumi_aws's S3 and Route 53 modules, pulumi_gcp's
compute, ...), so the next run of the same stack finds them loaded.

A server is tied to one interpreter, one checkout and one ``requirements.lock``: the socket's
name is a hash of the three and of this file, so after ``make`` installs new pins or this file
changes, preflight no longer finds the old server, which leaves when it has been idle for
``--idle-minutes``. If packages change under a running server (a ``pip install`` into .venv),
it answers the next request with "run cold" and stops. The socket lives in a directory only its
user can enter (``$XDG_RUNTIME_DIR/ziggie-preflight``, else ``ziggie-preflight-<uid>`` in the temporary directory, or
``$PREFLIGHT_WARM_DIR``) and the server serves only its own user's processes (SO_PEERCRED).

One run at a time: a request that comes while a run is going waits for it. Interrupting
``python -m preflight`` (Ctrl-C) interrupts its run: the server sends SIGINT to the run's process
group (the run and its policy pack), then SIGKILL after :data:`GRACE_SECONDS`.

This module imports only the standard library, so the client's check for a server costs
milliseconds.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import io
import json
import os
import select
import signal
import socket
import stat
import struct
import sys
import sysconfig
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

PROJECT_DIR: Final = Path(__file__).resolve().parents[1]
SWITCH_ENV: Final = "PREFLIGHT_WARM"
"""``PREFLIGHT_WARM=0`` makes ``python -m preflight`` run in its own process even with a server."""
DIR_ENV: Final = "PREFLIGHT_WARM_DIR"
GRACE_SECONDS: Final = 5.0
REQUEST_TIMEOUT: Final = 10.0
"""How long the server waits for a connected client to send its whole request."""
MAX_REQUEST: Final = 4 * 1024 * 1024
FIRST_IMPORTS: Final = ("pulumi", "pulumi.runtime", "pulumi.runtime.mocks", "pulumi_docker", "yaml", "pydantic")
"""What every run imports, loaded when the server starts; the rest is learned from the runs."""
EXIT_INTERNAL: Final = 70  # EX_SOFTWARE: the forked run failed outside preflight's own guard


class WarmError(Exception):
    """The server cannot start or serve (its directory is unsafe, another server runs, ...)."""


# --- where the server is -----------------------------------------------------------------------


def runtime_dir() -> Path:
    """The directory that holds the sockets: private to the user, created if missing."""
    override = os.environ.get(DIR_ENV)
    if override:
        return Path(override)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "ziggie-preflight"
    return Path(tempfile.gettempdir()) / f"ziggie-preflight-{os.getuid()}"  # checked private before use


def _private(directory: Path, *, create: bool) -> bool:
    """True when `directory` is ours and nobody else can enter it (made so when `create`)."""
    if create:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        info = directory.lstat()
    except FileNotFoundError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077


def server_key(project_dir: Path = PROJECT_DIR) -> str:
    """What a server is tied to: this interpreter, this checkout, its lock and this module's code."""
    try:
        lock = (project_dir / "requirements.lock").read_bytes()
    except FileNotFoundError:
        lock = b""
    digest = hashlib.sha256()
    for part in (
        os.path.realpath(sys.executable),
        sys.version,
        str(project_dir.resolve()),
        lock,
        Path(__file__).read_bytes(),
    ):
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def socket_path(project_dir: Path = PROJECT_DIR) -> Path:
    return runtime_dir() / f"{server_key(project_dir)}.sock"


# --- the wire: a length-prefixed JSON message each way, the client's stdio passed along ---------

_LENGTH: Final = struct.Struct(">I")


def _send(sock: socket.socket, message: Mapping[str, Any], fds: list[int] | None = None) -> None:
    payload = json.dumps(message).encode()
    data = _LENGTH.pack(len(payload)) + payload
    sent = socket.send_fds(sock, [data], fds) if fds else 0
    sock.sendall(data[sent:])


def _receive(sock: socket.socket, *, fds: bool = False) -> tuple[dict[str, Any], list[int]]:
    """One message, and the descriptors that came with its first bytes."""
    received: list[int] = []
    if fds:
        data, received, _flags, _address = socket.recv_fds(sock, 65536, 3)
    else:
        data = sock.recv(65536)
    buffer = bytearray(data)
    try:
        if not data:
            raise EOFError("the other side closed the connection")
        while len(buffer) < _LENGTH.size or len(buffer) < _LENGTH.size + _LENGTH.unpack_from(buffer)[0]:
            if len(buffer) >= _LENGTH.size and _LENGTH.unpack_from(buffer)[0] > MAX_REQUEST:
                raise ValueError("message too long")
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError("the other side closed the connection mid-message")
            buffer += chunk
        (length,) = _LENGTH.unpack_from(buffer)
        message: dict[str, Any] = json.loads(buffer[_LENGTH.size : _LENGTH.size + length])
    except BaseException:
        for fd in received:
            os.close(fd)
        raise
    return message, received


def _stream_spec(stream: Any) -> dict[str, Any]:
    """How the client's interpreter set up a standard stream, so the run's matches it."""
    return {
        "encoding": getattr(stream, "encoding", None) or "utf-8",
        "errors": getattr(stream, "errors", None) or "strict",
        "line_buffering": bool(getattr(stream, "line_buffering", False)),
        "write_through": bool(getattr(stream, "write_through", False)),
    }


def interpreter_options() -> list[Any]:
    """The command-line options of this interpreter a run would behave differently under."""
    flags = sys.flags
    return [
        list(sys.warnoptions),
        flags.optimize,
        flags.dev_mode,
        flags.utf8_mode,
        flags.bytes_warning,
        flags.safe_path,
        list(sys.path[1:]),
    ]


# --- the client --------------------------------------------------------------------------------


def delegate(argv: list[str]) -> int | None:
    """Run preflight with `argv` in a warm server; its exit code, or None to run it here instead."""
    if os.environ.get(SWITCH_ENV, "1") == "0":
        return None
    if not _private(runtime_dir(), create=False):
        return None  # no server has run here (and nothing is hashed for the socket's name)
    try:
        path = socket_path()
    except OSError:
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            sock.connect(str(path))
        except OSError:
            return None  # no server, or a socket left by one that is gone
        request = {
            "argv": argv,
            "argv0": sys.argv[0],
            "cwd": os.getcwd(),
            "env": dict(os.environ),
            "streams": [_stream_spec(s) for s in (sys.stdin, sys.stdout, sys.stderr)],
            "interpreter": interpreter_options(),
        }
        try:
            _send(sock, request, [0, 1, 2])
            answer, _ = _receive(sock)
        except (OSError, EOFError, ValueError):
            return None  # the server went away before taking the run: nothing has run yet
        except KeyboardInterrupt:
            return 130
        if "started" not in answer:
            print(f"preflight: warm server: {answer.get('fallback', 'no answer')}; running cold", file=sys.stderr)
            return None
        # The run has started: from here on it is this command's run, whatever happens to the server.
        try:
            answer, _ = _receive(sock)
        except (OSError, EOFError, ValueError):
            print("preflight: the warm server stopped during the run", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return 130  # closing the connection tells the server to interrupt the run
        return int(answer["exit"])
    finally:
        sock.close()


# --- the server --------------------------------------------------------------------------------


def _third_party_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    return tuple(
        dict.fromkeys(os.path.realpath(paths[key]) + os.sep for key in ("purelib", "platlib", "stdlib", "platstdlib"))
    )


def _third_party(module: Any, roots: tuple[str, ...]) -> bool:
    """A module loaded from site-packages or the standard library, not from the project, and
    executed: a provider's lazy submodules the run never used are not worth a server's import."""
    if _lazy(module):
        return False
    location = getattr(module, "__file__", None)
    if not isinstance(location, str):
        return False
    real = os.path.realpath(location)
    return real.startswith(roots)


def _site_fingerprint() -> tuple[int, ...]:
    """Changes when a package is installed into or removed from the interpreter's site-packages."""
    paths = sysconfig.get_paths()
    return tuple(os.stat(paths[key]).st_mtime_ns for key in ("purelib", "platlib"))


class Server:
    """Serves preflight runs on a Unix socket until idle for `idle_seconds`."""

    def __init__(self, path: Path, idle_seconds: float, log: Any = sys.stderr) -> None:
        self.path = path
        self.idle_seconds = idle_seconds
        self.log = log
        self.roots = _third_party_roots()
        self.fingerprint = _site_fingerprint()
        self.listener: socket.socket | None = None

    def say(self, text: str) -> None:
        print(f"preflight.warm: {text}", file=self.log, flush=True)

    def preload(self, names: list[str]) -> int:
        """Import the third-party modules among `names` that are not loaded yet; how many were."""
        loaded = 0
        for name in names:
            _stop_if_asked()
            if name in sys.modules and not _lazy(sys.modules[name]):
                continue
            try:
                # Each package before its modules, and executed if lazy: importing `remote.command`
                # while pulumi_command's lazy `remote` is not executed yet runs `remote`'s
                # `from .command import *` in the middle of `command`'s own import, and leaves
                # `remote` without `Command`. Programs read `remote.Command`, which loads in order.
                parts = name.split(".")
                for depth in range(1, len(parts) + 1):
                    _execute(importlib.import_module(".".join(parts[:depth])))
            except Exception as exc:  # noqa: BLE001 - a module the run could import is not required here
                self.say(f"not kept: {name} ({type(exc).__name__})")
                continue
            loaded += 1
        _stop_if_asked()
        return loaded

    @contextlib.contextmanager
    def bound(self) -> Iterator[socket.socket]:
        if not _private(self.path.parent, create=True):
            raise WarmError(f"{self.path.parent} must be a directory of this user that nobody else can enter")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(self.path))
        except OSError:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()  # left by a server that is gone
        else:
            raise WarmError(f"a warm server already serves {self.path}")
        finally:
            probe.close()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(self.path))
            listener.listen(8)
            self.listener = listener
            yield listener
        finally:
            listener.close()
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def serve(self) -> None:
        """Serve requests on the bound socket until idle, or until a request finds the packages changed."""
        listener = self.listener
        assert listener is not None, "serve() runs inside bound()"
        self.say(f"serving {self.path} (leaves after {self.idle_seconds:.0f} s idle)")
        while True:
            _stop_if_asked()
            ready, _, _ = select.select([listener], [], [], self.idle_seconds)
            if not ready:
                self.say("idle; leaving")
                return
            connection, _ = listener.accept()
            with connection:
                if not self.handle(connection):
                    return

    def handle(self, connection: socket.socket) -> bool:
        """Serve one request; False when the server must stop."""
        _pid, uid, _gid = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        if uid != os.getuid():
            self.say(f"refused a connection from uid {uid}")
            return True
        connection.settimeout(REQUEST_TIMEOUT)
        try:
            request, fds = _receive(connection, fds=True)
        except (OSError, EOFError, ValueError) as exc:
            self.say(f"dropped a request: {exc}")
            return True
        connection.settimeout(None)
        try:
            if len(fds) != 3:
                _send(connection, {"fallback": "the request did not carry stdin, stdout and stderr"})
                return True
            if request.get("interpreter") != interpreter_options():
                _send(connection, {"fallback": "this interpreter runs with other options than the warm server's"})
                return True
            if _site_fingerprint() != self.fingerprint:
                _send(connection, {"fallback": "packages changed since the warm server started; it stops"})
                return False
            if threading.active_count() != 1:
                # Forking a process with threads copies locks other threads may hold.
                _send(connection, {"fallback": "the warm server has started threads and cannot fork safely"})
                return False
            start = time.perf_counter()
            pid, code, modules = self.run(connection, request, fds)
        finally:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
        with contextlib.suppress(OSError):
            _send(connection, {"exit": code})
        self.say(
            f"ran {' '.join(request.get('argv', []))} (pid {pid}): exit {code} in {time.perf_counter() - start:.2f} s"
        )
        if self.preload(modules):
            self.remember()
        return True

    @property
    def learned(self) -> Path:
        """The modules the runs loaded, kept for the next server of the same key."""
        return self.path.with_suffix(".modules.json")

    def remember(self) -> None:
        names = sorted(name for name, module in list(sys.modules.items()) if _third_party(module, self.roots))
        partial = self.learned.with_suffix(".partial")
        partial.write_text(json.dumps(names), encoding="utf-8")
        partial.replace(self.learned)

    def recall(self) -> list[str]:
        try:
            names = json.loads(self.learned.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [name for name in names if isinstance(name, str)] if isinstance(names, list) else []

    def run(self, connection: socket.socket, request: Mapping[str, Any], fds: list[int]) -> tuple[int, int, list[str]]:
        """Fork the run, wait for it (interrupting it if the client leaves); its pid, exit code and modules."""
        report_read, report_write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the run
            os.close(report_read)
            code = EXIT_INTERNAL
            try:
                code = _child(request, fds, report_write, self.listener, connection, self.roots)
            finally:
                os._exit(code)
        os.close(report_write)
        self.say(f"running {' '.join(request.get('argv', []))} (pid {pid})")
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)  # as the run does itself: whichever comes first, a signal reaches it
        for fd in fds:
            os.close(fd)  # the client's stdio stays open in the run only
        fds.clear()
        try:
            with contextlib.suppress(OSError):
                _send(connection, {"started": pid})
            return (pid, *self._wait(pid, connection, report_read))
        except BaseException:
            # The server is stopping mid-run (SIGTERM): the run goes too, and the command says so.
            _signal_group(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            raise

    def _wait(self, pid: int, connection: socket.socket, report: int) -> tuple[int, list[str]]:
        child = os.pidfd_open(pid)
        chunks: list[bytes] = []
        interrupted_at: float | None = None
        killed = False
        try:
            watched: list[int] = [child, connection.fileno(), report]
            while True:
                timeout = None
                if interrupted_at is not None and not killed:
                    timeout = max(0.0, interrupted_at + GRACE_SECONDS - time.monotonic())
                ready, _, _ = select.select(watched, [], [], timeout)
                if child in ready:
                    break
                if report in ready:
                    chunk = os.read(report, 65536)
                    chunks.append(chunk)
                    if not chunk:
                        watched.remove(report)
                if connection.fileno() in ready and interrupted_at is None:
                    # The client never sends after its request: readable means it has gone (Ctrl-C).
                    _signal_group(pid, signal.SIGINT)
                    interrupted_at = time.monotonic()
                    watched.remove(connection.fileno())
                elif interrupted_at is not None and not ready and not killed:
                    _signal_group(pid, signal.SIGKILL)
                    killed = True
            # The run has exited but is not reaped, so its process group id is not reused yet:
            # whatever it left behind (a policy pack) goes with it.
            _signal_group(pid, signal.SIGTERM)
            while True:
                chunk = os.read(report, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(child)
            os.close(report)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        try:
            modules = json.loads(b"".join(chunks) or b"[]")
        except ValueError:
            modules = []
        return (code if code >= 0 else 128 - code), [m for m in modules if isinstance(m, str)]


def _lazy(module: Any) -> bool:
    """A module loaded lazily and not executed yet: pulumi's providers import their submodules
    with ``pulumi._utils.lazy_import`` (pulumi/_utils.py, ``_LazyModule``, a copy of importlib.util's
    of the same name). Until an attribute is read, the module's class is ``_LazyModule``; ``type()``
    reads it without executing the module."""
    return type(module).__name__ == "_LazyModule"


def _execute(module: Any) -> None:
    """Execute a lazy module now. Not by reading `__name__`, `__file__` or `__path__`: pulumi's
    ``_LazyModule`` answers those without loading (``_INTROSPECTION_ATTRS``); any other attribute,
    present or not, runs the module first."""
    if _lazy(module):
        getattr(module, "__preflight_warm_load__", None)


def _signal_group(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, number)


def _stream(fd: int, spec: Mapping[str, Any], *, write: bool) -> io.TextIOWrapper:
    raw = io.FileIO(fd, "w" if write else "r", closefd=False)
    buffered = io.BufferedWriter(raw) if write else io.BufferedReader(raw)
    return io.TextIOWrapper(
        buffered,
        encoding=spec["encoding"],
        errors=spec["errors"],
        line_buffering=spec["line_buffering"],
        write_through=spec["write_through"],
    )


def _child(
    request: Mapping[str, Any],
    fds: list[int],
    report: int,
    listener: socket.socket | None,
    connection: socket.socket,
    roots: tuple[str, ...],
) -> int:
    """In the forked run: become the client's process and run preflight; the exit code."""
    os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if listener is not None:
        listener.close()
    connection.close()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    specs = request["streams"]
    sys.stdin = _stream(0, specs[0], write=False)
    sys.stdout = _stream(1, specs[1], write=True)
    sys.stderr = _stream(2, specs[2], write=True)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = [request.get("argv0", "-m"), *request["argv"]]
    code = EXIT_INTERNAL
    try:
        from preflight.cli import main  # imported here, afresh: the project's code as it is now

        code = main(list(request["argv"]))
    except SystemExit as exc:  # argparse: --help, a bad option
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    except KeyboardInterrupt:
        code = 130
    except BaseException:  # noqa: BLE001 - whatever escapes preflight's guard still ends this run only
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        loaded = [name for name, module in list(sys.modules.items()) if _third_party(module, roots)]
        with contextlib.suppress(OSError), os.fdopen(report, "w") as out:
            json.dump(loaded, out)
    return code


class _Stopped(BaseException):
    """SIGTERM reached the server. Not KeyboardInterrupt: under ``python -m``, once a
    KeyboardInterrupt has left code run by exec() of a string, CPython ends the process by SIGINT
    (exit -2) whatever exit code it returns, even when the interrupt was caught
    (Python/pythonrun.c, ``run_eval_code_obj``, sets ``unhandled_keyboard_interrupt``;
    Modules/main.c, ``Py_RunMain``, then calls ``exit_sigint``). Imports run such code
    (dataclasses compiles its methods with exec()), and a server stopped during one ended -2."""


_STOP: Final = {"asked": False}
"""Set by SIGTERM, and kept: code the signal lands in may swallow the exception (an import
guarded by ``except BaseException``, a finalizer), so the server looks at it again between
the modules it imports and between runs. A plain flag: the handler takes no lock (a second
SIGTERM would run it again while the first still held one)."""


def _stop(signum: int, frame: Any) -> None:
    _STOP["asked"] = True
    raise _Stopped


def _stop_if_asked() -> None:
    """Raise the stop SIGTERM asked for if it was swallowed on its way out."""
    if _STOP["asked"]:
        raise _Stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preflight.warm", description=__doc__.splitlines()[0])
    parser.add_argument("--idle-minutes", type=float, default=30.0, help="leave after this long without a run")
    args = parser.parse_args(argv)
    if args.idle_minutes <= 0:
        parser.error("--idle-minutes must be above 0")
    os.chdir(PROJECT_DIR)
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    # SIGTERM stops the server as Ctrl-C does: its socket goes with it (runs reset it for themselves).
    signal.signal(signal.SIGTERM, _stop)
    try:
        server = Server(socket_path(), args.idle_minutes * 60)
        with server.bound():
            start = time.perf_counter()
            server.preload([*FIRST_IMPORTS, *server.recall()])
            server.say(f"imported {len(sys.modules)} modules in {time.perf_counter() - start:.1f} s")
            server.serve()
    except WarmError as exc:
        print(f"preflight.warm: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, _Stopped):
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
