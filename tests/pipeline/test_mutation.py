"""Mutation testing's plumbing: mutmut, run in the staging directory, names each mutant after the
module the tests import, the pack it starts sees the mutated package, and the score per module
is mutmut's own (killed and timed out over tested)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import tomllib
from collections import Counter
from pathlib import Path

import pytest
from mutmut.mutation.data import SourceFileMutationData
from mutmut.utils.format_utils import get_mutant_name

from pipeline import mutation
from pipeline.mutation import (
    EQUIVALENTS,
    ROOT,
    EquivalentsError,
    ModuleScore,
    RecheckError,
    bar_for,
    load_equivalents,
    main,
    recheck,
    report,
    scores,
    stage,
    stale_equivalents,
)


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


def _codes(killed: int, survived: int) -> dict[str, int | None]:
    return {f"m{i}": 1 for i in range(killed)} | {f"s{i}": 0 for i in range(survived)}


def test_score_fails_on_a_module_below_its_bar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_meta(tmp_path, "ziggie_policies/no_privileged.py", _codes(19, 1))  # 95 %: at the pack's bar
    write_meta(tmp_path, "ziggie_policies/_support.py", _codes(188, 11))  # 94.5 %: below it
    write_meta(tmp_path, "config/units.py", _codes(9, 1))  # 90 %: at config's bar
    write_meta(tmp_path, "config/loader.py", _codes(179, 21))  # 89.5 %: below it
    write_meta(tmp_path, "config/images.py", {"a": None})  # nothing tested: no evidence
    write_meta(tmp_path, "config/models.py", _codes(1, 9))  # no bar
    path = write_equivalents(tmp_path, "")
    assert main(["score", str(tmp_path), "--equivalents", str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "config.loader: 89.5 % killed, below its bar of 90 %",
        "ziggie_policies._support: 94.5 % killed, below its bar of 95 %",
    ]
    write_meta(tmp_path, "ziggie_policies/_support.py", _codes(19, 1))
    write_meta(tmp_path, "config/loader.py", _codes(9, 1))
    assert main(["score", str(tmp_path), "--equivalents", str(path)]) == 0


def test_bars_cover_every_module_of_the_pack_and_configs_units_images_and_loader() -> None:
    assert [bar_for(m) for m in ("ziggie_policies", "ziggie_policies._cost", "ziggie_policies.pinned_images")] == [
        95
    ] * 3
    assert [bar_for(m) for m in ("config.units", "config.images", "config.loader")] == [90] * 3
    assert [bar_for(m) for m in ("config.models", "config.catalog", "config.loaders", "ziggie_policiesx")] == [None] * 4


def test_module_with_nothing_tested_has_no_score() -> None:
    assert ModuleScore("config.reference", Counter({"not checked": 4})).line().split()[1:3] == ["0/0", "-"]


# A stand-in for the protocol tests: it notes each mutant it runs under, and fails (kills), hangs
# (times out) or passes by the mutant's name, as pytest would exit.
FAKE_TESTS = textwrap.dedent(
    """
    import os, sys, time
    mutant = os.environ["MUTANT_UNDER_TEST"]
    with open("runs.txt", "a") as runs:
        runs.write(mutant + "|" + " ".join(sys.argv[1:]) + "\\n")
    if mutant.endswith("_killed"):
        sys.exit(1)
    if mutant.endswith("_crashes_pytest"):
        sys.exit(3)
    if mutant.endswith("_hangs"):
        time.sleep(60)
    if mutant.endswith("_collects_nothing"):
        sys.exit(5)
    if mutant.endswith("_breaks_collection"):
        print("ERROR tests/config/test_catalog.py - TypeError: 'NoneType' object does not support item assignment")
        print("!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!")
        sys.exit(2)
    if mutant.endswith("_interrupted"):
        print("!!!!!!!!!!!!!!!!!!!!!!!!!! KeyboardInterrupt !!!!!!!!!!!!!!!!!!!!!!!!!!!")
        sys.exit(2)
    if mutant == "" and os.path.exists("clean_fails"):
        print("FAILED tests/policies/test_pack.py::test_inventory")
        sys.exit(1)
    """
)
PACK = "ziggie_policies/no_privileged.py"
P = "ziggie_policies.no_privileged.x_validate__mutmut"


def fake_tests(tmp_path: Path) -> list[str]:
    script = tmp_path / "fake_tests.py"
    script.write_text(FAKE_TESTS, encoding="utf-8")
    return [sys.executable, str(script)]


def runs(directory: Path) -> list[str]:
    """The mutants the tests ran under, in order."""
    return [line.partition("|")[0] for line in runs_with_tests(directory)]


def runs_with_tests(directory: Path) -> list[str]:
    """Each run as `<mutant>|<the test paths it was given>`."""
    return (directory / "mutants" / "runs.txt").read_text(encoding="utf-8").splitlines()


def exit_codes(directory: Path, path: str) -> dict[str, int | None]:
    return json.loads((directory / "mutants" / f"{path}.meta").read_text(encoding="utf-8"))["exit_code_by_key"]  # type: ignore[no-any-return]


def test_recheck_records_the_protocol_tests_verdict_on_each_surviving_mutant_of_the_pack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_meta(
        tmp_path,
        PACK,
        {
            f"{P}_1_killed": 0,
            f"{P}_2_hangs": 33,
            f"{P}_3_passes": 33,
            f"{P}_4_crashes_pytest": 0,
            f"{P}_5_killed": 1,  # mutmut killed it already: not run again
            f"{P}_6_killed": None,  # not checked (outside a narrowed run): no verdict to revise
        },
    )
    # A survivor of config/ is not the pack's: mutmut's own run already ran every test that reaches it.
    write_meta(tmp_path, "config/units.py", {"config.units.x_parse__mutmut_1_killed": 0})
    # A helper module with no tests of its own: every policy reaches it.
    write_meta(tmp_path, "ziggie_policies/_support.py", {"ziggie_policies._support.x_prop__mutmut_1": 0})
    (tmp_path / "mutants" / "tests" / "policies").mkdir(parents=True)
    (tmp_path / "mutants" / "tests" / "policies" / "test_no_privileged.py").touch()
    # The catalog's builders run only at import: mutmut's forked workers never see their mutants.
    write_meta(tmp_path, "config/catalog.py", {"config.catalog.x__check__mutmut_1_killed": 0})
    outcomes = recheck(tmp_path, command=fake_tests(tmp_path), timeout=2, log=lambda line: None)
    own = "tests/policies/test_no_privileged.py tests/policies/test_pack.py tests/policies/test_policy_config.py"
    assert runs_with_tests(tmp_path) == [
        "|tests/policies tests/config/test_catalog.py",  # the clean run: every test
        "config.catalog.x__check__mutmut_1_killed|tests/config/test_catalog.py",
        "ziggie_policies._support.x_prop__mutmut_1|tests/policies",
        f"{P}_1_killed|{own}",
        f"{P}_2_hangs|{own}",
        f"{P}_3_passes|{own}",
        f"{P}_4_crashes_pytest|{own}",
    ]
    # mutmut's codes: 1 and 3 killed, 36 timeout, 0 survived (tested now, so no longer "no tests").
    assert exit_codes(tmp_path, PACK) == {
        f"{P}_1_killed": 1,
        f"{P}_2_hangs": 36,
        f"{P}_3_passes": 0,
        f"{P}_4_crashes_pytest": 3,
        f"{P}_5_killed": 1,
        f"{P}_6_killed": None,
    }
    assert outcomes == Counter({"killed": 3, "timeout": 1, "survived": 2})
    assert exit_codes(tmp_path, "config/catalog.py") == {"config.catalog.x__check__mutmut_1_killed": 1}
    assert exit_codes(tmp_path, "config/units.py") == {"config.units.x_parse__mutmut_1_killed": 0}
    # mutmut itself reads the rewritten .meta (it refuses unknown keys) and so agrees with score.
    monkeypatch.chdir(tmp_path)
    data = SourceFileMutationData(path=PACK)
    data.load()
    assert data.exit_code_by_key[f"{P}_1_killed"] == 1
    assert [(s.module, s.killed, s.tested) for s in scores(tmp_path)][3] == ("ziggie_policies.no_privileged", 4, 5)


def test_recheck_runs_only_the_mutants_the_patterns_name(tmp_path: Path) -> None:
    write_meta(tmp_path, PACK, {f"{P}_1_killed": 0, f"{P}_2_killed": 0})
    recheck(tmp_path, [f"{P}_2*"], command=fake_tests(tmp_path), timeout=5, log=lambda line: None)
    assert runs(tmp_path) == ["", f"{P}_2_killed"]
    assert exit_codes(tmp_path, PACK) == {f"{P}_1_killed": 0, f"{P}_2_killed": 1}


def test_recheck_with_no_survivor_runs_nothing(tmp_path: Path) -> None:
    write_meta(tmp_path, PACK, {f"{P}_1_killed": 1})
    lines: list[str] = []
    assert recheck(tmp_path, command=fake_tests(tmp_path), log=lines.append) == Counter()
    assert lines == ["recheck: no surviving mutant to run in a fresh process"]
    assert not (tmp_path / "mutants" / "runs.txt").exists()


def test_recheck_stops_when_the_protocol_tests_fail_without_a_mutant(tmp_path: Path) -> None:
    write_meta(tmp_path, PACK, {f"{P}_1_killed": 0})
    (tmp_path / "mutants" / "clean_fails").touch()
    with pytest.raises(RecheckError) as caught:
        recheck(tmp_path, command=fake_tests(tmp_path), timeout=5, log=lambda line: None)
    assert str(caught.value) == (
        f"the protocol tests fail without a mutant (exit 1) in {tmp_path / 'mutants'}:\n"
        "FAILED tests/policies/test_pack.py::test_inventory"
    )
    assert runs(tmp_path) == [""]
    assert exit_codes(tmp_path, PACK) == {f"{P}_1_killed": 0}


@pytest.mark.parametrize(("mutant", "code"), [("collects_nothing", 5), ("interrupted", 2)])
def test_recheck_records_nothing_when_pytest_gives_no_verdict(tmp_path: Path, mutant: str, code: int) -> None:
    write_meta(tmp_path, PACK, {f"{P}_1_{mutant}": 0})
    with pytest.raises(RecheckError, match=rf"^{P}_1_{mutant}: the protocol tests ended with exit {code}, no verdict"):
        recheck(tmp_path, command=fake_tests(tmp_path), timeout=5, log=lambda line: None)
    assert exit_codes(tmp_path, PACK) == {f"{P}_1_{mutant}": 0}


def test_recheck_counts_tests_the_mutant_keeps_from_importing_as_failing(tmp_path: Path) -> None:
    # A catalog builder mutated so that config/catalog.py raises while tests/config/test_catalog.py imports it.
    write_meta(tmp_path, "config/catalog.py", {"config.catalog.x__check__mutmut_1_breaks_collection": 0})
    outcomes = recheck(tmp_path, command=fake_tests(tmp_path), timeout=5, log=lambda line: None)
    assert outcomes == Counter({"killed": 1})
    assert exit_codes(tmp_path, "config/catalog.py") == {"config.catalog.x__check__mutmut_1_breaks_collection": 1}


def test_recheck_kills_the_whole_process_group_at_the_timeout(tmp_path: Path) -> None:
    """The pack is the tests' child: a hung mutant must not leave it running."""
    write_meta(tmp_path, PACK, {f"{P}_1_hangs": 0})
    pid_file = tmp_path / "mutants" / "grandchild.pid"
    script = tmp_path / "spawns.py"
    script.write_text(
        "import os, subprocess, sys, time\n"
        "if os.environ['MUTANT_UNDER_TEST']:\n"
        # Not holding the output pipe, so nothing but the kill ends it before recheck returns.
        "    child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],\n"
        "                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        f"    open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "    time.sleep(60)\n",
        encoding="utf-8",
    )
    recheck(tmp_path, command=[sys.executable, str(script)], timeout=2, log=lambda line: None)
    assert exit_codes(tmp_path, PACK) == {f"{P}_1_hangs": 36}
    # Gone, or a zombie left to whichever process reaps orphans here: either way not running.
    # SIGKILL is delivered asynchronously: the grandchild has closed its end of the output pipe
    # when recheck returns, but may still be on its way out, so it gets a moment to get there.
    pid = int(pid_file.read_text(encoding="utf-8"))
    status = Path(f"/proc/{pid}/status")
    deadline = time.monotonic() + 10
    while not _not_running(status) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not _not_running(status):
        os.kill(pid, signal.SIGKILL)  # not left behind by a failing test
        pytest.fail(f"the tests' grandchild {pid} still runs after the timeout")


