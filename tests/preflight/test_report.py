"""preflight.report: verdict first in every format, a reader can tell the pack ran, and the
Markdown of a 210-service prod fits in one GitHub comment."""

from __future__ import annotations

import dataclasses
import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from preflight_cli import run_preflight

from benchmarks.preflight_scale import synthetic_stack_file
from config.loader import PROJECT
from preflight.analyzer import PackRun, Violation, run_pack
from preflight.cost import cost_estimate
from preflight.report import (
    GITHUB_COMMENT_LIMIT,
    MARKDOWN_LIMIT,
    OUTPUT_VALUE_CHARS,
    Report,
    render,
    render_json,
    render_markdown,
    render_text,
)
from preflight.runner import PROJECT_DIR, PlanResult, run_stack

PACK_DIR = PROJECT_DIR / "policies"
VPS1 = "urn:pulumi:prod::ziggie-infra::ziggie:docker:Host$pulumi:providers:docker::vps1-docker"


@pytest.fixture(scope="module")
def prod() -> PlanResult:
    return run_stack("prod")


@pytest.fixture(scope="module")
def prod_pack(prod: PlanResult) -> PackRun:
    return run_pack(PACK_DIR, PACK_DIR / "config" / "prod.json", prod.resources, stack="prod", project=PROJECT)


def _failing(pack: PackRun) -> PackRun:
    return dataclasses.replace(
        pack,
        violations=[
            Violation("pinned-images", "advisory", VPS1, "an advisory finding"),
            Violation("host-allocation", "mandatory", VPS1, "host vps1: memory limits 16.00 GiB exceed the pool"),
        ],
    )


def test_text_starts_with_the_verdict_and_names_the_pack_that_ran(prod: PlanResult, prod_pack: PackRun) -> None:
    lines = render_text(Report(prod, prod_pack)).splitlines()
    policies = len(prod_pack.policies)
    assert lines[0] == (
        f"preflight prod: PASS · {len(prod.resources)} resources · policy pack ziggie-guardrails "
        f"0.1.0: {policies} of {policies} policies run · 0 mandatory, 0 advisory violations"
    )
    assert lines[2].startswith(f"  policy pack ran with {sys.executable} (PREFLIGHT_POLICY_PYTHON)")


def test_text_without_the_pack_says_it_did_not_run(prod: PlanResult) -> None:
    text = render_text(Report(prod, None))
    assert (
        text.splitlines()[0]
        == f"preflight prod: UNCHECKED · {len(prod.resources)} resources · policy pack not run (--no-policy)"
    )
    assert "policy pack ran with" not in text


def test_text_order_is_verdict_violations_hosts_resources_outputs(prod: PlanResult, prod_pack: PackRun) -> None:
    text = render_text(Report(prod, _failing(prod_pack)))
    assert text.startswith("preflight prod: FAIL ·")
    assert "· 1 mandatory, 1 advisory violations" in text.splitlines()[0]
    positions = [
        text.index("\nviolations\n"),
        text.index("\nhost vps1 (ssh://deploy@203.0.113.10)"),
        text.index("\nziggie:docker:Host vps1 ("),
        text.index("\noutputs\n"),
    ]
    assert positions == sorted(positions)
    violations = text[positions[0] : positions[1]].splitlines()
    assert "mandatory" in violations[3] and "advisory" in violations[4], "mandatory violations come first"


def test_outputs_are_yaml_with_long_values_cut(prod: PlanResult) -> None:
    long = "x" * 300
    plan = dataclasses.replace(prod, outputs={**prod.outputs, "long": {"value": long}})
    text = render_text(Report(plan, None))
    assert "\n  environment: prod\n" in text
    assert "\n  hosts:\n    vps1:\n" in text
    assert f"value: {'x' * (OUTPUT_VALUE_CHARS - 1)}… ({300 - OUTPUT_VALUE_CHARS + 1} more characters)" in text
    assert long not in text
    assert "{'" not in text, "outputs are YAML, not Python reprs"


def test_estimated_cost_appears_in_the_verdict_when_known(prod: PlanResult, prod_pack: PackRun) -> None:
    estimate = cost_estimate(prod.resources, PACK_DIR / "config" / "prod.json")
    assert estimate is not None
    report = Report(prod, prod_pack, cost=estimate)
    total = Decimal(estimate["totalUsd"])
    text = render_text(report)
    assert text.splitlines()[0].endswith(f" · estimated ${total:,.2f}/month")
    assert "estimated monthly cost" in text
    assert render_json(report)["verdict"]["estimatedMonthlyCostUsd"] == estimate["totalUsd"]
    assert render_json(report)["costEstimate"] == estimate
    assert "#### Estimated monthly cost" in render_markdown(report)
    assert render_json(Report(prod, prod_pack))["verdict"]["estimatedMonthlyCostUsd"] is None


