"""bucket-replication: data buckets replicate to another region with RTC, metrics and delete markers."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from policy_fixtures import (
    DR_REGION,
    ENCRYPTION,
    PRIMARY_REGION,
    UNKNOWN,
    bucket,
    configure_leniently,
    container,
    encryption,
    on_host,
    protected,
    reader_errors,
    replicated_pair,
    replication,
    replication_rule,
    run_direct,
    run_direct_located,
    sm_secret,
)
from ziggie_policies import bucket_replication
from ziggie_policies._support import PolicyConfigError

from preflight.analyzer import AnalyzerError, PolicyPackSession
from preflight.records import RecordedResource

ASSETS = bucket("ziggie-prod-assets")
REPLICA = bucket("ziggie-prod-assets-replica", DR_REGION)
SAME_REGION_COPY = bucket("ziggie-prod-assets-copy", PRIMARY_REGION)
BACKUPS = bucket("ziggie-prod-backups")
# A real preview of a bucket whose name is generated: the name is not known yet.
_NAMED = bucket("ziggie-prod-assets", resource_name="prod-assets")
GENERATED = dataclasses.replace(_NAMED, inputs={**_NAMED.inputs, "bucket": UNKNOWN}, outputs={})
WHERE = "bucket ziggie-prod-assets (eu-north-1)"
RULE = f'{WHERE}: replication rule "to-dr"'
REQUIRED = {"requireReplication": True}
NOT_REQUIRED = {"requireReplication": False}
NOT_REPLICATED = (
    f"{WHERE}: not replicated; add a BucketReplicationConfig with an enabled rule to a bucket in another region"
)


KMS_NOT_SELECTED = (
    f"{RULE} does not select SSE-KMS objects though the bucket is encrypted with SSE-KMS, so S3 skips every "
    "object; set sourceSelectionCriteria.sseKmsEncryptedObjects.status to Enabled"
)
KMS_NO_KEY = (
    f"{RULE} names no destination.encryptionConfiguration.replicaKmsKeyId though the bucket is encrypted with "
    "SSE-KMS; set it to a KMS key in the destination's region"
)
KEEP_BACKUPS = {"requireReplication": True, "keepDeletions": {"ziggie-prod-assets": "a backup outlives deletions"}}


def _aes_pair(**rule: Any) -> list[RecordedResource]:
    """The pair with AES256 default encryption on both buckets."""
    return [
        r
        if r.type != ENCRYPTION
        else dataclasses.replace(
            r, inputs={**r.inputs, "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}
        )
        for r in _pair(**rule)
    ]


def _two_way() -> list[RecordedResource]:
    """The pair replicating both ways; the reverse rule lacks SSE-KMS selection and a key."""
    pair = _pair()
    back = replication(
        REPLICA, [replication_rule(ASSETS, rule_id="back", sse_kms=None, replica_key=None)], destinations=[ASSETS]
    )
    return [*pair, back]


def _pair(**rule: Any) -> list[RecordedResource]:
    return replicated_pair("ziggie-prod-assets", "ziggie-prod-assets-replica", **rule)


def _to(destinations: list[RecordedResource], rules: Any, **kwargs: Any) -> list[RecordedResource]:
    """ASSETS replicating with ``rules``, its rules computed from ``destinations``."""
    return [
        *protected(ASSETS),
        *(r for d in destinations for r in protected(d)),
        replication(ASSETS, rules, destinations=destinations, **kwargs),
    ]


def _no_region(target: RecordedResource) -> RecordedResource:
    return dataclasses.replace(target, inputs={k: v for k, v in target.inputs.items() if k != "region"})


def _region(target: RecordedResource, region: Any) -> RecordedResource:
    return dataclasses.replace(target, inputs={**target.inputs, "region": region})


def _dsse_pair(**rule: Any) -> list[RecordedResource]:
    """The pair with DSSE-KMS default encryption on both buckets."""
    dsse = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms:dsse"}}]
    return [
        r if r.type != ENCRYPTION else dataclasses.replace(r, inputs={**r.inputs, "rules": dsse}) for r in _pair(**rule)
    ]


# The replica is then a data bucket of its own that nothing replicates.
REPLICA_ALONE = (
    "bucket ziggie-prod-assets-replica (eu-west-1): not replicated; add a BucketReplicationConfig with an enabled "
    "rule to a bucket in another region"
)


def _through_dependencies(destination: RecordedResource) -> list[RecordedResource]:
    """ASSETS replicating to an unknown destination, the configuration with dependencies (on its
    source and ``destination``) but no property dependencies."""
    *rest, config = _to([destination], [replication_rule(UNKNOWN)])
    return [*rest, dataclasses.replace(config, property_dependencies={}, dependencies=(ASSETS.urn, destination.urn))]


def _depending_also_on(other: RecordedResource, resources: list[RecordedResource]) -> list[RecordedResource]:
    """``resources`` with ``other`` protected beside them and the replication configuration also
    depending on it (an explicit dependsOn), not through its rules."""
    *rest, config = resources
    depends = dataclasses.replace(config, dependencies=(*config.dependencies, other.urn))
    return [*rest, *protected(other), depends]


def _uncertain_encryption() -> RecordedResource:
    """An SSE-KMS configuration whose bucket is not known and may be ASSETS's or REPLICA's."""
    found = encryption(ASSETS, known=False)
    name = "either-encryption"
    return dataclasses.replace(
        found,
        name=name,
        urn=found.urn.replace(found.name, name),
        property_dependencies={"bucket": (ASSETS.urn, REPLICA.urn)},
        dependencies=(ASSETS.urn, REPLICA.urn),
    )


def _of_either() -> list[RecordedResource]:
    """Two buckets with generated names and a weak configuration whose bucket may be either's."""
    logs = dataclasses.replace(
        bucket("ziggie-prod-logs"), inputs={**bucket("ziggie-prod-logs").inputs, "bucket": UNKNOWN}
    )
    audit = dataclasses.replace(
        bucket("ziggie-prod-audit"), inputs={**bucket("ziggie-prod-audit").inputs, "bucket": UNKNOWN}
    )
    config = replication(logs, [replication_rule(REPLICA, delete_markers=None)], destinations=[REPLICA], known=False)
    config = dataclasses.replace(
        config, property_dependencies={"bucket": (logs.urn, audit.urn), "rules": (REPLICA.urn,)}
    )
    return [logs, audit, *protected(REPLICA), config]


