"""The pack as a whole: its inventory, how it starts, and the per-stack config files."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import grpc  # type: ignore[import-untyped]
import pytest
import ziggie_policies
from google.protobuf import empty_pb2  # type: ignore[import-untyped]
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_policy import Policy

from preflight.analyzer import (
    PolicyPackSession,
    load_policy_config,
    reconcile_policy_config,
)

PACK_DIR = Path(__file__).resolve().parents[2] / "policies"

# The pack's contents: (name, enforcement level, kind). secrets-not-plaintext runs at
# "remediate" because only that pass shows secret markers; its violations are mandatory.
EXPECTED = [
    ("bucket-protection", "mandatory", "stack"),
    ("bucket-replication", "mandatory", "stack"),
    ("cdn-backend-bucket", "mandatory", "resource"),
    ("cloud-budgets", "mandatory", "stack"),
    ("container-limits", "mandatory", "resource"),
    ("cost-budget", "mandatory", "stack"),
    ("failover-health-check", "mandatory", "stack"),
    ("failover-probe-target", "mandatory", "stack"),
    ("healthcheck-required", "mandatory", "resource"),
    ("host-allocation", "mandatory", "stack"),
    ("http-redirect-only", "mandatory", "stack"),
    ("no-privileged", "mandatory", "resource"),
    ("pinned-images", "mandatory", "resource"),
    ("secret-replication", "mandatory", "resource"),
    ("secrets-not-plaintext", "remediate", "resource"),
    ("service-reachability", "mandatory", "stack"),
    ("stack-environment", "mandatory", "stack"),
]


def _module_policies() -> dict[str, Policy]:
    found: dict[str, Policy] = {}
    for module_info in pkgutil.iter_modules(ziggie_policies.__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"ziggie_policies.{module_info.name}")
        found[module_info.name] = module.policy
    return found


def test_inventory_through_get_analyzer_info(pack_session: PolicyPackSession) -> None:
    info = pack_session.info
    assert info.name == "ziggie-guardrails"
    assert [(p.name, p.enforcement, p.kind) for p in info.policies.values()] == EXPECTED


def test_every_policy_module_is_in_the_pack_once_with_its_module_name(pack_session: PolicyPackSession) -> None:
    policies = _module_policies()
    names = [p.name for p in policies.values()]
    assert len(names) == len(set(names)), names
    assert {module: p.name for module, p in policies.items()} == {
        module: module.replace("_", "-") for module in policies
    }
    assert sorted(names) == list(pack_session.info.policies)


@pytest.mark.parametrize("module", sorted(_module_policies()))
def test_policy_metadata(module: str) -> None:
    policy = _module_policies()[module]
    assert policy.enforcement_level is not None, module
    # One sentence that says what is required or prohibited.
    assert policy.description.startswith(("Requires ", "Prohibits ")), policy.description
    assert policy.description.endswith(".") and ". " not in policy.description, policy.description
    assert policy.config_schema is not None, f"{module} is configurable and needs a config_schema"


def test_pack_starts_under_the_language_hosts_command_and_prints_its_port_first() -> None:
    # The engine address is parsed but unused by pulumi-policy 1.21.0, so a dead one still starts.
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(PACK_DIR)],
        cwd=PACK_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().decode()
        assert first.strip().isdigit(), (first, process.stderr.read().decode() if process.poll() is not None else "")
        with grpc.insecure_channel(f"127.0.0.1:{int(first)}") as channel:
            info = analyzer_pb2_grpc.AnalyzerStub(channel).GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
        assert info.name == "ziggie-guardrails"
    finally:
        process.terminate()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.parametrize("stack", ["dev", "prod", "dr"])
def test_stack_config_files_are_valid(pack_session: PolicyPackSession, stack: str) -> None:
    path = PACK_DIR / "config" / f"{stack}.json"
    settings = reconcile_policy_config(pack_session.info.policies, load_policy_config(path, pack_session.info.policies))
    levels = {name: s.enforcement for name, s in settings.items()}
    assert levels["healthcheck-required"] == ("advisory" if stack == "dev" else "mandatory")
    # prod and dr run the exporters: redis_exporter's scratch image has nothing to probe with;
    # prod's promtail reads the Docker socket for its service discovery.
    assert set(settings["healthcheck-required"].properties["exempt"]) == {"watchtower", "certbot"} | (
        {"redis-exporter"} if stack in ("prod", "dr") else set()
    )
    assert set(settings["no-privileged"].properties["allowed"]) == {"cadvisor", "portainer", "watchtower"} | (
        {"promtail"} if stack == "prod" else set()
    )
    hosts = {name: h["dockerHost"] for name, h in settings["host-allocation"].properties["hosts"].items()}
    assert (
        hosts
        == {
            "dev": {"workstation": "unix:///var/run/docker.sock"},
            "prod": {"vps1": "ssh://deploy@203.0.113.10", "vps2": "ssh://deploy@203.0.113.11"},
            "dr": {"dr1": "ssh://deploy@198.51.100.20"},
        }[stack]
    )
    assert settings["host-allocation"].properties["cpuOvercommit"] == (1.3 if stack == "prod" else 1.0)
    # Only prod holds the DR copies: dev and dr have nothing to replicate.
    replicated = stack == "prod"
    kept = {"ziggie-prod-backups"} if replicated else set()
    assert {k: v for k, v in settings["bucket-replication"].properties.items() if k != "keepDeletions"} == {
        "requireReplication": replicated,
        "exempt": {},
    }
    assert set(settings["bucket-replication"].properties["keepDeletions"]) == kept
    assert settings["secret-replication"].properties == {
        "requireReplication": replicated,
        "drRegion": "eu-west-1" if replicated else "",
    }
    assert settings["bucket-protection"].properties == {"exempt": {}}
    # dr's SECONDARY has its own health check, so dr demands it.
    assert settings["failover-health-check"].properties == {"requireSecondaryHealthCheck": stack == "dr"}
    assert {levels[name] for name in ("bucket-protection", "bucket-replication", "secret-replication")} == {"mandatory"}
    assert levels["failover-health-check"] == "mandatory"