def _not_running(status: Path) -> bool:
    try:
        return "\nState:\tZ" in status.read_text(encoding="utf-8")
    except FileNotFoundError:
        return True


def test_protocol_selection_drops_only_the_direct_cases(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "import pytest\n@pytest.fixture(params=['direct', 'protocol'])\ndef run(request):\n    return request.param\n",
        encoding="utf-8",
    )
    (tmp_path / "test_policy.py").write_text(
        "import pytest\n"
        "@pytest.mark.parametrize('case', ['passes', 'fails'])\n"
        "def test_table(run, case): pass\n"
        "def test_pack_starts(): pass\n",
        encoding="utf-8",
    )
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "pipeline.protocol_tests", "--collect-only", "-q", "-p", "no:randomly"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert collected.returncode == 0, collected.stdout + collected.stderr
    assert [line for line in collected.stdout.splitlines() if "::" in line] == [
        "test_policy.py::test_table[protocol-passes]",
        "test_policy.py::test_table[protocol-fails]",
        "test_policy.py::test_pack_starts",
    ]


def write_equivalents(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "equivalent_mutants.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_score_counts_the_survivors_listed_as_equivalent_per_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mutation, "BARS", ())  # the scores here are made low; bars have their own test
    write_meta(
        tmp_path,
        "config/units.py",
        {"config.units.x_a__mutmut_1": 0, "config.units.x_a__mutmut_2": 0, "config.units.x_a__mutmut_3": 1},
    )
    write_meta(tmp_path, PACK, {f"{P}_1": 33, f"{P}_2": 1, f"{P}_3": None})
    path = write_equivalents(
        tmp_path,
        f"""
        ["config.units"]
        "config.units.x_a__mutmut_1" = "the bound is checked again below"

        ["ziggie_policies.no_privileged"]
        "{P}_1" = "only reached with a list the loader refuses"
        "{P}_3" = "outside a narrowed run: no evidence either way"
        """,
    )
    equivalents = load_equivalents(path)
    assert stale_equivalents(tmp_path, equivalents, path) == []
    assert report(scores(tmp_path, equivalents)).splitlines()[1:4] == [
        f"{'config.units':<45}     1/3      33.3 %  (2 survived; 1 listed as equivalent)",
        f"{'ziggie_policies.no_privileged':<45}     1/2      50.0 %  (1 no tests, 1 not checked; 1 listed as equivalent)",
        f"{'all':<45}     2/5      40.0 %  (1 no tests, 1 not checked, 2 survived; 2 listed as equivalent)",
    ]
    assert main(["score", str(tmp_path), "--equivalents", str(path)]) == 0


def test_score_fails_on_an_equivalent_entry_that_names_no_surviving_mutant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mutation, "BARS", ())
    write_meta(
        tmp_path,
        "config/units.py",
        {"config.units.x_a__mutmut_1": 0, "config.units.x_a__mutmut_2": 1, "config.units.x_a__mutmut_3": 36},
    )
    path = write_equivalents(
        tmp_path,
        """
        ["config.units"]
        "config.units.x_a__mutmut_1" = ""
        "config.units.x_a__mutmut_2" = "was thought equivalent"
        "config.units.x_a__mutmut_3" = "was thought equivalent"
        "config.units.x_a__mutmut_9" = "the function was rewritten since"

        ["config.images"]
        "config.units.x_a__mutmut_1" = "listed under the wrong module"
        """,
    )
    where = f'{path}: ["config.units"]'
    assert stale_equivalents(tmp_path, load_equivalents(path), path) == [
        f'{where} "config.units.x_a__mutmut_1": the reason must be a non-empty string',
        f'{where} "config.units.x_a__mutmut_2": killed by the tests, so not equivalent: remove the entry',
        f'{where} "config.units.x_a__mutmut_3": timeout by the tests, so not equivalent: remove the entry',
        f'{where} "config.units.x_a__mutmut_9": no such mutant of config.units',
        f'{path}: ["config.images"] "config.units.x_a__mutmut_1": no such mutant of config.images',
    ]
    assert main(["score", str(tmp_path), "--equivalents", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("module")
    assert len(err.splitlines()) == 5


@pytest.mark.parametrize(
    ("text", "error"),
    [
        pytest.param(
            '["config.units"\n', "Expected ']' at the end of a table declaration (at line 1, column 16)", id="not_toml"
        ),
        pytest.param(
            '"config.units" = "a reason"\n',
            '"config.units" must be a table of "<mutant name>" = "reason"',
            id="entry_outside_a_table",
        ),
    ],
)
def test_unreadable_equivalents_file_is_an_error(tmp_path: Path, text: str, error: str) -> None:
    path = write_equivalents(tmp_path, text)
    with pytest.raises(EquivalentsError) as caught:
        load_equivalents(path)
    assert str(caught.value) == f"{path}: {error}"


def test_committed_equivalents_name_mutants_of_their_own_modules() -> None:
    """Checked without a run: each table a mutated module, each entry one of its mutants with a reason."""
    sources = {".".join(p.relative_to(ROOT).with_suffix("").parts) for p in (ROOT / "config").glob("*.py")}
    sources |= {f"ziggie_policies.{p.stem}" for p in (ROOT / "policies" / "ziggie_policies").glob("*.py")}
    for module, table in load_equivalents(EQUIVALENTS).items():
        assert module in sources, module
        for name, reason in table.items():
            assert name.startswith(f"{module}.x") and "__mutmut_" in name, name
            assert isinstance(reason, str) and reason.strip(), name


def test_make_mutation_rechecks_between_the_run_and_the_score() -> None:
    dry = subprocess.run(
        ["make", "-n", "mutation", "MUTANTS=ziggie_policies.no_privileged.*"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    steps = [line for line in dry if "mutmut run" in line or "pipeline.mutation" in line]
    assert [
        step.split("pipeline.mutation ")[-1] if "pipeline.mutation" in step else "mutmut run" for step in steps
    ] == [
        "stage .mutation",
        "mutmut run",
        "recheck .mutation ziggie_policies.no_privileged.*",
        "score .mutation",
    ]
