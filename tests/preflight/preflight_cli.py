"""Runs `python -m preflight` as a user would, in the project directory, for the end-to-end tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping

from preflight.runner import PROJECT_DIR


def run_preflight(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The finished process, output captured as text; never raises on a non-zero exit."""
    return subprocess.run(
        [sys.executable, "-m", "preflight", *args],
        cwd=PROJECT_DIR,
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
