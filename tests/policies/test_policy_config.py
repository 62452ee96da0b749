"""Typos in policy config are errors: in preflight's reader, and in the pack itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from policy_fixtures import container, on_host, run_direct
from pulumi.runtime.proto import analyzer_pb2
from ziggie_policies import (
    container_limits,
    healthcheck_required,
    host_allocation,
    no_privileged,
    pinned_images,
    secrets_not_plaintext,
    service_reachability,
)
from ziggie_policies._support import PolicyConfigError as PackConfigError

from preflight.analyzer import (
    AnalyzerError,
    PolicyConfigError,
    PolicyPackSession,
    analyze,
    load_policy_config,
)

PACK_DIR = Path(__file__).resolve().parents[2] / "policies"
KNOWN = (
    "all, bucket-protection, bucket-replication, cdn-backend-bucket, cloud-budgets, container-limits, cost-budget, "
    "failover-health-check, failover-probe-target, healthcheck-required, host-allocation, http-redirect-only, "
    "no-privileged, pinned-images, secret-replication, secrets-not-plaintext, service-reachability, "
    "stack-environment"
)
HOST_KEYS = "cpus, dockerHost, memoryGiB, reserveCpus, reserveMemoryGiB"
KVM4 = {"memoryGiB": 16, "cpus": 4, "reserveMemoryGiB": 2, "reserveCpus": 0.5}

CASES = [
    pytest.param({"pinned-image": {}}, [f"pinned-image: unknown policy (known: {KNOWN})"], id="unknown_policy"),
    pytest.param(
        {"pinned-images": {"floatingTag": ["latest"]}},
        [
            "pinned-images.floatingTag: unknown property (known: allowBareMajor, floatingTagPatterns, floatingTags, requireDigest, trackedTags)"
        ],
        id="unknown_top_level_property",
    ),
    pytest.param(
        {
            "host-allocation": {
                "hosts": {
                    "vps1": {
                        "dockerHost": "ssh://x",
                        "memoryGb": 16,
                        "cpus": 4,
                        "reserveMemoryGiB": 2,
                        "reserveCpus": 0.5,
                    }
                }
            }
        },
        [
            f"host-allocation.hosts.vps1.memoryGb: unknown property (known: {HOST_KEYS})",
            "host-allocation.hosts.vps1: 'memoryGiB' is a required property",
        ],
        id="nested_typo_is_unknown_and_leaves_a_required_key_missing",
    ),
    pytest.param(
        {"host-allocation": {"cpuOvercommit": "1.3"}},
        ["host-allocation.cpuOvercommit: '1.3' is not of type 'number'"],
        id="wrong_type",
    ),
    pytest.param(
        {"host-allocation": {"defaultHost": {**KVM4, "cpus": 0}}},
        ["host-allocation.defaultHost.cpus: 0 is less than or equal to the minimum of 0"],
        id="out_of_range",
    ),
    pytest.param(
        {"pinned-images": {"floatingTags": [1]}},
        ["pinned-images.floatingTags[0]: 1 is not of type 'string'"],
        id="wrong_item_type",
    ),
    pytest.param(
        {"healthcheck-required": {"exempt": {"watchtower": ""}}},
        ["healthcheck-required.exempt.watchtower: '' should be non-empty"],
        id="exemption_needs_a_reason",
    ),
    pytest.param(
        {"no-privileged": "strict"},
        ['no-privileged: "strict" is not an enforcement level (advisory, mandatory, remediate, disabled)'],
        id="invalid_enforcement_level",
    ),
    pytest.param(
        {"no-privileged": {"enforcementLevel": "warn"}},
        [
            'no-privileged.enforcementLevel: "warn" is not an enforcement level (advisory, mandatory, remediate, disabled)'
        ],
        id="invalid_enforcement_level_in_object",
    ),
    pytest.param(
        {"container-limits": {"memory": 1}},
        ["container-limits.memory: unknown property (known: allowSwap)"],
        id="property_unknown_to_container_limits",
    ),
    pytest.param(
        {"all": {"floatingTags": []}},
        ["all.floatingTags: unknown property (known: enforcementLevel)"],
        id="all_takes_only_a_level",
    ),
    pytest.param(
        {"pinned-images": 3},
        ["pinned-images: must be an enforcement level or an object, not 3"],
        id="neither_level_nor_object",
    ),
]


@pytest.mark.parametrize(("document", "errors"), CASES)
def test_config_errors_name_file_key_path_and_problem(
    pack_session: PolicyPackSession, tmp_path: Path, document: dict[str, Any], errors: list[str]
) -> None:
    path = tmp_path / "prod.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(PolicyConfigError) as caught:
        load_policy_config(path, pack_session.info.policies)
    assert caught.value.errors == tuple(f"{path}: {e}" for e in errors)


def test_valid_config_passes(pack_session: PolicyPackSession, tmp_path: Path) -> None:
    path = tmp_path / "ok.json"
    path.write_text(json.dumps({"all": "advisory", "pinned-images": {"requireDigest": True}}), encoding="utf-8")
    settings = load_policy_config(path, pack_session.info.policies)
    assert settings["pinned-images"].properties == {"requireDigest": True}
    assert settings["all"].enforcement == "advisory"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        pytest.param('{"pinned-images": ', "line 1 column 19: invalid JSON: Expecting value", id="invalid_json"),
        pytest.param('{"a": 1, "a": 2}', 'duplicate key "a"', id="duplicate_key"),
        pytest.param("[]", "must be a JSON object mapping policy names to their config", id="not_an_object"),
    ],
)
def test_unreadable_config(pack_session: PolicyPackSession, tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyConfigError) as caught:
        load_policy_config(path, pack_session.info.policies)
    assert str(caught.value) == f"{path}: {error}"


def test_analyze_rejects_a_bad_config_file(tmp_path: Path) -> None:
    path = tmp_path / "typo.json"
    path.write_text('{"no-privileged": {"alowed": {}}}', encoding="utf-8")
    with pytest.raises(PolicyConfigError, match=r"no-privileged\.alowed: unknown property \(known: allowed\)"):
        analyze(PACK_DIR, path, on_host("vps1"), timeout=60)


def test_pack_rejects_unknown_key_directly() -> None:
    with pytest.raises(PackConfigError) as caught:
        run_direct(pinned_images.policy, on_host("vps1", container("vps1", "app")), {"floatingTag": ["x"]})
    assert (
        str(caught.value)
        == "policy pinned-images: unknown config key 'floatingTag' (known: allowBareMajor, floatingTagPatterns, floatingTags, requireDigest, trackedTags)"
    )


@pytest.mark.parametrize(
    "policy",
    [
        container_limits.policy,
        healthcheck_required.policy,
        host_allocation.policy,
        no_privileged.policy,
        pinned_images.policy,
        secrets_not_plaintext.policy,
        service_reachability.policy,
    ],
    ids=lambda policy: policy.name,
)
def test_each_container_policy_names_itself_refusing_an_unknown_key(policy: Any) -> None:
    with pytest.raises(PackConfigError) as caught:
        run_direct(policy, on_host("vps1", container("vps1", "app")), {"typo": 1, "other": 2})
    known = ", ".join(sorted(policy.config_schema.properties))
    assert str(caught.value) == f"policy {policy.name}: unknown config key 'other', 'typo' (known: {known})"


def test_pack_rejects_unknown_key_sent_by_a_lenient_cli(pack_session: PolicyPackSession) -> None:
    """The CLI only checks declared properties; a top-level typo it lets through fails Analyze."""
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    request.policyConfig["pinned-images"].enforcementLevel = analyzer_pb2.MANDATORY
    request.policyConfig["pinned-images"].properties.update({"floatingTag": ["x"]})
    pack_session._call("Configure", request)  # what the CLI sends; preflight's reader would refuse it
    with pytest.raises(AnalyzerError, match=r"unknown config key 'floatingTag'"):
        pack_session.analyze_resources(on_host("vps1", container("vps1", "app")))
