"""The policy pack's environment: resolved from PulumiPolicy.yaml as the CLI's Python language
host resolves it, and built from the pack's lock with hashes checked."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from pipeline import policy_env
from pipeline.policy_env import PACK_DIR, PolicyEnvError, build, virtualenv_of


def pack(tmp_path: Path, document: str) -> Path:
    (tmp_path / "PulumiPolicy.yaml").write_text(document, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param("runtime: python\n", None, id="no_options_runs_on_path_python"),
        pytest.param(
            "runtime:\n  name: python\n  options:\n    toolchain: pip\n", None, id="analyzer_gets_no_venv_default"
        ),
        pytest.param(
            "runtime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: venv\n",
            "venv",
            id="relative_virtualenv_is_under_the_pack",
        ),
        pytest.param(
            "runtime:\n  name: python\n  options:\n    virtualenv: /opt/pack-venv\n",
            "/opt/pack-venv",
            id="absolute_virtualenv_kept",
        ),
    ],
)
def test_virtualenv_as_the_language_host_resolves_it(tmp_path: Path, document: str, expected: str | None) -> None:
    resolved = virtualenv_of(pack(tmp_path, document))
    assert resolved == (None if expected is None else tmp_path / expected)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param(
            "runtime:\n  name: python\n  options:\n    toolchain: uv\n    virtualenv: venv\n",
            "runtime.options.toolchain is 'uv'; only pip is built from the lock",
            id="fail_other_toolchain",
        ),
        pytest.param(
            "runtime:\n  name: python\n  options:\n    virtualenv: 3\n",
            "runtime.options.virtualenv must be a non-empty string",
            id="fail_virtualenv_not_a_string",
        ),
        pytest.param(
            "runtime:\n  name: python\n  options: [venv]\n", "runtime.options must be a mapping", id="fail_options_list"
        ),
    ],
)
def test_options_it_cannot_build_are_named(tmp_path: Path, document: str, message: str) -> None:
    with pytest.raises(PolicyEnvError) as raised:
        virtualenv_of(pack(tmp_path, document))
    assert str(raised.value) == f"{tmp_path / 'PulumiPolicy.yaml'}: {message}"


def test_the_committed_pack_resolves() -> None:
    resolved = virtualenv_of(PACK_DIR)
    assert resolved is None or PACK_DIR in resolved.parents or resolved.is_absolute()


def test_build_installs_the_packs_lock_with_hashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = pack(tmp_path, "runtime:\n  name: python\n  options:\n    virtualenv: venv\n")
    created: list[Path] = []
    commands: list[list[str]] = []
    monkeypatch.setattr(policy_env.venv, "create", lambda target, **_: created.append(target))

    def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        commands.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(policy_env.subprocess, "run", run)
    assert build(directory) == tmp_path / "venv"
    assert created == [tmp_path / "venv"]
    assert commands == [
        [
            str(tmp_path / "venv" / "bin" / "python"),
            *("-m", "pip", "install", "--quiet", "--require-hashes"),
            *("-r", str(tmp_path / "requirements.lock")),
        ]
    ]


def test_without_a_virtualenv_nothing_is_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(policy_env.venv, "create", lambda *_, **__: pytest.fail("no virtualenv to create"))
    assert build(pack(tmp_path, "runtime: python\n")) is None