NOT_HERE = (
    f"{RULE} replicates to {{arn}}, which is not a bucket of this stack, so its region cannot be checked; "
    "replicate to a bucket declared here in another region"
)

CASES = [
    pytest.param(_pair(), REQUIRED, [], id="cross_region_rule_with_rtc_metrics_and_delete_markers_passes"),
    pytest.param(
        _to([REPLICA], [replication_rule("arn:aws-cn:s3:::ziggie-prod-assets-replica")]),
        REQUIRED,
        [],
        id="destination_named_by_a_china_partition_arn",
    ),
    pytest.param(
        _to([REPLICA], [replication_rule("arn:aws-us-gov:s3:::ziggie-prod-assets-replica")]),
        REQUIRED,
        [],
        id="destination_named_by_a_govcloud_arn",
    ),
    pytest.param(
        _to([REPLICA], [replication_rule("arn:aws:s3:::ziggie-prod-assets-replica/logs")]),
        REQUIRED,
        [NOT_HERE.format(arn="arn:aws:s3:::ziggie-prod-assets-replica/logs"), REPLICA_ALONE],
        id="object_arn_is_no_bucket",
    ),
    pytest.param(
        _to([REPLICA], [replication_rule("arn:aws:s3:::")]),
        REQUIRED,
        [NOT_HERE.format(arn="arn:aws:s3:::"), REPLICA_ALONE],
        id="arn_without_a_bucket_name",
    ),
    pytest.param(
        _to([REPLICA], [replication_rule("ziggie-prod-assets-replica")]),
        REQUIRED,
        [NOT_HERE.format(arn="ziggie-prod-assets-replica"), REPLICA_ALONE],
        id="bucket_name_where_an_arn_belongs",
    ),
    pytest.param(
        _to([_region(REPLICA, UNKNOWN)], [replication_rule(REPLICA)]),
        REQUIRED,
        [],
        id="destination_region_unknown_at_preview_is_not_compared",
    ),
    pytest.param(
        [*protected(_region(ASSETS, UNKNOWN)), *protected(REPLICA), replication(ASSETS, [replication_rule(REPLICA)])],
        REQUIRED,
        [],
        id="source_region_unknown_at_preview_is_not_compared",
    ),
    pytest.param(
        [*protected(_no_region(ASSETS)), *protected(REPLICA), replication(ASSETS, [replication_rule(REPLICA)])],
        REQUIRED,
        [
            'bucket ziggie-prod-assets (no region set): replication rule "to-dr" replicates to bucket '
            "ziggie-prod-assets-replica (eu-west-1), so the regions cannot be compared; set region on both buckets"
        ],
        id="source_without_region_cannot_be_compared",
    ),
    pytest.param(
        _pair(delete_markers="Disabled", rule_id=""),
        REQUIRED,
        [
            f'{WHERE}: replication rules[0] does not replicate delete markers (status "Disabled"); '
            "set deleteMarkerReplication.status to Enabled"
        ],
        id="rule_with_an_empty_id_is_named_by_index",
    ),
    pytest.param(_to([REPLICA], [UNKNOWN]), REQUIRED, [], id="rule_unknown_at_preview_is_not_judged"),
    pytest.param(_pair(minutes=15.0), REQUIRED, [], id="rtc_minutes_as_a_float_are_15"),
    pytest.param(
        _pair(minutes="fifteen"),
        REQUIRED,
        [f"{RULE} sets Replication Time Control to 'fifteen' minutes; S3 offers exactly 15"],
        id="rtc_minutes_not_a_number",
    ),
    pytest.param(
        _pair(minutes=15.5),
        REQUIRED,
        [f"{RULE} sets Replication Time Control to 15.5 minutes; S3 offers exactly 15"],
        id="rtc_minutes_a_fraction_over",
    ),
    pytest.param(
        _pair(rtc=UNKNOWN, minutes=None),
        REQUIRED,
        [f"{RULE} sets no Replication Time Control time.minutes; set it to 15"],
        id="rtc_status_unknown_minutes_still_required",
    ),
    pytest.param(
        _pair(status=UNKNOWN, delete_markers=UNKNOWN, sse_kms=UNKNOWN),
        REQUIRED,
        [],
        id="rule_settings_unknown_at_preview",
    ),
    pytest.param(_dsse_pair(sse_kms=None), REQUIRED, [KMS_NOT_SELECTED], id="dsse_kms_source_needs_kms_selection"),
    pytest.param(_pair(replica_key=""), REQUIRED, [KMS_NO_KEY], id="empty_replica_key_names_none"),
    pytest.param(
        [*protected(ASSETS), *protected(BACKUPS)],
        {**REQUIRED, "exempt": {"ziggie-prod-assets": "rebuilt from git by CI"}},
        [
            "bucket ziggie-prod-backups (eu-north-1): not replicated; add a BucketReplicationConfig with an enabled "
            "rule to a bucket in another region"
        ],
        id="an_exempt_bucket_exempts_only_itself",
    ),
    pytest.param(
        [*_pair(), *replicated_pair("ziggie-prod-backups", "ziggie-prod-backups-replica")],
        REQUIRED,
        [],
        id="each_data_bucket_has_its_own_replication",
    ),
    pytest.param(protected(ASSETS), REQUIRED, [NOT_REPLICATED], id="data_bucket_without_replication"),
    pytest.param(
        [*protected(ASSETS), replication(ASSETS, [])], REQUIRED, [NOT_REPLICATED], id="configuration_without_rules"
    ),
    pytest.param(protected(ASSETS), NOT_REQUIRED, [], id="replication_not_required_in_dev_and_dr"),
    pytest.param(
        protected(ASSETS),
        {**REQUIRED, "exempt": {"ziggie-prod-assets": "rebuilt from git by CI"}},
        [],
        id="exempt_by_bucket_name",
    ),
    pytest.param(
        _pair(status="Disabled"),
        REQUIRED,
        [f'{RULE} is not enabled (status "Disabled"); set its status to Enabled'],
        id="rule_disabled",
    ),
    pytest.param(
        [
            *_pair(status="Disabled"),
            *replicated_pair("ziggie-prod-backups", "ziggie-prod-backups-replica", status="Disabled"),
        ],
        REQUIRED,
        [
            f'{RULE} is not enabled (status "Disabled"); set its status to Enabled',
            'bucket ziggie-prod-backups (eu-north-1): replication rule "to-dr" is not enabled (status "Disabled"); '
            "set its status to Enabled",
        ],
        id="each_buckets_rule_problems_are_reported",
    ),
    pytest.param(
        _to([SAME_REGION_COPY], [replication_rule(SAME_REGION_COPY)]),
        REQUIRED,
        [
            f"{RULE} replicates to ziggie-prod-assets-copy in eu-north-1, the bucket's own region; "
            "replicate to a bucket in another region"
        ],
        id="destination_in_the_same_region",
    ),
    pytest.param(
        _to([], [replication_rule("arn:aws:s3:::someone-elses-bucket")]),
        REQUIRED,
        [
            f"{RULE} replicates to arn:aws:s3:::someone-elses-bucket, which is not a bucket of this stack, so its "
            "region cannot be checked; replicate to a bucket declared here in another region"
        ],
        id="destination_outside_the_stack",
    ),
    pytest.param(
        _to([], [{"id": "to-dr", "status": "Enabled", "deleteMarkerReplication": {"status": "Enabled"}}]),
        REQUIRED,
        [
            f"{RULE} has no destination bucket; set destination.bucket to the ARN of a bucket in another region",
            f"{RULE} has no Replication Time Control; set destination.replicationTime.status to Enabled with "
            "time.minutes 15",
            f"{RULE} has no replication metrics; set destination.metrics.status to Enabled (Replication Time "
            "Control needs them)",
            KMS_NOT_SELECTED,
            KMS_NO_KEY,
        ],
        id="rule_without_destination",
    ),
    pytest.param(
        _pair(sse_kms=None),
        REQUIRED,
        [KMS_NOT_SELECTED],
        id="kms_source_rule_selects_no_kms_objects",
    ),
    pytest.param(
        _pair(sse_kms="Disabled"),
        REQUIRED,
        [KMS_NOT_SELECTED.replace("objects though", 'objects (status "Disabled") though')],
        id="kms_selection_disabled",
    ),
    pytest.param(_pair(replica_key=None), REQUIRED, [KMS_NO_KEY], id="kms_source_rule_names_no_replica_key"),
    pytest.param(_pair(replica_key=UNKNOWN), REQUIRED, [], id="replica_key_unknown_at_preview_passes"),
    pytest.param(_aes_pair(sse_kms=None, replica_key=None), REQUIRED, [], id="aes256_source_needs_no_kms_settings"),
    pytest.param(_pair(delete_markers="Disabled"), KEEP_BACKUPS, [], id="bucket_that_keeps_deletions_passes"),
    pytest.param(
        _pair(delete_markers="Disabled", rtc="Disabled"),
        KEEP_BACKUPS,
        [
            f'{RULE} has no Replication Time Control (status "Disabled"); set destination.replicationTime.status '
            "to Enabled with time.minutes 15"
        ],
        id="keeping_deletions_excuses_nothing_else",
    ),
    pytest.param(
        _two_way(),
        REQUIRED,
        [
            'bucket ziggie-prod-assets-replica (eu-west-1): replication rule "back" does not select SSE-KMS '
            "objects though the bucket is encrypted with SSE-KMS, so S3 skips every object; set "
            "sourceSelectionCriteria.sseKmsEncryptedObjects.status to Enabled",
            'bucket ziggie-prod-assets-replica (eu-west-1): replication rule "back" names no '
            "destination.encryptionConfiguration.replicaKmsKeyId though the bucket is encrypted with SSE-KMS; set "
            "it to a KMS key in the destination's region",
        ],
        id="replicas_rules_back_are_checked_too",
    ),
    pytest.param(
        _pair(rtc=None),
        REQUIRED,
        [
            f"{RULE} has no Replication Time Control; set destination.replicationTime.status to Enabled with "
            "time.minutes 15"
        ],
        id="no_replication_time_control",
    ),
    pytest.param(
        _pair(rtc="Disabled"),
        REQUIRED,
        [
            f'{RULE} has no Replication Time Control (status "Disabled"); set destination.replicationTime.status '
            "to Enabled with time.minutes 15"
        ],
        id="replication_time_control_disabled",
    ),
    pytest.param(
        _pair(minutes=10),
        REQUIRED,
        [f"{RULE} sets Replication Time Control to 10 minutes; S3 offers exactly 15"],
        id="rtc_minutes_not_15",
    ),
    pytest.param(
        _pair(minutes=None),
        REQUIRED,
        [f"{RULE} sets no Replication Time Control time.minutes; set it to 15"],
        id="rtc_minutes_missing",
    ),
    pytest.param(
        _pair(metrics="Disabled"),
        REQUIRED,
        [
            f'{RULE} has no replication metrics (status "Disabled"); set destination.metrics.status to Enabled '
            "(Replication Time Control needs them)"
        ],
        id="metrics_disabled",
    ),
    pytest.param(
        _pair(delete_markers=None),
        REQUIRED,
        [f"{RULE} does not replicate delete markers; set deleteMarkerReplication.status to Enabled"],
        id="delete_markers_not_replicated",
    ),
    pytest.param(
        _pair(delete_markers="Disabled", rule_id=None),
        REQUIRED,
        [
            f'{WHERE}: replication rules[0] does not replicate delete markers (status "Disabled"); '
            "set deleteMarkerReplication.status to Enabled"
        ],
        id="rule_without_id_is_named_by_index",
    ),
    pytest.param(
        _pair(delete_markers="Disabled"),
        NOT_REQUIRED,
        [
            f'{RULE} does not replicate delete markers (status "Disabled"); set deleteMarkerReplication.status '
            "to Enabled"
        ],
        id="existing_rules_are_checked_even_when_replication_is_not_required",
    ),
    pytest.param(
        _to([REPLICA], [replication_rule(UNKNOWN)]),
        REQUIRED,
        [],
        id="unknown_destination_resolved_through_property_dependencies",
    ),
    pytest.param(
        _to([SAME_REGION_COPY], [replication_rule(UNKNOWN)]),
        REQUIRED,
        [
            f"{RULE} replicates to ziggie-prod-assets-copy in eu-north-1, the bucket's own region; "
            "replicate to a bucket in another region"
        ],
        id="unknown_destination_resolved_to_the_same_region",
    ),
    pytest.param(
        _through_dependencies(SAME_REGION_COPY),
        REQUIRED,
        [
            f"{RULE} replicates to ziggie-prod-assets-copy in eu-north-1, the bucket's own region; "
            "replicate to a bucket in another region"
        ],
        id="unknown_destination_read_from_dependencies_leaving_out_the_source",
    ),
    pytest.param(
        _depending_also_on(REPLICA, _to([SAME_REGION_COPY], [replication_rule(UNKNOWN)])),
        REQUIRED,
        [
            f"{RULE} replicates to ziggie-prod-assets-copy in eu-north-1, the bucket's own region; "
            "replicate to a bucket in another region",
            REPLICA_ALONE,
        ],
        id="unknown_destination_read_from_what_the_rules_were_computed_from_not_every_dependency",
    ),
    pytest.param(
        _depending_also_on(BACKUPS, _to([REPLICA], UNKNOWN)),
        REQUIRED,
        [
            "bucket ziggie-prod-backups (eu-north-1): not replicated; add a BucketReplicationConfig with an enabled "
            "rule to a bucket in another region"
        ],
        id="rules_unknown_make_replicas_of_what_they_were_computed_from_only",
    ),
    pytest.param(
        [_uncertain_encryption(), *_pair(sse_kms=None)],
        REQUIRED,
        [KMS_NOT_SELECTED],
        id="an_encryption_that_may_be_either_buckets_does_not_hide_the_next",
    ),
    pytest.param([ASSETS], REQUIRED, [NOT_REPLICATED], id="a_stack_of_one_bare_bucket"),
    pytest.param(
        _of_either(),
        REQUIRED,
        [],
        id="configuration_that_may_be_either_buckets_replicates_both_and_judges_neither",
    ),
    pytest.param(
        _to(
            [REPLICA, SAME_REGION_COPY],
            [replication_rule(UNKNOWN), replication_rule(UNKNOWN, rule_id="copy")],
        ),
        REQUIRED,
        [],
        id="unknown_destinations_among_two_buckets_are_not_guessed_and_both_are_replicas",
    ),
    pytest.param(
        _to([REPLICA], UNKNOWN), REQUIRED, [], id="rules_unknown_during_preview_count_as_replication_to_a_replica"
    ),
    pytest.param(
        _to([REPLICA], [replication_rule(REPLICA, rtc=UNKNOWN, minutes=UNKNOWN, metrics=UNKNOWN)]),
        REQUIRED,
        [],
        id="settings_unknown_during_preview_count_as_set",
    ),
    pytest.param(
        [
            GENERATED,
            *protected(REPLICA),
            replication(GENERATED, [replication_rule(REPLICA, minutes=5)], destinations=[REPLICA], known=False),
        ],
        REQUIRED,
        [
            'bucket prod-assets (eu-north-1): replication rule "to-dr" sets Replication Time Control to '
            "5 minutes; S3 offers exactly 15"
        ],
        id="source_with_unknown_name_matched_through_property_dependencies",
    ),
    pytest.param(
        _to([_no_region(REPLICA)], [replication_rule(REPLICA)]),
        REQUIRED,
        [
            f"{RULE} replicates to bucket ziggie-prod-assets-replica (no region set), so the regions cannot be "
            "compared; set region on both buckets"
        ],
        id="destination_without_region_cannot_be_compared",
    ),
    pytest.param(
        [*on_host("vps1", container("vps1", "app")), sm_secret("ziggie/prod/api-key")],
        REQUIRED,
        [],
        id="not_applicable_without_buckets",
    ),
]


