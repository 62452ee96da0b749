"""The pipeline's reports: one pull request comment, the preview job summary and the drift issue.

The workflows' jobs leave one directory per job and stack (`<kind>-<stack>/` holding `exit-code`
and the job's text: preflight's Markdown report or the `pulumi preview` output); this module
turns them into what a person reads. `python -m pipeline.report --help` lists the commands.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

# A hidden line the pull request comment and the drift issue start with: the workflows find
# their own earlier comment or issue by it and edit it instead of adding another.
PR_MARKER = "<!-- ziggie-infra:pr-report -->"
DRIFT_MARKER = "<!-- ziggie-infra:drift -->"
# GitHub refuses an issue or comment body longer than 65,536 characters.
BODY_LIMIT = 65_536
STACK_ORDER = ("dev", "prod", "dr")
# The text `pulumi preview --expect-no-changes` fails with when the plan has changes
# (pulumi/pulumi pkg/backend/backenderr/backenderr.go, NoChangesExpectedError).
NO_CHANGES_EXPECTED = re.compile(r"no changes were expected( for \S+)? but changes were proposed")
# Headlines of the summary the CLI prints after the per-resource steps
# (pulumi/pulumi pkg/backend/display/progress.go and tree.go).
SUMMARY_HEADLINES = ("Diagnostics:", "Policies:", "Outputs:", "Resources:")
PREFLIGHT_STATES = {0: "✅ passed", 1: "❌ mandatory policy violation", 2: "❌ error: bad config or program"}
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class Result:
    """What one job left for one stack: its exit code (None when it left nothing), text and errors."""

    kind: str
    stack: str
    exit_code: int | None
    text: str
    errors: str = ""


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""


def load_result(directory: Path) -> Result:
    """The result a job left in `<kind>-<stack>/`: `exit-code`, `report.md` or `output.txt`, `stderr.txt`."""
    kind, _, stack = directory.name.partition("-")
    code = _read(directory / "exit-code").strip()
    text = _read(directory / "report.md") or _read(directory / "output.txt")
    exit_code = int(code) if code.lstrip("-").isdigit() else None
    return Result(kind, stack, exit_code, text, _read(directory / "stderr.txt"))


def load_results(root: Path) -> dict[tuple[str, str], Result]:
    """Every `<kind>-<stack>/` directory under root, by (kind, stack); none when root is missing
    (download-artifact creates no directory when the run left no artifact)."""
    if not root.is_dir():
        return {}
    results = (load_result(path) for path in sorted(root.iterdir()) if path.is_dir())
    return {(result.kind, result.stack): result for result in results}


def fenced(text: str, info: str = "text") -> str:
    """text in a Markdown code fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"


def cut_head(text: str, limit: int) -> str:
    """The last `limit` characters of text at a line start, saying how much was left out."""
    if len(text) <= limit:
        return text
    note = "[… {} earlier characters left out; the job log has them all]\n"
    kept = text[len(text) - max(0, limit - len(note.format(len(text)))) :]
    if "\n" in kept:
        kept = kept[kept.index("\n") + 1 :]
    return note.format(len(text) - len(kept)) + kept


def preview_summary(text: str) -> str:
    """The summary part of `pulumi preview` output: from its first summary headline to the end."""
    lines = ANSI_ESCAPE.sub("", text).splitlines()
    for index, line in enumerate(lines):
        if line.strip() in SUMMARY_HEADLINES:
            return "\n".join(lines[index:])
    return "\n".join(lines)


def preview_markdown(result: Result, limit: int) -> str:
    """A preview's verdict and summary as Markdown, at most about `limit` characters."""
    state = "✅ passed" if result.exit_code == 0 else f"❌ failed (exit {result.exit_code})"
    head = f"**`pulumi preview` of {result.stack}**: {state}\n\n"
    body = preview_summary(result.text) or "(the preview printed nothing)"
    return head + fenced(cut_head(body, max(0, limit - len(head) - 20)))


def preflight_markdown(result: Result) -> str:
    """preflight's report for the job summary, with what it printed on stderr, if anything."""
    parts = [f"**preflight of {result.stack}**: {preflight_state(result)}"]
    if result.text.strip():
        parts.append(result.text.strip())
    if result.errors.strip():
        parts.append(fenced(result.errors))
    return "\n\n".join(parts) + "\n"


def verdict_line(report: str) -> str:
    """The first line of preflight's Markdown report, its verdict, without its heading marks."""
    line = next((line for line in report.splitlines() if line.strip()), "(empty report)")
    return line.strip().lstrip("#").strip()


def preflight_state(result: Result | None) -> str:
    if result is None or result.exit_code is None:
        return "⚠️ did not report"
    return PREFLIGHT_STATES.get(result.exit_code, f"❌ exit {result.exit_code}")


def preview_state(result: Result | None) -> str:
    if result is None or result.exit_code is None:
        return "— not run"
    return "✅ passed" if result.exit_code == 0 else "❌ failed"


def _stacks(results: dict[tuple[str, str], Result]) -> list[str]:
    named = {stack for _, stack in results}
    return [stack for stack in STACK_ORDER if stack in named] + sorted(named - set(STACK_ORDER))


JOB_STATES = {"success": "✅ passed", "failure": "❌ failed", "cancelled": "⚠️ cancelled", "skipped": "— skipped"}


