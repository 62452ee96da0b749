"""The pipeline's reports: one comment under GitHub's limit with the verdicts first, preview
summaries that keep their end, drift told apart from a failed run."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.report import (
    BODY_LIMIT,
    DRIFT_MARKER,
    PR_MARKER,
    Result,
    drift_issue,
    drift_state,
    fenced,
    load_results,
    main,
    pr_comment,
    preview_summary,
)

REPORT = "### preflight prod: PASS · 62 resources · 12 of 12 policies run\n\n## Violations\n\nnone\n"
PREVIEW = (
    "Previewing update (organization/ziggie-infra/prod)\n\n"
    "    +  docker:index/container:Container prod-vps1-postgres create\n"
    "\x1b[1mPolicies:\x1b[0m\n    ✅ ziggie-policies@v0.1.0 (local: policies)\n\n"
    "Resources:\n    + 1 to create\n    61 unchanged\n"
)
DRIFTED = "Resources:\n    ~ 1 to update\n\nerror: no changes were expected but changes were proposed\n"
RUN = "https://github.com/o/r/actions/runs/1"


def results(*items: Result) -> dict[tuple[str, str], Result]:
    return {(item.kind, item.stack): item for item in items}


def write(root: Path, name: str, files: dict[str, str]) -> None:
    (root / name).mkdir(parents=True)
    for file, content in files.items():
        (root / name / file).write_text(content, encoding="utf-8")


def test_comment_starts_with_its_marker_then_a_verdict_row_per_stack() -> None:
    body = pr_comment(
        results(
            Result("preflight", "dev", 0, REPORT),
            Result("preflight", "prod", 1, REPORT),
            Result("preflight", "dr", 2, "", "preflight: Pulumi.dr.yaml: hosts.dr1.memory: required"),
            Result("preview", "prod", 0, PREVIEW),
            Result("preview", "dr", 255, "error: the stack is currently locked"),
        ),
        "checks of abc1234",
        RUN,
        "failure",
    )
    lines = body.splitlines()
    assert lines[0] == PR_MARKER
    assert lines[1] == "## checks of abc1234"
    assert lines[3] == "Lint, tests and preflight: ❌ failed"
    assert "| dev | ✅ passed | — not run |" in lines
    assert "| prod | ❌ mandatory policy violation | ✅ passed |" in lines
    assert "| dr | ❌ error: bad config or program | ❌ failed |" in lines
    assert body.index("### dev") < body.index("### prod") < body.index("### dr")
    assert "**preflight**: preflight prod: PASS · 62 resources · 12 of 12 policies run\n" in body
    assert "Pulumi.dr.yaml: hosts.dr1.memory: required" in body
    assert "**`pulumi preview` of dr**: ❌ failed (exit 255)" in body
    assert f"[this run]({RUN})" in body


def test_comment_of_reports_over_the_limit_stays_under_it_with_every_verdict() -> None:
    big_report = "### preflight prod: PASS · 2,100 resources\n" + "| row |\n" * 20_000
    big_preview = "Diagnostics:\n" + "  docker:index/container:Container (x): warning: w\n" * 2_000 + PREVIEW
    body = pr_comment(
        results(
            *(Result("preflight", stack, 0, big_report) for stack in ("dev", "prod", "dr")),
            *(Result("preview", stack, 0, big_preview) for stack in ("prod", "dr")),
        ),
        "checks",
        RUN,
    )
    assert len(body) <= BODY_LIMIT
    assert body.count("**preflight**: preflight prod: PASS · 2,100 resources\n") == 3
    assert body.count("The whole preflight report is in this run's job summary.") == 3
    assert body.count("    + 1 to create\n    61 unchanged") == 2, "a cut preview keeps its end"
    assert "earlier characters left out" in body


def test_a_report_that_fits_is_included_whole_and_collapsed() -> None:
    body = pr_comment(results(Result("preflight", "dev", 0, REPORT)), "checks", RUN)
    assert f"<details><summary>preflight report</summary>\n\n{REPORT.strip()}\n\n</details>" in body


def test_a_job_that_left_nothing_is_named_not_hidden() -> None:
    body = pr_comment(results(Result("preflight", "prod", None, "")), "checks", RUN)
    assert "| prod | ⚠️ did not report | — not run |" in body


def test_preview_summary_starts_at_the_first_summary_headline_without_colours() -> None:
    assert preview_summary(PREVIEW) == (
        "Policies:\n    ✅ ziggie-policies@v0.1.0 (local: policies)\n\nResources:\n    + 1 to create\n    61 unchanged"
    )
    assert preview_summary("error: no Pulumi.yaml\n") == "error: no Pulumi.yaml"


def test_fence_is_longer_than_any_backtick_run_inside() -> None:
    assert fenced("a ```` b") == "`````text\na ```` b\n`````"
    assert fenced("plain") == "```text\nplain\n```"


@pytest.mark.parametrize(
    ("exit_code", "output", "state"),
    [
        pytest.param(0, PREVIEW, "clean", id="exit_0_is_clean"),
        pytest.param(255, DRIFTED, "drift", id="cli_no_changes_expected_error_is_drift"),
        pytest.param(
            255,
            "error: no changes were expected for update but changes were proposed",
            "drift",
            id="cli_message_naming_the_operation_is_drift",
        ),
        pytest.param(255, "error: the stack is currently locked by 1 lock(s)", "error", id="other_failure_is_error"),
        pytest.param(None, DRIFTED, "error", id="no_exit_code_is_error"),
    ],
)
def test_drift_state(exit_code: int | None, output: str, state: str) -> None:
    assert drift_state(exit_code, output) == state


def test_drift_issue_names_only_the_drifted_stacks() -> None:
    body = drift_issue(
        results(Result("drift", "prod", 255, DRIFTED), Result("drift", "dr", 0, PREVIEW)),
        RUN,
    )
    assert body is not None
    assert body.splitlines()[0] == DRIFT_MARKER
    assert "found changes on: prod (" in body
    assert "`pulumi preview` of prod" in body
    assert "`pulumi preview` of dr" not in body


@pytest.mark.parametrize(
    "items",
    [
        pytest.param([Result("drift", "prod", 0, PREVIEW)], id="clean"),
        pytest.param([Result("drift", "prod", 255, "error: bad credentials")], id="error_is_not_drift"),
    ],
)
def test_no_drift_issue_without_drift(items: list[Result]) -> None:
    assert drift_issue(results(*items), RUN) is None


def test_results_load_from_the_jobs_directories(tmp_path: Path) -> None:
    write(tmp_path, "preflight-prod", {"exit-code": "1\n", "report.md": REPORT, "stderr.txt": "warning"})
    write(tmp_path, "preview-prod", {"exit-code": "0", "output.txt": PREVIEW})
    write(tmp_path, "preview-dr", {"output.txt": "cancelled"})
    assert load_results(tmp_path) == results(
        Result("preflight", "prod", 1, REPORT, "warning"),
        Result("preview", "prod", 0, PREVIEW),
        Result("preview", "dr", None, "cancelled"),
    )


def test_a_run_that_left_no_results_still_gets_its_comment(tmp_path: Path) -> None:
    assert load_results(tmp_path / "results") == {}
    body = pr_comment(load_results(tmp_path / "results"), "checks", RUN, "failure")
    assert body.startswith(f"{PR_MARKER}\n## checks\n\nLint, tests and preflight: ❌ failed\n")


def test_cli_drift_state_fails_only_on_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "drift-prod", {"exit-code": "255", "output.txt": DRIFTED})
    write(tmp_path, "drift-dr", {"exit-code": "255", "output.txt": "error: AccessDenied"})
    assert main(["drift-state", "--result", str(tmp_path / "drift-prod")]) == 0
    assert main(["drift-state", "--result", str(tmp_path / "drift-dr")]) == 1
    assert capsys.readouterr().out == "drift\nerror\n"


def test_cli_comment_and_summaries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "preflight-dev", {"exit-code": "2", "report.md": "", "stderr.txt": "preflight: bad config"})
    assert main(["preflight-summary", "--result", str(tmp_path / "preflight-dev")]) == 0
    assert capsys.readouterr().out == (
        "**preflight of dev**: ❌ error: bad config or program\n\n```text\npreflight: bad config\n```\n\n"
    )
    assert main(["comment", "--results", str(tmp_path), "--title", "t", "--run-url", RUN, "--checks", "success"]) == 0
    assert capsys.readouterr().out.startswith(f"{PR_MARKER}\n## t\n\nLint, tests and preflight: ✅ passed\n")
    assert main(["preview-summary", "--result", str(tmp_path / "missing-prod")]) == 2
