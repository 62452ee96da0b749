"""preflight with the policy pack: the committed stacks are clean, and the two deploys the
guardrails exist for (a floating tag, ollama moved onto host 1) fail with exact figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from preflight_cli import run_preflight

from preflight.runner import PROJECT_DIR

PROD = (PROJECT_DIR / "Pulumi.prod.yaml").read_text()
VPS1_PROVIDER = "urn:pulumi:prod::ziggie-infra::ziggie:docker:Host$pulumi:providers:docker::vps1-docker"


def preflight(*args: str) -> tuple[int, dict[str, Any], str]:
    result = run_preflight("--json", *args)
    return result.returncode, json.loads(result.stdout) if result.stdout else {}, result.stderr


def variant(tmp_path: Path, old: str, new: str) -> Path:
    assert old in PROD, f"the prod stack file no longer contains {old!r}"
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(PROD.replace(old, new, 1))
    return path


@pytest.mark.parametrize("stack", ["dev", "prod", "dr"])
def test_committed_stacks_have_no_mandatory_violation(stack: str) -> None:
    code, document, stderr = preflight("--stack", stack)
    assert code == 0, stderr
    assert [v for v in document["violations"] if v["enforcement"] == "mandatory"] == []


def test_floating_tag_fails_preflight(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        "    ollama:\n      host: vps2\n",
        "    ollama:\n      host: vps2\n    postgres:\n      image: postgres:latest\n",
    )
    code, document, _ = preflight("--stack", "prod", "--config-file", str(path))
    assert code == 1
    # The container runs the tracked tag's image ID; the remote image carries the reference,
    # and prod demands a digest on it.
    assert {(v["policy"], v["message"]) for v in document["violations"]} == {
        (
            "pinned-images",
            'remote image vps1-postgres-image: image "postgres:latest" has no digest; '
            "requireDigest demands a pin by digest (@sha256:...)",
        ),
    }


def test_prod_requires_a_digest_on_its_own_images(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        "ghcr.io/ziggie-ai/sim-studio:1.4.2@sha256:3333333333333333333333333333333333333333333333333333333333333333",
        "ghcr.io/ziggie-ai/sim-studio:1.4.2",
    )
    code, document, _ = preflight("--stack", "prod", "--config-file", str(path))
    assert code == 1
    # The tag is tracked (the container runs its image ID), but prod allows that for the runner only.
    runs = next(r for r in document["resources"] if r["name"] == "vps2-sim-studio")["inputs"]["image"]
    assert runs.startswith("sha256:"), runs
    assert [(v["policy"], v["message"]) for v in document["violations"]] == [
        (
            "pinned-images",
            'remote image vps2-sim-studio-image: image "ghcr.io/ziggie-ai/sim-studio:1.4.2" has no digest; '
            "requireDigest demands a pin by digest (@sha256:...)",
        )
    ]


def test_ollama_on_host_1_overcommits_it(tmp_path: Path) -> None:
    path = variant(tmp_path, "    ollama:\n      host: vps2\n", "    ollama:\n      host: vps1\n")
    code, document, _ = preflight("--stack", "prod", "--config-file", str(path))
    assert code == 1
    assert document["violations"] == [
        {
            "policy": "host-allocation",
            "enforcement": "mandatory",
            "urn": VPS1_PROVIDER,
            "message": "host vps1 (ssh://deploy@203.0.113.10): CPU limits 5.27 vCPU exceed 4.55 vCPU, the 3.50 vCPU "
            "pool (4.00 vCPU - 0.50 vCPU reserve) x 1.30 overcommit; largest: ziggie-api 1.00 vCPU, "
            "mcp-gateway 0.80 vCPU, ollama 0.80 vCPU",
        },
        {
            "policy": "host-allocation",
            "enforcement": "mandatory",
            "urn": VPS1_PROVIDER,
            "message": "host vps1 (ssh://deploy@203.0.113.10): memory limits 16.00 GiB exceed the 14.00 GiB pool "
            "(16.00 GiB - 2.00 GiB reserve); largest: ollama 4.00 GiB, postgres 3.00 GiB, ziggie-api 2.00 GiB",
        },
    ]


def test_policy_config_typo_exits_2(tmp_path: Path) -> None:
    config = json.loads((PROJECT_DIR / "policies" / "config" / "prod.json").read_text())
    config["pinned-images"]["requireDigests"] = True
    path = tmp_path / "prod.json"
    path.write_text(json.dumps(config))
    code, _, stderr = preflight("--stack", "prod", "--policy-config", str(path))
    assert code == 2
    assert "requireDigests" in stderr
    assert "Traceback" not in stderr


def test_backup_copy_that_replicates_deletions_is_only_allowed_by_name(tmp_path: Path) -> None:
    """Through preflight and the analyzer protocol: prod's backups rule keeps deletions out of the
    DR copy, which bucket-replication accepts only because the policy config names the bucket."""
    config = json.loads((PROJECT_DIR / "policies" / "config" / "prod.json").read_text())
    config["bucket-replication"]["keepDeletions"] = {}
    path = tmp_path / "prod.json"
    path.write_text(json.dumps(config))
    code, document, _ = preflight("--stack", "prod", "--policy-config", str(path))
    assert code == 1
    assert [(v["policy"], v["message"]) for v in document["violations"]] == [
        (
            "bucket-replication",
            'bucket ziggie-prod-backups (eu-north-1): replication rule "replicate-everything" does not replicate '
            'delete markers (status "Disabled"); set deleteMarkerReplication.status to Enabled',
        )
    ]


def _container_urn(host: str, name: str) -> str:
    return f"urn:pulumi:prod::ziggie-infra::ziggie:docker:Host$docker:index/container:Container::{host}-{name}"


def test_need_on_a_service_not_deployed_fails_preflight(tmp_path: Path) -> None:
    path = variant(tmp_path, "    ollama:\n      host: vps2\n", "    ollama:\n      enabled: false\n")
    code, document, _ = preflight("--stack", "prod", "--config-file", str(path))
    assert code == 1
    assert sorted((v["policy"], v["urn"], v["message"]) for v in document["violations"]) == [
        (
            "service-reachability",
            _container_urn("vps1", "ziggie-api"),
            "container ziggie-api needs ollama, which this stack does not deploy",
        ),
        (
            "service-reachability",
            _container_urn("vps2", "open-webui"),
            "container open-webui needs ollama, which this stack does not deploy",
        ),
    ]


def test_hosts_without_the_swarm_cannot_reach_each_other(tmp_path: Path) -> None:
    path = variant(tmp_path, "      swarm: manager\n", "")
    path.write_text(path.read_text().replace("      swarm: worker\n", "", 1))
    code, document, _ = preflight("--stack", "prod", "--config-file", str(path))
    assert code == 1
    unreachable = sorted(
        (v["urn"].rsplit("::", 1)[-1], v["message"].split(" (")[0])
        for v in document["violations"]
        if v["policy"] == "service-reachability"
    )
    # Each host has its own bridge: every need that crosses hosts fails, both ways (open-webui
    # sits beside ollama on vps2, so its need stays on one host).
    assert unreachable == [
        ("vps1-ziggie-api", "container ziggie-api needs ollama, but they share no network"),
        ("vps2-promtail", "container promtail-vps2 needs loki, but they share no network"),
    ]


def test_budget_below_prods_fixed_costs_fails_preflight_with_the_figures(tmp_path: Path) -> None:
    config = json.loads((PROJECT_DIR / "policies" / "config" / "prod.json").read_text())
    config["cost-budget"]["monthlyBudgetUsd"] = 50
    path = tmp_path / "prod.json"
    path.write_text(json.dumps(config))
    code, document, _ = preflight("--stack", "prod", "--policy-config", str(path))
    assert code == 1
    largest = "largest fixed: Docker hosts (hostinger-kvm-4) 24.00, GCP global forwarding rules 18.25, KMS keys 4.00"
    assert [(v["policy"], v["enforcement"], v["message"]) for v in document["violations"]] == [
        (
            "cost-budget",
            "mandatory",
            "stack prod: estimated monthly cost 81.62 USD exceeds its budget of 50.00 USD (fixed 56.60, usage 25.02); "
            + largest,
        ),
        (
            "cost-budget",
            "mandatory",
            "stack prod: fixed monthly costs 56.60 USD exceed 80.00 % of the 50.00 USD budget (40.00 USD); " + largest,
        ),
    ]
    estimate = document["costEstimate"]
    assert (estimate["totalUsd"], estimate["fixedUsd"], estimate["budgetUsd"]) == ("81.62", "56.60", "50")


def test_prod_preflight_prints_the_estimate_line_by_line() -> None:
    result = run_preflight("--stack", "prod")
    assert result.returncode == 0, result.stderr
    # The section runs from its title to the next blank line.
    section = result.stdout.split("\nestimated monthly cost\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert section[0] == "  Docker hosts (hostinger-kvm-4): 2 host = 24.00 USD"
    assert "  GCP global forwarding rules: 4 rule = 18.25 USD [first 5 billed together]" in section
    assert section[-1] == "  total 81.62 USD a month (fixed 56.60, usage 25.02) against a budget of 100.00 USD"


def test_dr_without_its_aws_budget_fails_cloud_budgets(tmp_path: Path) -> None:
    text = (PROJECT_DIR / "Pulumi.dr.yaml").read_text()
    budgets = "    budgets: true\n"
    section = '  ziggie-infra:budgets:\n    aws:\n      monthlyUsd: "20"\n'
    assert budgets in text and section in text, "the dr stack file no longer switches its AWS budget on this way"
    path = tmp_path / "Pulumi.dr.yaml"
    path.write_text(text.replace(budgets, "", 1).replace(section, "", 1))
    code, document, stderr = preflight("--stack", "dr", "--config-file", str(path))
    assert code == 1, stderr
    assert [(v["policy"], v["message"]) for v in document["violations"]] == [
        (
            "cloud-budgets",
            "stack uses AWS (8 resource kinds, e.g. aws:cloudwatch/metricAlarm:MetricAlarm) but has no AWS budget",
        )
    ]


def test_prod_saying_it_is_dev_fails_stack_environment(tmp_path: Path) -> None:
    """The root stack's exports reach AnalyzeStack, as the engine sends them: `environment: dev` in prod fails."""
    path = variant(tmp_path, "ziggie-infra:environment: prod\n", "ziggie-infra:environment: dev\n")
    code, document, _ = preflight("--stack", "prod", "--config-file", str(path))
    assert code == 1
    assert [(v["policy"], v["message"]) for v in document["violations"] if v["enforcement"] == "mandatory"] == [
        (
            "stack-environment",
            'stack prod: environment is "dev" but the stack\'s name says "prod"; what the program protects '
            "follows the environment",
        )
    ]


