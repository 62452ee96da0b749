"""Mutation testing of the policy pack and config/ with mutmut: the tree it runs in, and the score.

mutmut names a mutant after its file's path relative to the directory it runs in
(boxed/mutmut `src/mutmut/utils/format_utils.py`, `get_mutant_name`), and a mutated function
switches to a mutant only when that name's module equals the function's `__module__`
(`src/mutmut/mutation/trampoline.py`). The tests import the pack as `ziggie_policies.*`, with
policies/ on sys.path as `python -m pulumi.policy` runs it (tests/policies/conftest.py); run from
the project root, mutmut would call the same module `policies.ziggie_policies.*` and every
mutant would have no test. So `make mutation` runs mutmut in a staging directory where the
package sits at the top, beside config/:

    .mutation/pyproject.toml, conftest.py, tests   -> the project's (mutmut copies them into mutants/)
    .mutation/config, .mutation/ziggie_policies    -> what mutmut mutates (pyproject's source_paths)
    .mutation/mutants/<the rest of the project>    -> the project's, so the tests import it
    .mutation/mutants/policies/ziggie_policies     -> ../ziggie_policies, the mutated copy

mutmut runs the tests in mutants/ (`src/mutmut/runners/harness.py`), so the pack the analyzer-
protocol tests start from mutants/policies imports the mutated package too, and a mutant is
chosen by the MUTANT_UNDER_TEST variable its subprocess inherits.

mutmut picks the tests for a mutant by the test functions that called its function in mutmut's
own process (`src/mutmut/__main__.py`, `tests_for_mutant_names` over the stats run), so a test
that reaches a function only in the pack's subprocess never runs against its mutants: they
survive, or have no tests at all. So does a function run only while its module is imported
(config/catalog.py builds the catalog once), as mutmut's workers import the modules before a
mutant is chosen. `recheck` closes both gaps after `mutmut run`: it runs the tests that start
the pack (pipeline/protocol_tests.py), or the import-time module's tests, in a fresh process
against each surviving mutant of those modules, with MUTANT_UNDER_TEST naming it as mutmut's
own workers do, and records a kill in the mutant's `.meta` with mutmut's exit code for it, so
`score`, `mutmut results` and `mutmut browse` agree.

`python -m pipeline.mutation stage DIR` builds the directory; `... recheck DIR [PATTERN ...]`
rechecks the survivors; `... score DIR` prints, per module, the mutants killed of those tested,
the score and how many survivors pipeline/equivalent_mutants.toml lists as equivalent, and
fails on a module scoring below its bar (BARS) or an entry there that names no surviving mutant.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mutmut.stats import status_by_exit_code

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "ziggie_policies"
# Linked at the staging directory's top: mutmut reads its settings and copies the tests from there.
TOP = ("pyproject.toml", "conftest.py", "tests", "config")
# Never linked into mutants/: mutmut's own output, the caches, and the pack's CLI virtualenv.
SKIP = frozenset({"policies", "venv"})
# mutmut's own score counts a timeout as a kill and leaves skipped mutants out
# (boxed/mutmut `src/mutmut/__main__.py`, `badge`); mutants not checked (outside a run narrowed
# by MUTANTS, or an interrupted one) are left out too, so a narrowed run scores what it ran.
KILLED = frozenset({"killed", "timeout"})
UNTESTED = frozenset({"not checked", "skipped"})
# What recheck runs against a mutant: mutmut's two verdicts for a mutant no test failed on.
SURVIVED = frozenset({"survived", "no tests"})
EQUIVALENTS = ROOT / "pipeline" / "equivalent_mutants.toml"
# The score (killed of tested, in %) a module must reach for `score` to pass: every module of the
# pack, and the config modules whose rules the stack files meet first. config.models, catalog,
# readback and reference are printed without one.
BARS: tuple[tuple[str, int], ...] = (
    (PACKAGE, 95),
    ("config.units", 90),
    ("config.images", 90),
    ("config.loader", 90),
)


def _link(link: Path, target: Path) -> None:
    if link.is_symlink() or link.exists():
        if link.is_symlink() and link.readlink() == target:
            return
        link.unlink()
    link.symlink_to(target)


def stage(directory: Path, root: Path = ROOT) -> None:
    """Lay out `directory` for `mutmut run`; idempotent, and mutants/ of an earlier run is kept."""
    mutants = directory / "mutants"
    (mutants / "policies").mkdir(parents=True, exist_ok=True)
    for name in TOP:
        _link(directory / name, root / name)
    _link(directory / PACKAGE, root / "policies" / PACKAGE)
    for entry in root.iterdir():
        if entry.name.startswith(".") or entry.name in TOP or entry.name in SKIP:
            continue
        _link(mutants / entry.name, entry)
    for entry in (root / "policies").iterdir():
        if entry.name.startswith(".") or entry.name in SKIP or entry.name in (PACKAGE, "__pycache__"):
            continue
        _link(mutants / "policies" / entry.name, entry)
        # The package finds its data beside itself (ziggie_policies/_cost.py reads ../prices.json),
        # and the mutated copy's parent is mutants/: link there what the project root lacks.
        if not (root / entry.name).exists():
            _link(mutants / entry.name, entry)
    # Relative, so it names the mutated copy mutmut writes to mutants/ziggie_policies.
    _link(mutants / "policies" / PACKAGE, Path("..") / PACKAGE)
    # The pack runs in its own directory, and a mutated function reads mutmut's settings from
    # ./pyproject.toml (mutmut `src/mutmut/configuration.py`): the copy mutmut makes in mutants/.
    _link(mutants / "policies" / "pyproject.toml", Path("..") / "pyproject.toml")


@dataclass(frozen=True)
class ModuleScore:
    """The mutants of one module by outcome."""

    module: str
    statuses: Counter[str]
    # Of the survivors, how many pipeline/equivalent_mutants.toml lists as equivalent.
    equivalent: int = 0

    @property
    def killed(self) -> int:
        return sum(self.statuses[s] for s in KILLED)

    @property
    def tested(self) -> int:
        return sum(n for s, n in self.statuses.items() if s not in UNTESTED)

    @property
    def untested(self) -> int:
        return sum(self.statuses[s] for s in UNTESTED)

    def line(self) -> str:
        score = f"{100 * self.killed / self.tested:5.1f} %" if self.tested else "    - "
        others = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items()) if s not in KILLED and n)
        if self.equivalent:
            others += f"; {self.equivalent} listed as equivalent"
        return f"{self.module:<45} {self.killed:>5}/{self.tested:<5} {score}" + (f"  ({others})" if others else "")


def results(directory: Path) -> dict[str, dict[str, int | None]]:
    """Per mutated module, mutmut's exit code by mutant name, from the `.meta` beside each mutant file."""
    return {module: json.loads(meta.read_text())["exit_code_by_key"] for module, meta in _metas(directory)}


