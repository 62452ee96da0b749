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
