"""The GitHub pipeline: actionlint and pedantic zizmor report nothing, with no finding silenced,
and the guarantees neither tool checks hold: pinned actions, no secret within reach of a fork,
the SSH deploy key only in protected environments, least-privilege tokens, deploys gated on the
checks of the same run, hash-checked installs, the CLI pinned to the SDK's version."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
GITHUB = ROOT / ".github"
WORKFLOWS = {path.name: path for path in sorted((GITHUB / "workflows").glob("*.yml"))}
ACTIONS = {path.parent.name: path for path in sorted((GITHUB / "actions").glob("*/action.yml"))}
# Environments with protection rules: required reviewers (production, disaster-recovery) or
# deployment from main only (drift). The README's pipeline setup creates them so.
PROTECTED = {"production", "disaster-recovery", "drift"}
SAME_REPO_GUARD = "github.event.pull_request.head.repo.full_name == github.repository"
# Write scopes other than id-token, by (workflow, job): everything else reads at most.
WRITE_GRANTS = {("pull-request.yml", "comment"): {"pull-requests"}, ("drift.yml", "issue"): {"issues"}}
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?:\s+#\s*(?P<comment>.*))?$")
SSH_KEY = "DEPLOY_SSH_KEY"


def load(path: Path) -> dict[str, Any]:
    document: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the bare key `on` as the boolean true.
    if True in document:
        document["on"] = document.pop(True)
    return document


def triggers(document: dict[str, Any]) -> set[str]:
    on = document["on"]
    return {on} if isinstance(on, str) else set(on)


def jobs(name: str) -> dict[str, dict[str, Any]]:
    return load(WORKFLOWS[name])["jobs"]  # type: ignore[no-any-return]


def text(node: Any) -> str:
    return yaml.safe_dump(node, sort_keys=True)


def called_workflow(job: dict[str, Any]) -> str | None:
    """The file name of the reusable workflow a job calls, if it calls one of this repository's."""
    uses = job.get("uses", "")
    return uses.rsplit("/", 1)[-1] if uses.startswith("$/.github/workflows/") else None


def runnable_jobs(name: str) -> list[tuple[str, str, dict[str, Any], str]]:
    """(workflow, job, definition, caller's `if`) of a workflow's jobs, called workflows' included."""
    found = []
    for job_name, job in jobs(name).items():
        condition = str(job.get("if", ""))
        callee = called_workflow(job)
        if callee is None:
            found.append((name, job_name, job, condition))
        else:
            found += [(w, j, d, condition + str(c)) for w, j, d, c in runnable_jobs(callee)]
    return found


def environments(job: dict[str, Any]) -> set[str]:
    """Every environment a job can be bound to: its literal, or each `&& 'x'` / `|| 'y'` result of its expression."""
    environment = job.get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    if environment is None:
        return set()
    value = str(environment)
    return set(re.findall(r"(?:&&|\|\|)\s*'([^']+)'", value)) if "${{" in value else {value}