def _metas(directory: Path) -> list[tuple[str, Path]]:
    mutants = directory / "mutants"
    found = []
    for meta in sorted(mutants.rglob("*.py.meta")):
        relative = meta.relative_to(mutants).with_suffix("").with_suffix("")
        found.append((".".join(relative.parts).removesuffix(".__init__"), meta))
    return found


def scores(directory: Path, equivalents: dict[str, dict[str, str]] | None = None) -> list[ModuleScore]:
    """One score per mutated module, with how many of its survivors `equivalents` lists."""
    found = []
    for module, exit_codes in results(directory).items():
        statuses = Counter(status_by_exit_code[code] for code in exit_codes.values())
        listed = (equivalents or {}).get(module, {})
        equivalent = sum(1 for name in listed if status_by_exit_code[exit_codes.get(name, -1)] in SURVIVED)
        if statuses:
            found.append(ModuleScore(module, statuses, equivalent))
    return found


class EquivalentsError(Exception):
    """pipeline/equivalent_mutants.toml cannot be read as tables of mutants."""


def load_equivalents(path: Path = EQUIVALENTS) -> dict[str, dict[str, str]]:
    """The equivalent mutants by module: `["<module>"]` tables of `"<mutant name>" = "reason"`."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise EquivalentsError(f"{path}: {error}") from error
    tables = {}
    for module, table in document.items():
        if not isinstance(table, dict):
            raise EquivalentsError(f'{path}: "{module}" must be a table of "<mutant name>" = "reason"')
        tables[module] = table
    return tables


def stale_equivalents(directory: Path, equivalents: dict[str, dict[str, str]], path: Path = EQUIVALENTS) -> list[str]:
    """Entries that name no mutant of their module, a killed one, or give no reason.

    A mutant outside a narrowed run (not checked) is no evidence either way and passes.
    """
    found = results(directory)
    problems = []
    for module, table in equivalents.items():
        for name, reason in table.items():
            where = f'{path}: ["{module}"] "{name}"'
            if not isinstance(reason, str) or not reason.strip():
                problems.append(f"{where}: the reason must be a non-empty string")
            elif name not in found.get(module, {}):
                problems.append(f"{where}: no such mutant of {module}")
            elif (status := status_by_exit_code[found[module][name]]) in KILLED:
                problems.append(f"{where}: {status} by the tests, so not equivalent: remove the entry")
    return problems


def bar_for(module: str) -> int | None:
    """The score `module` must reach (BARS, by package or module name), or None if it has none."""
    for name, bar in BARS:
        if module == name or module.startswith(f"{name}."):
            return bar
    return None


def below_bars(found: list[ModuleScore]) -> list[str]:
    """A line for each module under a bar that scores below it; a module with nothing tested
    (outside a narrowed run) is no evidence either way and passes."""
    problems = []
    for score in found:
        bar = bar_for(score.module)
        if bar is not None and score.tested and score.killed * 100 < bar * score.tested:
            problems.append(
                f"{score.module}: {100 * score.killed / score.tested:.1f} % killed, below its bar of {bar} %"
            )
    return problems


def report(found: list[ModuleScore]) -> str:
    lines = [f"{'module':<45} {'killed/tested':>11}  score"]
    lines += [s.line() for s in found]
    total = ModuleScore("all", sum((s.statuses for s in found), Counter()), sum(s.equivalent for s in found))
    lines.append(total.line())
    if total.untested:
        lines.append(f"{total.untested} mutants not tested (not checked or skipped) are left out of the scores.")
    return "\n".join(lines)


class RecheckError(Exception):
    """The protocol tests cannot give a verdict: they fail without a mutant, or pytest itself failed."""


# mutmut's exit codes (mutmut `src/mutmut/stats.py`, status_by_exit_code): pytest's own 0
# (survived), 1 (killed: a test failed) and 3 (killed: an internal error), and mutmut's 36 for
# a timeout. pytest's 2 (interrupted), 4 (usage error) and 5 (no tests collected) say nothing of
# the mutant, so recheck stops on them rather than record one.
RECORDED = frozenset({0, 1, 3})
TIMEOUT = 36
# pytest's summary when a test module fails to import (exit 2). After a clean run collected
# everything, the mutant is what broke the import: an import-time module's builder mutated so
# the module itself raises. That is a failing test as mutmut counts one (exit 1), not an interrupt.
COLLECTION_ERROR = re.compile(r"^!+ Interrupted: \d+ errors? during collection !+$", re.MULTILINE)
PYTEST = ("-m", "pytest", "--rootdir=.", "-x", "-q", "-p", "no:randomly", "-p", "no:cacheprovider")
PROTOCOL_TESTS = (*PYTEST, "-p", "pipeline.protocol_tests")
POLICY_TESTS = "tests/policies"
# Tests that run every policy through the pack (the committed stacks, the policy config).
PACK_WIDE_TESTS = ("tests/policies/test_pack.py", "tests/policies/test_policy_config.py")
# Modules whose functions run only while the module is imported: the catalog is built from
# _check/_curl/_wget once, and mutmut's forked workers import every module before a mutant is
# chosen, so no test in mutmut's run sees those mutants. A fresh pytest process imports the
# module with MUTANT_UNDER_TEST already set.
IMPORT_TIME_TESTS = {"config.catalog": ("tests/config/test_catalog.py",)}


def tests_for(module: str, cwd: Path) -> list[str]:
    """The tests a mutant of `module` runs against: its policy's own tests and the pack-wide ones.

    A policy's protocol cases configure and judge that policy alone, so another policy's tests
    cannot see its mutant; a helper module (`_support`, `_cost`) has no tests of its own and is
    reached by every policy, so its mutants run against all of tests/policies.
    """
    if module in IMPORT_TIME_TESTS:
        return list(IMPORT_TIME_TESTS[module])
    own = f"{POLICY_TESTS}/test_{module.rpartition('.')[2]}.py"
    return [own, *PACK_WIDE_TESTS] if (cwd / own).is_file() else [POLICY_TESTS]


# A mutant's time limit: this many times the clean run, and never under the floor (seconds).
TIMEOUT_FACTOR = 5
TIMEOUT_FLOOR = 60.0
CLEAN_TIMEOUT = 1800.0


@dataclass(frozen=True)
class Outcome:
    """One run of the protocol tests: its exit code (None for a timeout), seconds and output."""

    exit_code: int | None
    seconds: float
    output: str


def run_tests(command: Sequence[str], cwd: Path, mutant: str, timeout: float) -> Outcome:
    """Run `command` in `cwd` with MUTANT_UNDER_TEST=`mutant` ("" for none), killing its whole
    process group at `timeout`: the pack the tests start is a grandchild.

    A mutated function takes the variable before anything else (mutmut
    `src/mutmut/mutation/trampoline.py`, get_mutant_under_test), in the pack's process too.
    """
    env = {**os.environ, "MUTANT_UNDER_TEST": mutant}
    start = time.monotonic()
    with subprocess.Popen(
        list(command),
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            return Outcome(None, time.monotonic() - start, output)
    return Outcome(process.returncode, time.monotonic() - start, output)


def survivors(directory: Path, patterns: Iterable[str] = ()) -> list[tuple[str, str, Path]]:
    """The mutants of the pack and of IMPORT_TIME_TESTS' modules that mutmut left alive (survived
    or no tests), with module and `.meta`, narrowed to mutant names matching any of `patterns`
    (fnmatch, as `mutmut run` matches them)."""
    patterns = list(patterns)
    found = []
    for module, meta in _metas(directory):
        if module != PACKAGE and not module.startswith(f"{PACKAGE}.") and module not in IMPORT_TIME_TESTS:
            continue
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            wanted = not patterns or any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
            if wanted and status_by_exit_code[code] in SURVIVED:
                found.append((module, name, meta))
    return found


def _record(meta: Path, name: str, exit_code: int) -> None:
    # The whole document is kept: mutmut refuses a .meta with keys it does not know
    # (`src/mutmut/mutation/data.py`, SourceFileMutationData.load).
    document = json.loads(meta.read_text())
    document["exit_code_by_key"][name] = exit_code
    partial = meta.with_name(meta.name + ".partial")
    partial.write_text(json.dumps(document, indent=4))
    partial.replace(meta)


def recheck(
    directory: Path,
    patterns: Iterable[str] = (),
    *,
    command: Sequence[str] = (sys.executable, *PROTOCOL_TESTS),
    # A mutant's tests are appended to `command` (all of them for the clean run).
    timeout: float | None = None,
    log: Callable[[str], None] = lambda line: print(line, flush=True),  # progress shows in CI's log as it goes
) -> Counter[str]:
    """Run each surviving mutant of the pack (or of an import-time module) against its tests in a
    fresh process, and record the verdicts.

    The tests run first with no mutant and must pass: a failure then says nothing of a mutant.
    Each verdict is written as soon as it is known, so an interrupted recheck keeps what it did.
    """
    cwd = directory / "mutants"
    todo = survivors(directory, patterns)
    outcomes: Counter[str] = Counter()
    if not todo:
        log("recheck: no surviving mutant to run in a fresh process")
        return outcomes
    everything = [POLICY_TESTS, *(test for tests in IMPORT_TIME_TESTS.values() for test in tests)]
    clean = run_tests([*command, *everything], cwd, "", CLEAN_TIMEOUT)
    if clean.exit_code != 0:
        tail = "\n".join(clean.output.splitlines()[-20:])
        raise RecheckError(f"the protocol tests fail without a mutant (exit {clean.exit_code}) in {cwd}:\n{tail}")
    limit = timeout if timeout is not None else max(TIMEOUT_FLOOR, TIMEOUT_FACTOR * clean.seconds)
    log(f"recheck: {len(todo)} surviving mutants, their tests {clean.seconds:.0f} s clean, {limit:.0f} s limit")
    for number, (module, name, meta) in enumerate(todo, 1):
        outcome = run_tests([*command, *tests_for(module, cwd)], cwd, name, limit)
        exit_code = TIMEOUT if outcome.exit_code is None else outcome.exit_code
        if exit_code == 2 and COLLECTION_ERROR.search(outcome.output):
            exit_code = 1
        if exit_code not in RECORDED | {TIMEOUT}:
            raise RecheckError(
                f"{name}: the protocol tests ended with exit {exit_code}, no verdict:\n{outcome.output[-2000:]}"
            )
        _record(meta, name, exit_code)
        status = status_by_exit_code[exit_code]
        outcomes[status] += 1
        log(f"recheck {number}/{len(todo)} {name}: {status} ({outcome.seconds:.0f} s)")
    log("recheck: " + ", ".join(f"{n} {s}" for s, n in sorted(outcomes.items())))
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.mutation", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("stage", help="lay out DIR for `mutmut run`").add_argument("directory", type=Path)
    check = commands.add_parser("recheck", help="run the protocol tests against the pack's surviving mutants")
    check.add_argument("directory", type=Path)
    check.add_argument("patterns", nargs="*", help="only mutants whose names match (as `mutmut run` takes them)")
    check.add_argument("--timeout", type=float, help="seconds per mutant (default: 5 times the clean run, at least 60)")
    score = commands.add_parser(
        "score", help="print the score per module; fail on a module below its bar or a stale equivalent entry"
    )
    score.add_argument("directory", type=Path)
    score.add_argument("--equivalents", type=Path, default=EQUIVALENTS)
    args = parser.parse_args(argv)
    if args.command == "stage":
        stage(args.directory)
        return 0
    if args.command == "recheck":
        try:
            recheck(args.directory, args.patterns, timeout=args.timeout)
        except RecheckError as error:
            print(f"recheck: {error}", file=sys.stderr)
            return 2
        return 0
    if not results(args.directory):
        print(f"no mutmut results under {args.directory / 'mutants'}: run `make mutation` first", file=sys.stderr)
        return 2
    try:
        equivalents = load_equivalents(args.equivalents)
    except EquivalentsError as error:
        print(error, file=sys.stderr)
        return 2
    found = scores(args.directory, equivalents)
    print(report(found))
    problems = below_bars(found) + stale_equivalents(args.directory, equivalents, args.equivalents)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
