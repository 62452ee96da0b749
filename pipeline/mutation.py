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

`python -m pipeline.mutation stage DIR` builds the directory; `... score DIR` prints, per
module, the mutants killed of those tested and the score.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
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
        return f"{self.module:<45} {self.killed:>5}/{self.tested:<5} {score}" + (f"  ({others})" if others else "")


def scores(directory: Path) -> list[ModuleScore]:
    """One score per mutated module, from the `.meta` files mutmut writes beside each mutant file."""
    mutants = directory / "mutants"
    found = []
    for meta in sorted(mutants.rglob("*.py.meta")):
        relative = meta.relative_to(mutants).with_suffix("").with_suffix("")
        module = ".".join(relative.parts)
        exit_codes = json.loads(meta.read_text())["exit_code_by_key"]
        statuses = Counter(status_by_exit_code[code] for code in exit_codes.values())
        if statuses:
            found.append(ModuleScore(module.removesuffix(".__init__"), statuses))
    return found


def report(found: list[ModuleScore]) -> str:
    lines = [f"{'module':<45} {'killed/tested':>11}  score"]
    lines += [s.line() for s in found]
    total = ModuleScore("all", sum((s.statuses for s in found), Counter()))
    lines.append(total.line())
    if total.untested:
        lines.append(f"{total.untested} mutants not tested (not checked or skipped) are left out of the scores.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.mutation", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("stage", "score"))
    parser.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    if args.command == "stage":
        stage(args.directory)
        return 0
    found = scores(args.directory)
    if not found:
        print(f"no mutmut results under {args.directory / 'mutants'}: run `make mutation` first", file=sys.stderr)
        return 2
    print(report(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
