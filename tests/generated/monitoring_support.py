"""Shared by the generated-config tests: each stack's real config, and the real validators.

A validator that is not installed skips its test with the reason and the package to install;
it never lets the test pass without running.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from config.loader import load_stack_config
from config.models import StackConfig
from preflight.stackfile import read_stack_file

ROOT = Path(__file__).resolve().parents[2]
STACKS = ("dev", "prod", "dr")
PACKAGES = {"promtool": "prometheus", "amtool": "prometheus-alertmanager"}


@cache
def stack_config(stack: str) -> StackConfig:
    """The stack's validated config, read from its committed Pulumi.<stack>.yaml."""
    stack_file = read_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    return load_stack_config(stack_file.config, stack_file.secret_keys, source=f"Pulumi.{stack}.yaml", stack=stack)


def run_tool(tool: str, *args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a validator; skip the calling test, saying why, when it is not installed."""
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (Debian package {PACKAGES[tool]}; .ci/run installs it)")
    return subprocess.run([path, *map(str, args)], capture_output=True, text=True, check=False, timeout=120, cwd=cwd)


def write(root: Path, container_path: str, text: str) -> Path:
    """Write `text` at `container_path` under `root`, laid out as the container sees it."""
    target = root / container_path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target
