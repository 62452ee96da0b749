"""Ctrl-C stops preflight at once, its policy pack with it, with a one-line message and exit 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.preflight_scale import synthetic_stack_file
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
