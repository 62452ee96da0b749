"""preflight.packruntime: the pack runs with the interpreter the CLI's language host picks.

These tests unset PREFLIGHT_POLICY_PYTHON (the root conftest sets it for every other test).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
from preflight_cli import run_preflight

from preflight.analyzer import PolicyPackSession, PolicyPackStartError
from preflight.packruntime import PYTHON_OVERRIDE_ENV, read_runtime, resolve_interpreter
from preflight.runner import PROJECT_DIR

# Reports, as one stack violation, how it was started.
WHOAMI_PACK = """
import json, os, sys
from pulumi_policy import EnforcementLevel, PolicyPack, StackValidationPolicy

def whoami(args, report):
    report(json.dumps({"executable": sys.executable, "prefix": sys.prefix, "cwd": os.getcwd(),
                       "argv": sys.argv, "virtualenv": os.environ.get("VIRTUAL_ENV")}))

PolicyPack(name="whoami", enforcement_level=EnforcementLevel.ADVISORY, policies=[
    StackValidationPolicy(name="whoami", description="Reports how the pack was started.", validate=whoami),
])
"""


@pytest.fixture(autouse=True)
def _cli_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PYTHON_OVERRIDE_ENV, raising=False)


def _pack(tmp_path: Path, runtime: str) -> Path:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text(f"runtime: {runtime}\nversion: 0.0.1\n", encoding="utf-8")
    (pack / "__main__.py").write_text(textwrap.dedent(WHOAMI_PACK), encoding="utf-8")
    (pack / "requirements.txt").write_text("pulumi-policy\n", encoding="utf-8")
    return pack


def _whoami(pack: Path, **kwargs: object) -> dict[str, object]:
    with PolicyPackSession(pack, timeout=60, **kwargs) as session:  # type: ignore[arg-type]
        session.configure(None)
        (violation,) = session.analyze_stack([])
        return dict(json.loads(violation.message))


def test_committed_pack_names_its_virtualenv() -> None:
    assert read_runtime(PROJECT_DIR / "policies") == ("python", {"toolchain": "pip", "virtualenv": "venv"})
    assert "/policies/venv/" in (PROJECT_DIR / ".gitignore").read_text().splitlines()


def test_missing_virtualenv_fails_as_the_cli_does(tmp_path: Path) -> None:
    pack = _pack(tmp_path, "{name: python, options: {toolchain: pip, virtualenv: venv}}")
    with pytest.raises(PolicyPackStartError) as info:
        _whoami(pack)
    message = str(info.value)
    assert (
        f"The 'virtualenv' option in PulumiPolicy.yaml is set to 'venv', but '{pack / 'venv'}' doesn't exist" in message
    )
    assert f"`pulumi install` in {pack}" in message
    assert PYTHON_OVERRIDE_ENV in message


def test_virtualenv_without_python_is_not_a_virtualenv(tmp_path: Path) -> None:
    pack = _pack(tmp_path, "{name: python, options: {virtualenv: venv}}")
    (pack / "venv").mkdir()
    with pytest.raises(PolicyPackStartError, match="doesn't appear to be a virtual environment"):
        _whoami(pack)


@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="needs the tests to run in a virtualenv to copy it")
def test_named_virtualenv_runs_the_pack_activated_in_its_directory(tmp_path: Path) -> None:
    pack = _pack(tmp_path, "{name: python, options: {toolchain: pip, virtualenv: venv}}")
    # A virtualenv sharing the test venv's packages: its own pyvenv.cfg, python and lib.
    venv = pack / "venv"
    (venv / "bin").mkdir(parents=True)
    shutil.copy(Path(sys.prefix) / "pyvenv.cfg", venv / "pyvenv.cfg")
    (venv / "bin" / "python").symlink_to(Path(sys.executable).resolve())
    (venv / "lib").symlink_to(Path(sys.prefix) / "lib")
    seen = _whoami(pack)
    assert seen["prefix"] == str(venv)
    assert seen["virtualenv"] == str(venv)
    assert seen["cwd"] == str(pack)
    # The language host passes the pack's absolute directory as the program.
    assert seen["argv"][-1] == str(pack)  # type: ignore[index]


def test_without_virtualenv_the_ambient_python_runs_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_PYTHON_CMD", sys.executable)
    pack = _pack(tmp_path, "python")
    interpreter = resolve_interpreter(pack)
    assert interpreter.python == Path(sys.executable)
    assert interpreter.virtualenv is None
    assert _whoami(pack)["executable"] == sys.executable


def test_explicit_interpreter_wins_and_is_reported(tmp_path: Path) -> None:
    pack = _pack(tmp_path, "{name: python, options: {virtualenv: venv}}")
    interpreter = resolve_interpreter(pack, sys.executable)
    assert (interpreter.python, interpreter.reason) == (Path(sys.executable), "--policy-python")
    assert _whoami(pack, python=sys.executable)["executable"] == sys.executable


def test_explicit_interpreter_that_is_not_there(tmp_path: Path) -> None:
    pack = _pack(tmp_path, "python")
    with pytest.raises(
        PolicyPackStartError, match=r"--policy-python names '/nowhere/python', which is not an executable"
    ):
        _whoami(pack, python="/nowhere/python")


def test_other_toolchain_is_refused(tmp_path: Path) -> None:
    pack = _pack(tmp_path, "{name: python, options: {toolchain: poetry}}")
    with pytest.raises(PolicyPackStartError, match="toolchain 'poetry': preflight resolves the pip toolchain only"):
        _whoami(pack)


def test_cli_exits_2_when_the_packs_virtualenv_is_missing(tmp_path: Path) -> None:
    pack = _pack(tmp_path, "{name: python, options: {toolchain: pip, virtualenv: venv}}")
    env = {k: v for k, v in os.environ.items() if k != PYTHON_OVERRIDE_ENV}
    result = run_preflight("--stack", "dev", "--policy-pack", str(pack), env=env)
    assert result.returncode == 2
    assert f"preflight: policy pack: policy pack {pack} failed to start: The 'virtualenv' option" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_makefile_runs_the_pack_with_the_project_venv() -> None:
    makefile = (PROJECT_DIR / "Makefile").read_text()
    assert f"export {PYTHON_OVERRIDE_ENV} ?= $(CURDIR)/$(PY)" in makefile
