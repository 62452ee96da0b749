"""bucket-protection: versioning, default encryption and a full public access block on every bucket."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from policy_fixtures import (
    DR_REGION,
    UNKNOWN,
    aws,
    bucket,
    configure_leniently,
    container,
    encryption,
    on_host,
    protected,
    public_access_block,
    reader_errors,
    run_direct,
    run_direct_located,
    sm_secret,
    versioning,
)
from ziggie_policies import bucket_protection
from ziggie_policies._support import PolicyConfigError

from preflight.analyzer import AnalyzerError, PolicyPackSession
from preflight.records import RecordedResource

ASSETS = bucket("ziggie-prod-assets")
REPLICA = bucket("ziggie-prod-assets-replica", DR_REGION)
WHERE = "bucket ziggie-prod-assets (eu-north-1)"
NO_VERSIONING = f"{WHERE}: no versioning enabled; add a BucketVersioning with status Enabled"
NO_ENCRYPTION = (
    f"{WHERE}: no server-side encryption configuration; add a BucketServerSideEncryptionConfiguration with "
    "sseAlgorithm AES256, aws:kms or aws:kms:dsse"
)
NO_BLOCK = (
    f"{WHERE}: no public access block; add a BucketPublicAccessBlock with all 4 flags true "
    "(blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets)"
)


def _without(resources: list[RecordedResource], type_suffix: str) -> list[RecordedResource]:
    return [r for r in resources if not r.type.endswith(type_suffix)]


def _generated(target: RecordedResource) -> RecordedResource:
    """The bucket as a real preview sends it when its name is generated: no name known."""
    return dataclasses.replace(target, inputs={**target.inputs, "bucket": UNKNOWN}, outputs={})


def _with(resource: RecordedResource, **inputs: Any) -> RecordedResource:
    """``resource`` with ``inputs`` replaced (None drops one)."""
    merged = {**resource.inputs, **inputs}
    return dataclasses.replace(resource, inputs={k: v for k, v in merged.items() if v is not None})


def _renamed(resource: RecordedResource, name: str) -> RecordedResource:
    return dataclasses.replace(resource, name=name, urn=resource.urn.replace(resource.name, name))


BACKUPS = bucket("ziggie-prod-backups")
LOGS = _generated(bucket("ziggie-prod-logs", resource_name="prod-logs"))
AUDIT = _generated(bucket("ziggie-prod-audit", resource_name="prod-audit"))

CASES = [
    pytest.param(protected(ASSETS), {}, [], id="versioned_encrypted_blocked_bucket_passes"),
    pytest.param([*protected(ASSETS), *protected(REPLICA)], {}, [], id="each_bucket_matched_by_its_name"),
    pytest.param(
        [ASSETS, versioning(ASSETS), encryption(ASSETS, "AES256"), public_access_block(ASSETS)],
        {},
        [],
        id="sse_s3_passes",
    ),
    pytest.param(
        [ASSETS, versioning(ASSETS), encryption(ASSETS, "aws:kms:dsse"), public_access_block(ASSETS)],
        {},
        [],
        id="dsse_kms_passes",
    ),
    pytest.param(
        _without(protected(ASSETS), "BucketVersioning"), {}, [NO_VERSIONING], id="versioning_resource_missing"
    ),
    pytest.param(
        [ASSETS, versioning(ASSETS, "Suspended"), encryption(ASSETS), public_access_block(ASSETS)],
        {},
        [
            f'{WHERE}: no versioning enabled: BucketVersioning ziggie-prod-assets-versioning has status "Suspended"; '
            "set versioningConfiguration.status to Enabled"
        ],
        id="versioning_suspended",
    ),
    pytest.param(
        [ASSETS, versioning(ASSETS, "Disabled"), versioning(REPLICA), *protected(REPLICA)[1:]],
        {},
        [
            f'{WHERE}: no versioning enabled: BucketVersioning ziggie-prod-assets-versioning has status "Disabled"; '
            "set versioningConfiguration.status to Enabled",
            NO_ENCRYPTION,
            NO_BLOCK,
        ],
        id="another_buckets_protection_does_not_count",
    ),
    pytest.param(_without(protected(ASSETS), "Configuration"), {}, [NO_ENCRYPTION], id="encryption_resource_missing"),
    pytest.param(
        [ASSETS, versioning(ASSETS), encryption(ASSETS, None), public_access_block(ASSETS)],
        {},
        [
            f"{WHERE}: server-side encryption configuration ziggie-prod-assets-encryption applies no sseAlgorithm "
            "of AES256, aws:kms or aws:kms:dsse by default; set rules[].applyServerSideEncryptionByDefault.sseAlgorithm"
        ],
        id="encryption_rule_without_default_algorithm",
    ),
    pytest.param(
        [ASSETS, _with(versioning(ASSETS), versioningConfiguration=None), *protected(ASSETS)[2:]],
        {},
        [
            f"{WHERE}: no versioning enabled: BucketVersioning ziggie-prod-assets-versioning has no status; "
            "set versioningConfiguration.status to Enabled"
        ],
        id="versioning_resource_without_configuration",
    ),
    pytest.param(
        [ASSETS, versioning(ASSETS), _with(encryption(ASSETS), rules=UNKNOWN), public_access_block(ASSETS)],
        {},
        [],
        id="encryption_rules_unknown_at_preview_count_as_set",
    ),
    pytest.param(
        [ASSETS, versioning(ASSETS), _with(encryption(ASSETS), rules=[UNKNOWN]), public_access_block(ASSETS)],
        {},
        [],
        id="encryption_rule_unknown_at_preview_counts_as_set",
    ),
    pytest.param(
        [
            ASSETS,
            versioning(ASSETS),
            _with(encryption(ASSETS), rules=[{"applyServerSideEncryptionByDefault": UNKNOWN}]),
            public_access_block(ASSETS),
        ],
        {},
        [],
        id="encryption_default_unknown_at_preview_counts_as_set",
    ),
    pytest.param(
        [
            ASSETS,
            versioning(ASSETS),
            _with(encryption(ASSETS), rules=["AES256", {"bucketKeyEnabled": True}]),
            public_access_block(ASSETS),
        ],
        {},
        [
            f"{WHERE}: server-side encryption configuration ziggie-prod-assets-encryption applies no sseAlgorithm "
            "of AES256, aws:kms or aws:kms:dsse by default; set rules[].applyServerSideEncryptionByDefault.sseAlgorithm"
        ],
        id="encryption_rule_that_is_no_object_applies_nothing",
    ),
    pytest.param(
        [
            *protected(ASSETS)[:3],
            public_access_block(ASSETS, blockPublicPolicy=False),
            _renamed(public_access_block(ASSETS), "ziggie-prod-assets-public-access-2"),
        ],
        {},
        [],
        id="a_complete_block_beside_a_weaker_one_protects_the_bucket",
    ),
    pytest.param(
        [
            *protected(ASSETS)[:3],
            public_access_block(ASSETS, blockPublicPolicy=False, ignorePublicAcls=False),
            _renamed(public_access_block(ASSETS, restrictPublicBuckets=False), "ziggie-prod-assets-public-access-2"),
        ],
        {},
        [
            f"{WHERE}: public access block ziggie-prod-assets-public-access-2 leaves 1 of 4 flags not true: "
            "restrictPublicBuckets; set all 4 true"
        ],
        id="the_most_complete_of_two_weak_blocks_is_named",
    ),
    pytest.param(
        [ASSETS, BACKUPS],
        {"exempt": {"ziggie-prod-assets": "a public download mirror, rebuilt from git"}},
        [m.replace("ziggie-prod-assets", "ziggie-prod-backups") for m in (NO_BLOCK, NO_ENCRYPTION, NO_VERSIONING)],
        id="an_exempt_bucket_exempts_only_itself",
    ),
    pytest.param(_without(protected(ASSETS), "BucketPublicAccessBlock"), {}, [NO_BLOCK], id="public_block_missing"),
    pytest.param(
        [*protected(ASSETS)[:3], public_access_block(ASSETS, blockPublicPolicy=False, restrictPublicBuckets=None)],
        {},
        [
            f"{WHERE}: public access block ziggie-prod-assets-public-access leaves 2 of 4 flags not true: "
            "blockPublicPolicy, restrictPublicBuckets; set all 4 true"
        ],
        id="public_block_with_a_flag_false_and_one_missing",
    ),
    pytest.param(
        [ASSETS],
        {},
        [NO_BLOCK, NO_ENCRYPTION, NO_VERSIONING],
        id="bare_bucket_lacks_all_three",
    ),
    pytest.param(
        [ASSETS],
        {"exempt": {"ziggie-prod-assets": "a public download mirror, rebuilt from git"}},
        [],
        id="exempt_by_bucket_name",
    ),
    pytest.param(
        [
            ASSETS,
            versioning(ASSETS, UNKNOWN),
            encryption(ASSETS, UNKNOWN),
            public_access_block(ASSETS, blockPublicAcls=UNKNOWN),
        ],
        {},
        [],
        id="settings_unknown_during_preview_count_as_set",
    ),
    pytest.param(
        [
            LOGS,
            versioning(LOGS, known=False),
            encryption(LOGS, known=False),
            public_access_block(LOGS, known=False),
        ],
        {},
        [],
        id="generated_name_matched_through_property_dependencies",
    ),
    pytest.param(
        [
            LOGS,
            encryption(LOGS, known=False),
            public_access_block(LOGS, known=False),
        ],
        {},
        ["bucket prod-logs (eu-north-1): no versioning enabled; add a BucketVersioning with status Enabled"],
        id="generated_name_is_labelled_by_resource_name",
    ),
    pytest.param(
        [
            LOGS,
            dataclasses.replace(versioning(LOGS, known=False), property_dependencies={}),
            encryption(LOGS, known=False),
            public_access_block(LOGS, known=False),
        ],
        {},
        [],
        id="generated_name_matched_through_dependencies",
    ),
    pytest.param(
        [
            LOGS,
            AUDIT,
            dataclasses.replace(
                versioning(LOGS, known=False), property_dependencies={}, dependencies=(LOGS.urn, AUDIT.urn)
            ),
            encryption(LOGS, known=False),
            public_access_block(LOGS, known=False),
            encryption(AUDIT, known=False),
            public_access_block(AUDIT, known=False),
        ],
        {},
        [],
        id="versioning_of_either_bucket_gives_both_the_benefit_of_the_doubt",
    ),
    pytest.param(
        [aws("aws:kms/key:Key", "assets-key", {"region": "eu-north-1", "enableKeyRotation": True}), ASSETS],
        {},
        [NO_BLOCK, NO_ENCRYPTION, NO_VERSIONING],
        id="a_bucket_after_a_resource_of_another_kind_is_judged",
    ),
    pytest.param(
        [dataclasses.replace(ASSETS, type="aws:s3/bucketV2:BucketV2")],
        {},
        [NO_BLOCK, NO_ENCRYPTION, NO_VERSIONING],
        id="deprecated_bucket_v2_alias_is_a_bucket",
    ),
    pytest.param(
        [versioning(ASSETS), encryption(ASSETS), public_access_block(ASSETS)],
        {},
        [],
        id="not_applicable_to_a_bucket_outside_the_stack",
    ),
    pytest.param(
        [*on_host("vps1", container("vps1", "app")), sm_secret("ziggie/prod/api-key")],
        {},
        [],
        id="not_applicable_without_buckets",
    ),
]


@pytest.mark.parametrize(("resources", "config", "expected"), CASES)
def test_bucket_protection(
    run: Any, resources: list[RecordedResource], config: dict[str, Any], expected: list[str]
) -> None:
    assert run(bucket_protection.policy, resources, config) == sorted(expected)


def test_missing_protection_is_located_on_the_bucket_and_a_weak_one_on_its_resource(
    pack_session: PolicyPackSession,
) -> None:
    weak = versioning(ASSETS, "Suspended")
    pack_session.configure(None)
    violations = [
        v for v in pack_session.analyze_stack([ASSETS, weak, encryption(ASSETS)]) if v.policy == "bucket-protection"
    ]
    assert {(v.urn, v.enforcement, v.message) for v in violations} == {
        (ASSETS.urn, "mandatory", NO_BLOCK),
        (
            weak.urn,
            "mandatory",
            f'{WHERE}: no versioning enabled: BucketVersioning ziggie-prod-assets-versioning has status "Suspended"; '
            "set versioningConfiguration.status to Enabled",
        ),
    }


def test_missing_protection_is_reported_on_the_bucket_and_a_weak_one_on_its_resource_directly() -> None:
    weak = versioning(ASSETS, "Suspended")
    assert run_direct_located(bucket_protection.policy, [ASSETS, weak, encryption(ASSETS)], {}) == [
        (NO_BLOCK, ASSETS.urn),
        (
            f'{WHERE}: no versioning enabled: BucketVersioning ziggie-prod-assets-versioning has status "Suspended"; '
            "set versioningConfiguration.status to Enabled",
            weak.urn,
        ),
    ]


def test_unknown_config_key_is_an_error() -> None:
    with pytest.raises(PolicyConfigError) as caught:
        run_direct(bucket_protection.policy, protected(ASSETS), {"exempted": {}})
    assert str(caught.value) == "policy bucket-protection: unknown config key 'exempted' (known: exempt)"


@pytest.mark.parametrize(
    ("properties", "errors"),
    [
        pytest.param(
            {"exempted": {}}, ["bucket-protection.exempted: unknown property (known: exempt)"], id="misspelt_exempt"
        ),
        pytest.param(
            {"exempt": {"ziggie-prod-assets": ""}},
            ["bucket-protection.exempt.ziggie-prod-assets: '' should be non-empty"],
            id="exemption_needs_a_reason",
        ),
    ],
)
def test_config_typos_are_refused_by_preflights_reader(
    pack_session: PolicyPackSession, tmp_path: Path, properties: dict[str, Any], errors: list[str]
) -> None:
    assert reader_errors(pack_session, tmp_path, {"bucket-protection": properties}) == tuple(errors)


def test_unknown_key_let_through_by_a_lenient_cli_fails_the_analysis(pack_session: PolicyPackSession) -> None:
    configure_leniently(pack_session, "bucket-protection", {"exempted": {}})
    with pytest.raises(AnalyzerError, match=r"unknown config key 'exempted'"):
        pack_session.analyze_stack(protected(ASSETS))