@pytest.mark.parametrize(("resources", "config", "expected"), CASES)
def test_bucket_replication(
    run: Any, resources: list[RecordedResource], config: dict[str, Any], expected: list[str]
) -> None:
    assert run(bucket_replication.policy, resources, config) == sorted(expected)


def test_unreplicated_bucket_is_located_on_the_bucket_and_a_weak_rule_on_its_configuration(
    pack_session: PolicyPackSession,
) -> None:
    pair = _pair(delete_markers=None)
    config = pair[-1]
    pack_session.configure(None)  # the defaults: replication required
    violations = [
        v for v in pack_session.analyze_stack([*pair, *protected(BACKUPS)]) if v.policy == "bucket-replication"
    ]
    assert {(v.urn, v.enforcement, v.message) for v in violations} == {
        (
            config.urn,
            "mandatory",
            f"{RULE} does not replicate delete markers; set deleteMarkerReplication.status to Enabled",
        ),
        (
            BACKUPS.urn,
            "mandatory",
            "bucket ziggie-prod-backups (eu-north-1): not replicated; add a BucketReplicationConfig with an enabled "
            "rule to a bucket in another region",
        ),
    }


def test_unreplicated_bucket_is_reported_on_the_bucket_and_a_weak_rule_on_its_configuration_directly() -> None:
    pair = _pair(delete_markers=None)
    assert run_direct_located(bucket_replication.policy, [*pair, *protected(BACKUPS)], REQUIRED) == [
        (f"{RULE} does not replicate delete markers; set deleteMarkerReplication.status to Enabled", pair[-1].urn),
        (
            "bucket ziggie-prod-backups (eu-north-1): not replicated; add a BucketReplicationConfig with an enabled "
            "rule to a bucket in another region",
            BACKUPS.urn,
        ),
    ]


