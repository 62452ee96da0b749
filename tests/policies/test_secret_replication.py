"""secret-replication: every secret has a replica outside its own region where replication is required."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from policy_fixtures import (
    DR_REGION,
    PRIMARY_REGION,
    UNKNOWN,
    bucket,
    configure_leniently,
    failover_record,
    reader_errors,
    run_direct,
    sm_secret,
)
from ziggie_policies import secret_replication
from ziggie_policies._support import PolicyConfigError

from preflight.analyzer import AnalyzerError, PolicyPackSession
from preflight.records import RecordedResource

API_KEY = "secret ziggie/prod/api-key (eu-north-1)"
WITH_DR = {"requireReplication": True, "drRegion": "eu-west-1"}
REQUIRED = {"requireReplication": True}
TAIL = "add a replica in another region"


def _with(secret: RecordedResource, **inputs: Any) -> RecordedResource:
    """The secret with ``inputs`` replaced (None drops one), e.g. a replicas list the fixture would not build."""
    merged = {**secret.inputs, **inputs}
    return dataclasses.replace(secret, inputs={k: v for k, v in merged.items() if v is not None})


CASES = [
    pytest.param([sm_secret("ziggie/prod/api-key")], REQUIRED, [], id="replica_in_dr_region_passes"),
    pytest.param(
        [sm_secret("ziggie/prod/api-key", replicas=(PRIMARY_REGION, DR_REGION))],
        REQUIRED,
        [],
        id="one_replica_elsewhere_is_enough",
    ),
    pytest.param([sm_secret("ziggie/prod/api-key")], {}, [], id="required_by_default_and_met"),
    pytest.param(
        [sm_secret("ziggie/prod/api-key", replicas=())],
        REQUIRED,
        [f"{API_KEY}: not replicated; {TAIL}"],
        id="empty_replicas",
    ),
    pytest.param(
        [sm_secret("ziggie/prod/api-key", replicas=None)],
        {},
        [f"{API_KEY}: not replicated; {TAIL}"],
        id="no_replicas_input_required_by_default",
    ),
    pytest.param(
        [sm_secret("ziggie/prod/api-key", replicas=(PRIMARY_REGION,))],
        REQUIRED,
        [f"{API_KEY}: 1 replica, none outside eu-north-1; {TAIL}"],
        id="replica_in_its_own_region",
    ),
    pytest.param(
        [sm_secret("ziggie/prod/api-key", replicas=[{"region": PRIMARY_REGION}, {"kmsKeyId": "alias/x"}])],
        REQUIRED,
        [f"{API_KEY}: 2 replicas, none outside eu-north-1; {TAIL}"],
        id="replicas_in_its_own_region_or_without_one",
    ),
    pytest.param(
        [sm_secret("ziggie/prod/api-key", region=None, replicas=[{"kmsKeyId": "alias/x"}])],
        REQUIRED,
        [
            "secret ziggie/prod/api-key (no region set): names no region, so its replicas (none with a region set) "
            "may sit in its own region; set region on the secret, or drRegion in this policy's config"
        ],
        id="neither_secret_nor_replica_names_a_region",
    ),
    pytest.param(
        [sm_secret("ziggie/prod/api-key", region=None, replicas=("ap-south-1",))],
        REQUIRED,
        [
            "secret ziggie/prod/api-key (no region set): names no region, so its replicas (ap-south-1) may sit in "
            "its own region; set region on the secret, or drRegion in this policy's config"
        ],
        id="secret_without_region_fails_without_a_configured_dr_region",
    ),
    pytest.param(
        [sm_secret("ziggie/prod/api-key", region=None, replicas=("ap-south-1",))],
        WITH_DR,
        [
            "secret ziggie/prod/api-key (no region set): names no region and has no replica in the DR region "
            "eu-west-1 (replicas: ap-south-1); add one"
        ],
        id="secret_without_region_replicated_outside_the_dr_region",
    ),
    pytest.param(
        [sm_secret("ziggie/prod/api-key", region=None)], WITH_DR, [], id="secret_without_region_replicated_to_dr"
    ),
    pytest.param(
        [sm_secret("ziggie/prod/api-key", replicas=("us-east-1",))],
        WITH_DR,
        [
            "secret ziggie/prod/api-key (eu-north-1): no replica in the DR region eu-west-1 (replicas: us-east-1); add one"
        ],
        id="replica_elsewhere_but_not_in_the_dr_region",
    ),
    pytest.param([sm_secret("ziggie/prod/api-key")], WITH_DR, [], id="replica_in_the_configured_dr_region"),
    pytest.param(
        [sm_secret("ziggie/prod/api-key", replicas=())],
        {"requireReplication": False},
        [],
        id="not_required_in_dev_and_dr",
    ),
    pytest.param([sm_secret("ziggie/prod/api-key", replicas=UNKNOWN)], REQUIRED, [], id="replicas_unknown_skipped"),
    pytest.param(
        [sm_secret("ziggie/prod/api-key", replicas=(UNKNOWN,))],
        REQUIRED,
        [],
        id="replica_region_unknown_counts_as_elsewhere",
    ),
    pytest.param(
        [sm_secret("ziggie/prod/api-key", region=UNKNOWN)],
        REQUIRED,
        [],
        id="own_region_unknown_any_replica_counts",
    ),
    pytest.param(
        [_with(sm_secret("ziggie/prod/api-key", replicas=()), name=None)],
        REQUIRED,
        [f"secret ziggie-prod-api-key (eu-north-1): not replicated; {TAIL}"],
        id="without_a_name_named_by_its_resource_name",
    ),
    pytest.param(
        [_with(sm_secret("ziggie/prod/api-key", replicas=()), name=UNKNOWN)],
        REQUIRED,
        [f"secret ziggie-prod-api-key (eu-north-1): not replicated; {TAIL}"],
        id="name_unknown_at_preview_named_by_its_resource_name",
    ),
    pytest.param(
        [_with(sm_secret("ziggie/prod/api-key"), replicas=[UNKNOWN])],
        WITH_DR,
        [],
        id="whole_replica_unknown_at_preview_may_be_in_the_dr_region",
    ),
    pytest.param(
        [_with(sm_secret("ziggie/prod/api-key"), replicas=[DR_REGION])],
        REQUIRED,
        [f"{API_KEY}: 1 replica, none outside eu-north-1; {TAIL}"],
        id="replica_given_as_a_bare_string_names_no_region",
    ),
    pytest.param(
        [sm_secret("ziggie/prod/api-key", replicas=("us-east-1", "ap-south-1"))],
        WITH_DR,
        [
            "secret ziggie/prod/api-key (eu-north-1): no replica in the DR region eu-west-1 (replicas: ap-south-1, "
            "us-east-1); add one"
        ],
        id="two_replicas_neither_in_the_dr_region",
    ),
    pytest.param(
        [sm_secret("ziggie/prod/api-key", region="")],
        REQUIRED,
        [
            "secret ziggie/prod/api-key (no region set): names no region, so its replicas (eu-west-1) may sit in "
            "its own region; set region on the secret, or drRegion in this policy's config"
        ],
        id="empty_region_is_no_region",
    ),
    pytest.param(
        [sm_secret("ziggie/prod/api-key", region=UNKNOWN, replicas=[{"kmsKeyId": "alias/x"}])],
        REQUIRED,
        [f"secret ziggie/prod/api-key (region unknown until the update): 1 replica, none with a region set; {TAIL}"],
        id="own_region_unknown_and_no_replica_names_one",
    ),
    pytest.param(
        [sm_secret("ziggie/prod/api-key", region=DR_REGION, replicas=(PRIMARY_REGION,))],
        WITH_DR,
        [],
        id="secret_in_the_dr_region_replicated_elsewhere_passes",
    ),
    pytest.param(
        [bucket("ziggie-prod-assets"), failover_record("primary", "PRIMARY")],
        REQUIRED,
        [],
        id="not_applicable_to_buckets_and_records",
    ),
]


@pytest.mark.parametrize(("resources", "config", "expected"), CASES)
def test_secret_replication(
    run: Any, resources: list[RecordedResource], config: dict[str, Any], expected: list[str]
) -> None:
    assert run(secret_replication.policy, resources, config) == sorted(expected)


def test_unknown_config_key_is_an_error() -> None:
    with pytest.raises(PolicyConfigError) as caught:
        run_direct(secret_replication.policy, [sm_secret("ziggie/prod/api-key")], {"replicate": True})
    assert (
        str(caught.value)
        == "policy secret-replication: unknown config key 'replicate' (known: drRegion, requireReplication)"
    )


@pytest.mark.parametrize(
    ("properties", "errors"),
    [
        pytest.param(
            {"replicate": True},
            ["secret-replication.replicate: unknown property (known: drRegion, requireReplication)"],
            id="misspelt_require_replication",
        ),
        pytest.param(
            {"requireReplication": 1},
            ["secret-replication.requireReplication: 1 is not of type 'boolean'"],
            id="require_replication_is_a_boolean",
        ),
    ],
)
def test_config_typos_are_refused_by_preflights_reader(
    pack_session: PolicyPackSession, tmp_path: Path, properties: dict[str, Any], errors: list[str]
) -> None:
    assert reader_errors(pack_session, tmp_path, {"secret-replication": properties}) == tuple(errors)


def test_unknown_key_let_through_by_a_lenient_cli_fails_the_analysis(pack_session: PolicyPackSession) -> None:
    configure_leniently(pack_session, "secret-replication", {"replicate": True})
    with pytest.raises(AnalyzerError, match=r"unknown config key 'replicate'"):
        pack_session.analyze_resources([sm_secret("ziggie/prod/api-key")])
