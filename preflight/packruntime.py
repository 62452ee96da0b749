"""Which Python runs a policy pack, and how: what the Pulumi CLI's Python language host does.

Read from pulumi/pulumi:

* ``sdk/go/common/resource/plugin/analyzer_plugin.go``, ``NewPolicyAnalyzer``: with the
  ``python`` language plugin present (it ships with the CLI) a local pack is started through
  the language host's ``RunPlugin``, not through the old ``pulumi-analyzer-policy-python`` shim.
* ``sdk/go/common/resource/plugin/plugin.go``, ``newPlugin``: the runtime and its options come
  from the pack's PulumiPolicy.yaml; the program directory is the pack's absolute path.
* ``sdk/python/cmd/pulumi-language-python/main.go``, ``RunPlugin`` and ``parseOptions``: for a
  policy pack the command is ``python -u -m pulumi.policy <engine-address> <pack-dir>`` with the
  pack's directory as working directory. ``runtime.options.virtualenv`` (relative to the pack)
  names the interpreter; unlike other plugins, a pack gets *no* default virtualenv, so without
  the option it runs with the ambient Python (``PULUMI_PYTHON_CMD``, else ``python3``, else
  ``python`` on PATH: ``sdk/python/toolchain/pip.go``, ``CommandPath``).
* ``sdk/python/toolchain/pip.go``, ``pip.Command`` and ``ActivateVirtualEnv``: a virtualenv's
  ``bin/python`` runs with ``VIRTUAL_ENV`` set, its ``bin`` first on PATH and no ``PYTHONHOME``.
  Nothing creates the virtualenv during a preview: a missing one fails the pack's start. It is
  created by ``pulumi install`` run in the pack's directory (``pkg/cmd/pulumi/install/install.go``
  and ``pkg/cmd/pulumi/policy/io.go``, ``InstallPluginDependencies``), which makes the
  virtualenv and installs the pack's requirements.txt into it.

preflight resolves the interpreter the same way. One addition, for machines that keep the
pack's requirements elsewhere: an explicit interpreter (``--policy-python`` or the
``PREFLIGHT_POLICY_PYTHON`` environment variable) replaces the resolution, and the report
says so. The Makefile points it at ``.venv``, which has ``policies/requirements.txt`` installed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from preflight.documents import DocumentError, load_yaml

PYTHON_OVERRIDE_ENV: Final = "PREFLIGHT_POLICY_PYTHON"
"""Environment variable naming the interpreter to run the pack with, instead of the CLI's choice."""


class PackRuntimeError(Exception):
    """The pack cannot be started the way the CLI would start it; the message says how to fix it."""