def test_unknown_config_key_is_an_error() -> None:
    with pytest.raises(PolicyConfigError) as caught:
        run_direct(bucket_replication.policy, _pair(), {"requireReplications": True})
    assert (
        str(caught.value)
        == "policy bucket-replication: unknown config key 'requireReplications' (known: exempt, keepDeletions, requireReplication)"
    )


@pytest.mark.parametrize(
    ("properties", "errors"),
    [
        pytest.param(
            {"requireReplications": True},
            [
                "bucket-replication.requireReplications: unknown property (known: exempt, keepDeletions, requireReplication)"
            ],
            id="misspelt_require_replication",
        ),
        pytest.param(
            {"requireReplication": "yes"},
            ["bucket-replication.requireReplication: 'yes' is not of type 'boolean'"],
            id="require_replication_is_a_boolean",
        ),
        pytest.param(
            {"minimumRtcMinutes": 15},
            [
                "bucket-replication.minimumRtcMinutes: unknown property (known: exempt, keepDeletions, requireReplication)"
            ],
            id="rtc_minutes_are_not_configurable",
        ),
    ],
)
def test_config_typos_are_refused_by_preflights_reader(
    pack_session: PolicyPackSession, tmp_path: Path, properties: dict[str, Any], errors: list[str]
) -> None:
    assert reader_errors(pack_session, tmp_path, {"bucket-replication": properties}) == tuple(errors)


def test_unknown_key_let_through_by_a_lenient_cli_fails_the_analysis(pack_session: PolicyPackSession) -> None:
    configure_leniently(pack_session, "bucket-replication", {"requireReplications": False})
    with pytest.raises(AnalyzerError, match=r"unknown config key 'requireReplications'"):
        pack_session.analyze_stack(_pair())