def test_json_puts_the_verdict_first(prod: PlanResult, prod_pack: PackRun) -> None:
    document = json.loads(render(Report(prod, _failing(prod_pack)), "json"))
    assert next(iter(document)) == "verdict"
    verdict = document["verdict"]
    assert verdict["status"] == "FAIL"
    assert verdict["violations"] == {"mandatory": 1, "advisory": 1}
    assert verdict["policyPack"]["name"] == "ziggie-guardrails"
    # Every policy of the pack ran (none was disabled by prod's policy config).
    assert verdict["policyPack"]["policiesRun"] == len(verdict["policyPack"]["policies"]) > 0
    assert [v["enforcement"] for v in document["violations"]] == ["mandatory", "advisory"]
    assert render_json(Report(prod, None))["verdict"]["policyPack"] is None


def test_markdown_verdict_first_resources_collapsed(prod: PlanResult, prod_pack: PackRun) -> None:
    text = render_markdown(Report(prod, _failing(prod_pack)))
    assert text.startswith("### preflight prod: FAIL · ")
    assert text.index("#### Violations") < text.index("#### Hosts") < text.index("#### Resources by component")
    assert text.index("#### Resources by component") < text.index("#### Outputs")
    assert "<details><summary>ziggie:docker:Host vps1 (" in text
    assert "| mandatory | host-allocation | vps1-docker | host vps1: memory limits 16.00 GiB exceed the pool |" in text
    assert "not listed to stay under" not in text, "prod at 21 services is listed whole"


def test_markdown_never_shows_a_secret(prod: PlanResult, prod_pack: PackRun) -> None:
    text = render_markdown(Report(prod, prod_pack))
    assert "preflight-secret-" not in text


@pytest.fixture(scope="module")
def prod_210(tmp_path_factory: pytest.TempPathFactory) -> Report:
    path = synthetic_stack_file(210, tmp_path_factory.mktemp("scale"))
    plan = run_stack("prod", path)
    pack = run_pack(PACK_DIR, PACK_DIR / "config" / "prod.json", plan.resources, stack="prod", project=PROJECT)
    return Report(plan, pack)


def test_markdown_of_prod_at_210_services_fits_one_comment(prod_210: Report) -> None:
    containers = [r for r in prod_210.plan.resources if r.type == "docker:index/container:Container"]
    cfg = prod_210.plan.config
    assert len(cfg.enabled_services()) == 210
    # The everyHost agents run once on each host.
    assert len(containers) == sum(len(cfg.hosts_of(name)) for name in cfg.enabled_services()) > 210
    full = render_text(prod_210)
    text = render_markdown(prod_210)
    assert len(full) > GITHUB_COMMENT_LIMIT, "the stack must be big enough to need cutting"
    assert len(text) <= MARKDOWN_LIMIT < GITHUB_COMMENT_LIMIT
    assert text.startswith(f"### preflight prod: FAIL · {len(prod_210.plan.resources)} resources · policy pack ")
    # The verdict, every violation (65 here) and every host table survive whole.
    for v in prod_210.violations:
        assert v.message.replace("|", "\\|") in text
    hosts = {r.parent for r in containers}
    assert text.count("**host vps") == len(hosts) > 1
    # What is cut is counted: listed rows plus the counted rest are every grouped resource.
    cut = [line for line in text.splitlines() if line.startswith("… ") and "more resources in" in line]
    assert len(cut) == 1
    listed = text.count("\n| docker:") + text.count("\n| pulumi:providers:")
    not_listed = int(cut[0].split()[1])
    grouped = sum(1 for r in prod_210.plan.resources if r.parent and "ziggie:docker:Host" in r.parent)
    assert listed + not_listed == grouped
    assert "more lines, cut to stay under the comment size limit" in text


@pytest.mark.parametrize("limit", [20_000, 8_000])
def test_markdown_respects_a_smaller_budget(prod_210: Report, limit: int) -> None:
    text = render_markdown(prod_210, limit)
    assert len(text) <= limit
    assert text.startswith("### preflight prod: FAIL · ")


def test_json_flag_is_format_json() -> None:
    alias = run_preflight("--stack", "dev", "--json", "--no-policy")
    long = run_preflight("--stack", "dev", "--format", "json", "--no-policy")
    assert alias.returncode == long.returncode == 0, alias.stderr + long.stderr
    assert json.loads(alias.stdout) == json.loads(long.stdout)
    assert json.loads(alias.stdout)["verdict"]["status"] == "UNCHECKED"


def test_cli_markdown_with_the_pack(tmp_path: Path) -> None:
    result = run_preflight("--stack", "dev", "--format", "markdown")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("### preflight dev: PASS · ")
    assert "policies run" in result.stdout.splitlines()[0]