def pr_comment(
    results: dict[tuple[str, str], Result],
    title: str,
    run_url: str,
    checks: str = "",
    limit: int = BODY_LIMIT,
) -> str:
    """One comment for the pull request: the checks' result, a table of verdicts, then per stack
    preflight and preview. `checks` is the checks job's result as GitHub reports it
    (`needs.checks.result`): it covers lint and the tests, which leave no report of their own.

    Each stack gets an equal share of what the table leaves of GitHub's limit. A preview's
    summary is cut from the front (its end holds the policy verdicts and the resource counts);
    a preflight report that does not fit its share whole is left to the job summary, since
    cutting Markdown can break its collapsed sections.
    """
    stacks = _stacks(results)
    rows = ["| stack | preflight | `pulumi preview` |", "|---|---|---|"]
    for stack in stacks:
        rows.append(
            f"| {stack} | {preflight_state(results.get(('preflight', stack)))} "
            f"| {preview_state(results.get(('preview', stack)))} |"
        )
    status = f"Lint, tests and preflight: {JOB_STATES.get(checks, checks or 'unknown')}\n\n"
    head = (
        f"{PR_MARKER}\n## {title}\n\n{status}" + "\n".join(rows) + "\n\n"
        "Previews run only for pull requests from this repository; dev has none (a workstation stack).\n"
    )
    foot = f"\nFull reports: the job summaries of [this run]({run_url}).\n"
    share = (limit - len(head) - len(foot) - 200) // max(1, len(stacks))
    sections = []
    for stack in stacks:
        parts = [f"### {stack}"]
        preview = results.get(("preview", stack))
        preview_text = preview_markdown(preview, share // 2) if preview and preview.exit_code is not None else ""
        preflight = results.get(("preflight", stack))
        if preflight is not None and preflight.text.strip():
            parts.append(f"**preflight**: {verdict_line(preflight.text)}")
            room = share - len(parts[-1]) - len(preview_text) - 120
            if len(preflight.text) <= room:
                parts.append(f"<details><summary>preflight report</summary>\n\n{preflight.text.strip()}\n\n</details>")
            else:
                parts.append("The whole preflight report is in this run's job summary.")
        else:
            parts.append(f"**preflight**: {preflight_state(preflight)}")
        if preflight is not None and preflight.errors.strip():
            parts.append(fenced(cut_head(preflight.errors, max(0, share // 4))))
        if preview_text:
            parts.append(preview_text)
        sections.append("\n\n".join(parts))
    return head + "\n" + "\n\n".join(sections) + "\n" + foot


def drift_state(exit_code: int | None, text: str) -> str:
    """clean, drift or error: how a `pulumi preview --expect-no-changes --refresh` ended."""
    if exit_code == 0:
        return "clean"
    if exit_code is not None and NO_CHANGES_EXPECTED.search(ANSI_ESCAPE.sub("", text)):
        return "drift"
    return "error"


def drift_issue(results: dict[tuple[str, str], Result], run_url: str, limit: int = BODY_LIMIT) -> str | None:
    """The drift issue's body, or None when no stack drifted."""
    drifted = [
        result
        for stack in _stacks(results)
        if (result := results.get(("drift", stack))) is not None
        and drift_state(result.exit_code, result.text) == "drift"
    ]
    if not drifted:
        return None
    names = ", ".join(result.stack for result in drifted)
    head = (
        f"{DRIFT_MARKER}\n"
        f"The scheduled `pulumi preview --expect-no-changes --refresh` found changes on: {names} "
        f"([run]({run_url})). What runs differs from what the program declares: either apply the "
        "program again (deploy workflow) or bring the change into the program.\n\n"
    )
    share = (limit - len(head) - 200) // len(drifted)
    return head + "\n\n".join(preview_markdown(result, share) for result in drifted) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point for the workflows; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.report", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    comment = commands.add_parser("comment", help="the pull request comment, from the jobs' results")
    comment.add_argument("--results", type=Path, required=True, help="directory of <kind>-<stack>/ results")
    comment.add_argument("--title", required=True, help="the comment's heading")
    comment.add_argument("--run-url", required=True, help="link to the workflow run")
    comment.add_argument("--checks", default="", help="the checks job's result: success, failure, cancelled, skipped")
    for kind in ("preflight", "preview"):
        summary = commands.add_parser(f"{kind}-summary", help=f"Markdown of one {kind} for the job summary")
        summary.add_argument("--result", type=Path, required=True, help=f"a {kind}-<stack>/ directory")
    drift = commands.add_parser("drift-state", help="print clean, drift or error; exit 1 on error")
    drift.add_argument("--result", type=Path, required=True, help="a drift-<stack>/ directory")
    issue = commands.add_parser("drift-issue", help="the drift issue's body; prints nothing without drift")
    issue.add_argument("--results", type=Path, required=True, help="directory of drift-<stack>/ results")
    issue.add_argument("--run-url", required=True, help="link to the workflow run")
    args = parser.parse_args(argv)

    if args.command == "comment":
        print(pr_comment(load_results(args.results), args.title, args.run_url, args.checks), end="")
        return 0
    if args.command in ("preflight-summary", "preview-summary", "drift-state"):
        if not args.result.is_dir():
            print(f"pipeline.report: no result directory {args.result}", file=sys.stderr)
            return 2
        result = load_result(args.result)
        if args.command == "preflight-summary":
            print(preflight_markdown(result))
            return 0
        if args.command == "preview-summary":
            print(preview_markdown(result, BODY_LIMIT))
            return 0
        state = drift_state(result.exit_code, result.text)
        print(state)
        return 1 if state == "error" else 0
    body = drift_issue(load_results(args.results), args.run_url)
    print(body or "", end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
