"""Ctrl-C stops preflight at once, its policy pack with it, with a one-line message and exit 130."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.preflight_scale import synthetic_stack_file
from preflight import runner
from preflight.runner import PROJECT_DIR


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def test_ctrl_c_during_the_program_run_stops_preflight_and_its_pack(tmp_path: Path) -> None:
    stack_file = synthetic_stack_file(2100, tmp_path)  # about half a minute of program run
    run = subprocess.Popen(
        [sys.executable, "-m", "preflight", "--stack", "prod", "--config-file", str(stack_file)],
        cwd=PROJECT_DIR,
        env={**os.environ, "PREFLIGHT_WARM": "0", "PREFLIGHT_POLICY_PYTHON": sys.executable},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not _children(run.pid):  # the pack starts once preflight has its imports, before the program
        assert run.poll() is None and time.monotonic() < deadline, "preflight never started its policy pack"
        time.sleep(0.05)
    pack = _children(run.pid)
    time.sleep(2)  # into the program run
    assert run.poll() is None
    run.send_signal(signal.SIGINT)
    start = time.monotonic()
    try:
        _, err = run.communicate(timeout=30)
    finally:
        run.kill()
    # Before the fix the SDK waited forever for the interrupted program's outputs.
    assert time.monotonic() - start < 10
    assert run.returncode == 130
    assert err == "preflight: interrupted\n"
    for pid in pack:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


@pytest.fixture
def own_loop(monkeypatch: pytest.MonkeyPatch) -> Iterator[asyncio.AbstractEventLoop]:
    """A loop of the test's own for `_interruptible` to stop, so no other test inherits a stopped one."""
    loop = asyncio.new_event_loop()
    monkeypatch.setattr(runner, "_ensure_event_loop", lambda: loop)
    try:
        yield loop
    finally:
        loop.close()


def test_an_interrupt_the_program_swallows_is_delivered_again(own_loop: asyncio.AbstractEventLoop) -> None:
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    swallowed = 0
    with pytest.raises(KeyboardInterrupt), runner._interruptible() as interrupted:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except BaseException:  # noqa: BLE001 - as the SDK's _get_source_position_for_frame does
            swallowed += 1
        for _ in range(100):  # the program carries on; the repeated SIGINT ends it
            time.sleep(runner.REPEAT_SECONDS)
    assert swallowed == 1 and interrupted == [True]
    time.sleep(5 * runner.REPEAT_SECONDS)  # a repeat now would raise here: the repeater has stopped
    assert own_loop._stopping  # type: ignore[attr-defined]  # the run's loop was told to stop
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_run_that_fails_after_ctrl_c_ends_interrupted(own_loop: asyncio.AbstractEventLoop) -> None:
    # As `run_until_complete` on the loop SIGINT stopped: "Event loop stopped before Future completed."
    with pytest.raises(KeyboardInterrupt) as caught, runner._interruptible():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            raise RuntimeError("Event loop stopped before Future completed.") from None
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