@dataclass(frozen=True)
class PackInterpreter:
    """The Python a pack runs with, and why that one."""

    python: Path
    reason: str
    """For the report: `virtualenv venv (PulumiPolicy.yaml)`, `PREFLIGHT_POLICY_PYTHON`, ..."""
    virtualenv: Path | None = None

    def environ(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` as the pack sees it: with its virtualenv activated, as ``ActivateVirtualEnv`` does."""
        env = dict(base)
        if self.virtualenv is not None:
            env.pop("PYTHONHOME", None)
            env["VIRTUAL_ENV"] = str(self.virtualenv)
            env["PATH"] = os.pathsep.join(filter(None, [str(self.virtualenv / "bin"), env.get("PATH", "")]))
        return env

    def command(self, engine_address: str, pack_dir: Path) -> list[str]:
        """The language host's command line for a policy pack (``RunPlugin``, kind analyzer)."""
        return [str(self.python), "-u", "-m", "pulumi.policy", engine_address, str(pack_dir)]


@dataclass(frozen=True)
class PolicyProject:
    """What PulumiPolicy.yaml says: the runtime, its options and the pack's version."""

    runtime: str
    options: Mapping[str, Any]
    version: str | None
    """Used over the version the pack reports (analyzer_plugin.go, ``GetAnalyzerInfo``)."""


def read_policy_project(pack_dir: Path) -> PolicyProject:
    """PulumiPolicy.yaml's runtime (``python`` or ``{name, options}``) and version."""
    path = pack_dir / "PulumiPolicy.yaml"
    if not path.exists():
        raise PackRuntimeError(f"{pack_dir}: not a policy pack (no PulumiPolicy.yaml)")
    try:
        document = load_yaml(path) or {}
    except DocumentError as exc:
        raise PackRuntimeError(str(exc)) from None
    if not isinstance(document, Mapping):
        raise PackRuntimeError(f"{path}: must be a mapping")
    version = document.get("version")
    version = str(version) if version is not None else None
    runtime = document.get("runtime")
    if isinstance(runtime, str):
        return PolicyProject(runtime, {}, version)
    if isinstance(runtime, Mapping) and isinstance(runtime.get("name"), str):
        options = runtime.get("options") or {}
        if not isinstance(options, Mapping):
            raise PackRuntimeError(f"{path}: runtime.options must be a mapping")
        return PolicyProject(runtime["name"], dict(options), version)
    raise PackRuntimeError(f"{path}: runtime must be `python` or `{{name: python, options: ...}}`")


def read_runtime(pack_dir: Path) -> tuple[str, dict[str, Any]]:
    """PulumiPolicy.yaml's runtime name and options."""
    project = read_policy_project(pack_dir)
    return project.runtime, dict(project.options)


def _ambient_python() -> Path | None:
    """``CommandPath``: ``PULUMI_PYTHON_CMD`` if set, else ``python3``, else ``python``, on PATH."""
    wanted = os.environ.get("PULUMI_PYTHON_CMD")
    for name in [wanted] if wanted else ["python3", "python"]:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def resolve_interpreter(pack_dir: Path, override: str | os.PathLike[str] | None = None) -> PackInterpreter:
    """The interpreter the CLI's language host would run ``pack_dir`` with (or the explicit override).

    Raises:
        PackRuntimeError: the runtime is not one preflight runs, the named virtualenv does not
            exist (the CLI fails there too), or no interpreter is found.
    """
    pack_dir = pack_dir.resolve()
    name, options = read_runtime(pack_dir)
    if name != "python":
        raise PackRuntimeError(f"{pack_dir}/PulumiPolicy.yaml: runtime {name!r}: preflight runs Python packs only")
    explicit = override or os.environ.get(PYTHON_OVERRIDE_ENV)
    if explicit:
        python = Path(explicit)
        if not (python.is_file() and os.access(python, os.X_OK)):
            how = "--policy-python" if override else PYTHON_OVERRIDE_ENV
            raise PackRuntimeError(f"{how} names {str(python)!r}, which is not an executable file")
        return PackInterpreter(python=python, reason="--policy-python" if override else PYTHON_OVERRIDE_ENV)

    # parseOptions: only the pip toolchain (or none, which is pip here: no uv.lock or poetry.lock).
    toolchain = options.get("toolchain", "pip")
    if toolchain != "pip":
        raise PackRuntimeError(
            f"{pack_dir}/PulumiPolicy.yaml: runtime.options.toolchain {toolchain!r}: preflight resolves the pip "
            f"toolchain only; set {PYTHON_OVERRIDE_ENV} to the pack's interpreter"
        )
    virtualenv = options.get("virtualenv")
    if virtualenv is not None and not isinstance(virtualenv, str):
        raise PackRuntimeError(f"{pack_dir}/PulumiPolicy.yaml: virtualenv option must be a string")
    if virtualenv:
        venv = Path(virtualenv) if Path(virtualenv).is_absolute() else pack_dir / virtualenv
        python = venv / "bin" / "python"
        if not python.is_file():
            # The wording of sdk/python/toolchain/pip.go, NewVirtualEnvError.
            state = "doesn't exist" if not venv.exists() else "doesn't appear to be a virtual environment"
            raise PackRuntimeError(
                f"The 'virtualenv' option in PulumiPolicy.yaml is set to {virtualenv!r}, but '{venv}' {state}; "
                f"the Pulumi CLI cannot start the pack either (a preview installs nothing). Create it with "
                f"`pulumi install` in {pack_dir}, or without the CLI: python3 -m venv {venv} && "
                f"{python} -m pip install -r {pack_dir}/requirements.txt. To run the pack with another "
                f"interpreter that has those requirements, set {PYTHON_OVERRIDE_ENV} (the Makefile sets .venv's)."
            )
        return PackInterpreter(python=python, reason=f"virtualenv {virtualenv} (PulumiPolicy.yaml)", virtualenv=venv)
    ambient = _ambient_python()
    if ambient is None:
        raise PackRuntimeError("no python3 or python on PATH (or PULUMI_PYTHON_CMD) to run the policy pack with")
    return PackInterpreter(python=ambient, reason="the Python on PATH (PulumiPolicy.yaml names no virtualenv)")