def tool(name: str) -> str:
    """The tool installed beside this interpreter or on PATH; skips the test, saying why, when missing."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (requirements-dev.txt pins it; `make test` installs it)")
    return found


# The tools themselves.


def test_actionlint_reports_nothing() -> None:
    actionlint = tool("actionlint")
    shellcheck = tool("shellcheck")
    files = [str(path.relative_to(ROOT)) for path in WORKFLOWS.values()]
    result = subprocess.run(
        [actionlint, "-no-color", f"-shellcheck={shellcheck}", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_pedantic_reports_nothing() -> None:
    zizmor = tool("zizmor")
    result = subprocess.run(
        [zizmor, "--offline", "--persona", "pedantic", "--no-progress", str(GITHUB)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_no_finding_is_silenced() -> None:
    for path in [*GITHUB.rglob("*.yml"), *GITHUB.rglob("*.yaml")]:
        source = path.read_text(encoding="utf-8")
        assert "zizmor: ignore" not in source, f"{path}: an inline zizmor ignore"
        assert "shellcheck disable" not in source, f"{path}: a shellcheck directive"
    for config in ("zizmor.yml", "zizmor.yaml", ".github/zizmor.yml", ".github/zizmor.yaml"):
        assert not (ROOT / config).exists(), f"{config} would configure zizmor's audits away"


# What the tools do not check.


def test_every_action_is_pinned_to_a_commit_with_its_version_named() -> None:
    files = [*WORKFLOWS.values(), *ACTIONS.values()]
    seen = 0
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = USES_LINE.match(line)
            if match is None:
                continue
            seen += 1
            ref = match["ref"]
            if ref.startswith("$/"):
                continue
            assert PINNED.match(ref), f"{path.name}:{number}: {ref} is not pinned to a full commit SHA"
            assert re.fullmatch(r"v\d+\.\d+\.\d+", match["comment"] or ""), (
                f"{path.name}:{number}: {ref} needs its version as the comment (`# v1.2.3`)"
            )
    assert seen > 10


def test_jobs_a_fork_can_trigger_hold_no_secret_and_no_cloud_identity() -> None:
    checked = 0
    for name, path in WORKFLOWS.items():
        if not triggers(load(path)) & {"pull_request", "pull_request_target"}:
            continue
        for workflow, job_name, job, condition in runnable_jobs(name):
            if SAME_REPO_GUARD in condition:
                continue
            checked += 1
            where = f"{workflow} job {job_name}"
            assert "secrets." not in text(job), f"{where} runs for forks and reads a secret"
            assert not environments(job), f"{where} runs for forks inside an environment"
            assert job.get("permissions", {}).get("id-token") != "write", f"{where} runs for forks with OIDC"
        for job in jobs(name).values():
            assert "secrets" not in job, f"{name}: a called workflow is handed secrets"
    assert checked >= 2


def test_the_ssh_key_reaches_only_jobs_in_protected_environments() -> None:
    bound = 0
    for name in WORKFLOWS:
        for workflow, job_name, job, _ in runnable_jobs(name):
            source = text(job)
            if SSH_KEY not in source and "$/.github/actions/ssh-key" not in source:
                continue
            bound += 1
            envs = environments(job)
            assert envs, f"{workflow} job {job_name} holds the SSH key outside any environment"
            assert envs <= PROTECTED, f"{workflow} job {job_name} holds the SSH key in {sorted(envs - PROTECTED)}"
    for action, path in ACTIONS.items():
        if action != "ssh-key":
            assert SSH_KEY not in path.read_text(encoding="utf-8"), f"action {action} handles the SSH key"
    assert bound == 2, "deploy and drift are the two jobs that hold the SSH key"


def test_secrets_are_read_only_inside_protected_environments() -> None:
    for name in WORKFLOWS:
        for workflow, job_name, job, _ in runnable_jobs(name):
            if re.search(r"secrets\.(?!GITHUB_TOKEN)", text(job)):
                assert environments(job) <= PROTECTED and environments(job), (
                    f"{workflow} job {job_name} reads a secret outside a protected environment"
                )


def test_every_token_has_least_privilege() -> None:
    for name, path in WORKFLOWS.items():
        assert load(path).get("permissions") == {}, f"{name}: the workflow's default token must grant nothing"
        for job_name, job in jobs(name).items():
            assert "permissions" in job, f"{name} job {job_name} states no permissions"
            grants = job["permissions"]
            assert isinstance(grants, dict), f"{name} job {job_name}: permissions must be listed scope by scope"
            writes = {scope for scope, level in grants.items() if level == "write"} - {"id-token"}
            assert writes == WRITE_GRANTS.get((name, job_name), set()), f"{name} job {job_name} writes {writes}"
            if grants.get("id-token") == "write":
                assert environments(job), f"{name} job {job_name}: OIDC outside an environment has no scoped trust"


def test_deploys_wait_for_the_checks_of_the_same_run_one_at_a_time_per_stack() -> None:
    document = load(WORKFLOWS["deploy.yml"])
    assert not triggers(document) & {"pull_request", "pull_request_target", "workflow_run"}
    deploy_jobs = {name: job for name, job in document["jobs"].items() if "pulumi up" in text(job)}
    assert deploy_jobs
    for job_name, job in deploy_jobs.items():
        needs = job.get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        callers = [need for need in needs if called_workflow(document["jobs"][need]) == "checks.yml"]
        assert callers, f"deploy job {job_name} does not wait for the checks"
        assert environments(job) == {"production", "disaster-recovery"}
        concurrency = job["concurrency"]
        assert concurrency["cancel-in-progress"] is False
        assert "matrix.stack" in concurrency["group"], "one deploy at a time per stack"
        assert job["environment"].count("matrix.stack") == 1


def test_preflight_runs_every_committed_stack_and_preview_the_cloud_ones() -> None:
    committed = {path.name.split(".")[1] for path in ROOT.glob("Pulumi.*.yaml")}
    preflight = jobs("checks.yml")["preflight"]
    assert set(preflight["strategy"]["matrix"]["stack"]) == committed
    assert "--format markdown" in text(preflight)
    preview = jobs("pull-request.yml")["preview"]
    assert SAME_REPO_GUARD in preview["if"]
    assert {entry["stack"] for entry in preview["strategy"]["matrix"]["include"]} == {"prod", "dr"}
    drift = load(WORKFLOWS["drift.yml"])
    assert "schedule" in triggers(drift)
    assert {entry["stack"] for entry in drift["jobs"]["drift"]["strategy"]["matrix"]["include"]} == {"prod", "dr"}
    assert "--expect-no-changes --refresh" in text(drift["jobs"]["drift"])


def test_the_slow_make_targets_run_on_a_schedule_of_their_own() -> None:
    # Too slow for every pull request, so not part of `make test`: each has a weekly workflow.
    for target, workflow in (("mutation", "mutation.yml"), ("benchmark", "benchmark.yml")):
        document = load(WORKFLOWS[workflow])
        assert {"schedule", "workflow_dispatch"} <= triggers(document), workflow
        runs = [step.get("run", "") for job in document["jobs"].values() for step in job["steps"]]
        assert any(re.search(rf"^make {target}\b", run, re.M) for run in runs), workflow
        assert f"\n{target}: $(VENV)/.installed\n" in (ROOT / "Makefile").read_text(encoding="utf-8")


def test_every_pulumi_run_enforces_the_policy_pack_with_the_stack_config() -> None:
    commands = 0
    for path in WORKFLOWS.values():
        joined = path.read_text(encoding="utf-8").replace("\\\n", " ")
        for command in re.findall(r"^\s*(?:PATH=\S+ )?pulumi (?:preview|up)\b.*$", joined, re.M):
            commands += 1
            assert "--policy-pack policies" in command, command
            assert '--policy-pack-config "policies/config/$STACK.json"' in command, command
            assert '--stack "organization/ziggie-infra/$STACK"' in command, command
    assert commands == 3


def test_every_install_checks_hashes_against_the_lock() -> None:
    sources = [*WORKFLOWS.values(), *ACTIONS.values(), ROOT / "Makefile", ROOT / ".ci" / "run"]
    installs = 0
    for path in sources:
        # What runs, not what a comment says about it.
        code = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#")]
        for line in code:
            if "pip install" in line:
                installs += 1
                assert re.search(r"--require-hashes -r (\$\(LOCK\)|requirements\.lock\b)", line), f"{path.name}: {line}"
            # `pulumi install` resolves the pack's requirements unhashed; the pack's venv comes from its lock.
            assert "pulumi install" not in line, f"{path.name}: {line}"
    assert "\nLOCK := requirements.lock\n" in (ROOT / "Makefile").read_text(encoding="utf-8")
    assert installs >= 3


def test_the_pulumi_cli_is_the_version_of_the_pinned_sdk() -> None:
    pins = dict(
        line.split("==", 1)
        for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    )
    steps = load(ACTIONS["pulumi-setup"])["runs"]["steps"]
    installs = [step for step in steps if step.get("uses", "").startswith("pulumi/actions@")]
    assert [step["with"] for step in installs] == [{"pulumi-version": pins["pulumi"]}]


def test_ci_script_lints_then_runs_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in (ROOT / "README.md").read_text(encoding="utf-8")
    lint, test = script.find("\nmake lint"), script.find("\nmake test")
    assert 0 < lint < test, ".ci/run must run `make lint`, then `make test`"


def test_every_job_that_runs_the_pack_builds_its_environment_first() -> None:
    runners = set()
    for name in WORKFLOWS:
        for workflow, job_name, job, _ in runnable_jobs(name):
            steps = [text(step) for step in job.get("steps", [])]
            runs = [i for i, step in enumerate(steps) if re.search(r"pulumi (preview|up)\b|-m preflight\b", step)]
            if not runs:
                continue
            runners.add((workflow, job_name))
            builds = [
                i
                for i, step in enumerate(steps)
                if "$/.github/actions/pulumi-setup" in step or "pipeline.policy_env" in step
            ]
            assert builds and builds[0] < runs[0], f"{workflow} job {job_name} runs the pack before building its venv"
    assert len(runners) == 4, "preflight, preview, deploy and drift"