def test_prod_without_dr_copies_fails_stack_environment(tmp_path: Path) -> None:
    """Empty buckets and replicated secrets in prod: the program is valid, prod's policy config demands DR."""
    settings = PROD[PROD.index("    bucketSettings:\n") : PROD.index("    encryption: aws:kms\n")]
    text = PROD.replace(settings, "", 1).replace("    buckets: [assets, backups]\n", "    buckets: []\n", 1)
    start = text.index("    replicatedSecrets: [")
    text = text[:start] + "    replicatedSecrets: []\n" + text[text.index("\n", start) + 1 :]
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(text)
    code, document, _ = preflight("--stack", "prod", "--config-file", str(path))
    assert code == 1
    assert [(v["policy"], v["message"]) for v in document["violations"]] == [
        (
            "stack-environment",
            "stack prod: requireDr is set but no S3 bucket is replicated (is cloud.awsDr off or buckets empty?)",
        ),
        (
            "stack-environment",
            "stack prod: requireDr is set but no Secrets Manager secret has a replica "
            "(is cloud.awsDr off or secrets empty?)",
        ),
    ]


def test_second_host_spelt_as_the_first_daemon_sums_on_one_pool(tmp_path: Path) -> None:
    """vps2 declared with vps1's daemon in another spelling: both hosts' containers land on vps1's pool."""
    path = variant(tmp_path, "dockerHost: ssh://deploy@203.0.113.11", "dockerHost: ssh://DEPLOY@203.0.113.10:22")
    code, document, _ = preflight("--stack", "prod", "--config-file", str(path))
    assert code == 1
    where = "host vps1 (ssh://deploy@203.0.113.10), also written ssh://DEPLOY@203.0.113.10:22"
    assert sorted((v["policy"], v["urn"], v["message"]) for v in document["violations"]) == [
        (
            "host-allocation",
            VPS1_PROVIDER,
            f"{where}: CPU limits 6.92 vCPU exceed 4.55 vCPU, the 3.50 vCPU pool (4.00 vCPU - 0.50 vCPU reserve) "
            "x 1.30 overcommit; largest: ziggie-api 1.00 vCPU, mcp-gateway 0.80 vCPU, ollama 0.80 vCPU",
        ),
        (
            "host-allocation",
            VPS1_PROVIDER,
            f"{where}: memory limits 20.25 GiB exceed the 14.00 GiB pool (16.00 GiB - 2.00 GiB reserve); "
            "largest: ollama 4.00 GiB, postgres 3.00 GiB, ziggie-api 2.00 GiB",
        ),
    ]
