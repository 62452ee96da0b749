"""Runs `python -m preflight` as a user would, in the project directory, for the end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping

from preflight.runner import PROJECT_DIR


def run_preflight(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The finished process, output captured as text; never raises on a non-zero exit.

    It runs in its own process (``PREFLIGHT_WARM=0``) even if a warm server serves this checkout:
    these tests are of the command as CI runs it; tests/preflight/test_warm.py tests the server.
    """
    return subprocess.run(
        [sys.executable, "-m", "preflight", *args],
        cwd=PROJECT_DIR,
        env={**(os.environ if env is None else env), "PREFLIGHT_WARM": "0"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
