"""Mutation testing's plumbing: mutmut, run in the staging directory, names each mutant after the
module the tests import, the pack it starts sees the mutated package, and the score per module
is mutmut's own (killed and timed out over tested)."""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from pathlib import Path

from mutmut.utils.format_utils import get_mutant_name

from pipeline.mutation import ROOT, ModuleScore, report, scores, stage


def mutmut_settings() -> dict[str, list[str]]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]  # type: ignore[no-any-return]


def test_staged_mutant_names_are_the_modules_the_tests_import(tmp_path: Path) -> None:
    stage(tmp_path)
    for source in mutmut_settings()["source_paths"]:
        assert (tmp_path / source).is_dir(), source
    # The pack is imported as ziggie_policies.* (tests/policies/conftest.py puts policies/ on sys.path).
    staged = get_mutant_name(Path("ziggie_policies/no_privileged.py"), "x_validate__mutmut_1")
    assert staged.rpartition(".")[0] == "ziggie_policies.no_privileged"
    assert (tmp_path / "ziggie_policies" / "no_privileged.py").is_file()
    # From the project root, mutmut would name it policies.ziggie_policies.* and find no test for it.
    unstaged = get_mutant_name(Path("policies/ziggie_policies/no_privileged.py"), "x_validate__mutmut_1")
    assert unstaged.rpartition(".")[0] != "ziggie_policies.no_privileged"
    config = get_mutant_name(Path("config/units.py"), "x_parse__mutmut_1")
    assert config.rpartition(".")[0] == "config.units"


def test_pack_in_mutants_imports_the_mutated_package(tmp_path: Path) -> None:
    stage(tmp_path)
    mutants = tmp_path / "mutants"
    # mutmut writes the mutated package to mutants/ziggie_policies; stand in for it.
    (mutants / "ziggie_policies").mkdir()
    (mutants / "ziggie_policies" / "marker.py").write_text("MUTATED = True\n", encoding="utf-8")
    pack = mutants / "policies"
    assert (pack / "ziggie_policies" / "marker.py").is_file()
    assert (pack / "__main__.py").resolve() == ROOT / "policies" / "__main__.py"
    assert (pack / "PulumiPolicy.yaml").is_file()
    # The package reads its price table from its parent directory, whichever copy runs.
    assert (mutants / "prices.json").resolve() == ROOT / "policies" / "prices.json"
    assert (mutants / "__main__.py").resolve() == ROOT / "__main__.py"
    # The project the tests import is there; what mutmut copies or mutates itself is not linked.
    assert (mutants / "preflight").resolve() == ROOT / "preflight"
    for name in ("tests", "config", "pyproject.toml", "conftest.py", ".venv", ".git"):
        assert not (mutants / name).exists(), name
    assert not (pack / "venv").exists()
    # A mutated function reads mutmut's settings from the directory the pack runs in.
    (mutants / "pyproject.toml").write_text("[tool.mutmut]\n", encoding="utf-8")
    assert (pack / "pyproject.toml").read_text(encoding="utf-8") == "[tool.mutmut]\n"


def test_stage_is_idempotent_and_keeps_mutmut_results(tmp_path: Path) -> None:
    stage(tmp_path)
    result = tmp_path / "mutants" / "ziggie_policies"
    result.mkdir()
    stage(tmp_path)
    assert result.is_dir()
    assert (tmp_path / "mutants" / "policies" / "ziggie_policies").resolve() == result


def write_meta(directory: Path, path: str, exit_codes: dict[str, int | None]) -> None:
    meta = directory / "mutants" / f"{path}.meta"
    meta.parent.mkdir(parents=True, exist_ok=True)
    keys = {"durations_by_key": {}, "estimated_durations_by_key": {}, "hash_by_function_name": {}}
    meta.write_text(json.dumps({"exit_code_by_key": exit_codes, **keys}), encoding="utf-8")


def test_score_per_module_counts_timeouts_as_killed_and_leaves_untested_out(tmp_path: Path) -> None:
    # mutmut's exit codes (mutmut/stats.py): 1 killed, 0 survived, 36 timeout, 33 no tests, None not checked.
    write_meta(tmp_path, "ziggie_policies/no_privileged.py", {"a": 1, "b": 1, "c": 36, "d": 0, "e": None})
    write_meta(tmp_path, "config/units.py", {"a": 1, "b": 33})
    write_meta(tmp_path, "ziggie_policies/__init__.py", {})
    found = scores(tmp_path)
    assert [(s.module, s.killed, s.tested, s.untested) for s in found] == [
        ("config.units", 1, 2, 0),
        ("ziggie_policies.no_privileged", 3, 4, 1),
    ]
    assert report(found).splitlines() == [
        f"{'module':<45} killed/tested  score",
        f"{'config.units':<45}     1/2      50.0 %  (1 no tests)",
        f"{'ziggie_policies.no_privileged':<45}     3/4      75.0 %  (1 not checked, 1 survived)",
        f"{'all':<45}     4/6      66.7 %  (1 no tests, 1 not checked, 1 survived)",
        "1 mutants not tested (not checked or skipped) are left out of the scores.",
    ]


def test_module_with_nothing_tested_has_no_score() -> None:
    assert ModuleScore("config.reference", Counter({"not checked": 4})).line().split()[1:3] == ["0/0", "-"]
