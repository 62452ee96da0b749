"""The Python environment the Pulumi CLI starts the policy pack in, built from the hashed lock.

A preview does not install a local pack's requirements: the CLI starts the pack through the
Python language host with PulumiPolicy.yaml's `runtime.options`. For an analyzer the host
takes `virtualenv` as given (no `venv` default, that is for other plugins) and resolves a
relative path against the pack's directory (pulumi/pulumi sdk/python/cmd/pulumi-language-python/
main.go parseOptions and RunPlugin; sdk/python/toolchain/toolchain.go ResolveToolchain). With no
virtualenv the pack runs on the `python` found on PATH.

`python -m pipeline.policy_env [PACK_DIR]`: when the pack names a virtualenv, creates it and
installs the pack's lock into it with `--require-hashes`; otherwise the pack runs on PATH's
python, and the workflows put the project's `.venv/bin` (the whole lock) first on PATH.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import yaml

PACK_DIR = Path(__file__).resolve().parents[1] / "policies"
LOCK_NAME = "requirements.lock"


class PolicyEnvError(Exception):
    """The pack's runtime options name an environment this module cannot build."""


def virtualenv_of(pack_dir: Path) -> Path | None:
    """The pack's virtualenv as the CLI resolves it, or None when the pack runs on PATH's python."""
    path = pack_dir / "PulumiPolicy.yaml"
    document: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    runtime = document.get("runtime") if isinstance(document, dict) else None
    options = runtime.get("options") if isinstance(runtime, dict) else None
    if options is None:
        return None
    if not isinstance(options, dict):
        raise PolicyEnvError(f"{path}: runtime.options must be a mapping")
    toolchain = options.get("toolchain", "pip")
    if toolchain != "pip":
        raise PolicyEnvError(f"{path}: runtime.options.toolchain is {toolchain!r}; only pip is built from the lock")
    name = options.get("virtualenv")
    if name is None:
        return None
    if not isinstance(name, str) or not name:
        raise PolicyEnvError(f"{path}: runtime.options.virtualenv must be a non-empty string")
    return Path(name) if Path(name).is_absolute() else pack_dir / name


def build(pack_dir: Path) -> Path | None:
    """Create the pack's virtualenv from its lock and return it; None when the pack names none."""
    target = virtualenv_of(pack_dir)
    if target is None:
        return None
    venv.create(target, with_pip=True, clear=True)
    pip = [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", "--require-hashes"]
    subprocess.run([*pip, "-r", str(pack_dir / LOCK_NAME)], check=True)
    return target


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = sys.argv[1:] if argv is None else argv
    pack_dir = Path(args[0]) if args else PACK_DIR
    try:
        target = build(pack_dir)
    except (PolicyEnvError, OSError, subprocess.CalledProcessError) as exc:
        print(f"policy_env: {exc}", file=sys.stderr)
        return 2
    print(f"policy pack environment: {target}" if target else "policy pack runs on the python first on PATH")
    return 0


if __name__ == "__main__":
    sys.exit(main())
