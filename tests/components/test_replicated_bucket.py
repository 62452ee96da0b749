"""ReplicatedBucket under Pulumi mocks: regions, encryption, privacy, least-privilege IAM,
the replication rule and its ordering, and protection of what holds data."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_mocks import install, json_input, run

from components.replicated_bucket import ReplicatedBucket, ReplicatedBucketArgs
from preflight.mocks import ACCOUNT_ID, RecordingMonitor
from preflight.records import RecordedResource

PRIMARY, DR = "eu-north-1", "eu-west-1"
SOURCE, REPLICA = "ziggie-prod-assets", "ziggie-prod-assets-eu-west-1"
COMPONENT = "ziggie:aws:ReplicatedBucket"
# Each side's resources by name suffix; "" is the bucket itself.
SIDE_SETTINGS = ("", "-versioning", "-encryption", "-public-access", "-ownership", "-tls-only", "-lifecycle")
SIDE_KEY = ("-key", "-key-alias")
# The way back, from the replica to the source: its configuration sits in the replica's region.
REVERSE = {
    "assets-reverse-replication": DR,
    "assets-reverse-replication-role": None,
    "assets-reverse-replication-policy": None,
}


@pytest.fixture(autouse=True)
def mocks() -> RecordingMonitor:
    return install()


def bucket_args(**overrides: Any) -> ReplicatedBucketArgs:
    values: dict[str, Any] = {
        "bucket_name": SOURCE,
        "replica_bucket_name": REPLICA,
        "primary_region": PRIMARY,
        "dr_region": DR,
        "encryption": "aws:kms",
        "noncurrent_version_days": 45,
        "protect": True,
        "tags": {"project": "ziggie-infra", "stack": "prod"},
    }
    values.update(overrides)
    return ReplicatedBucketArgs(**values)


def build(mocks: RecordingMonitor, **overrides: Any) -> dict[str, RecordedResource]:
    return run(mocks, lambda: ReplicatedBucket("assets", bucket_args(**overrides)))


@pytest.fixture
def kms(mocks: RecordingMonitor) -> dict[str, RecordedResource]:
    return build(mocks)


@pytest.fixture
def aes(mocks: RecordingMonitor) -> dict[str, RecordedResource]:
    return build(mocks, encryption="AES256")


def children(records: dict[str, RecordedResource]) -> dict[str, RecordedResource]:
    return {n: r for n, r in records.items() if r.type.startswith("aws:")}


# --- graph -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encryption", "expected"),
    [
        (
            "aws:kms",
            {f"assets-source{s}": PRIMARY for s in SIDE_SETTINGS + SIDE_KEY}
            | {f"assets-replica{s}": DR for s in SIDE_SETTINGS + SIDE_KEY}
            | {"assets-replication": PRIMARY, "assets-replication-role": None, "assets-replication-policy": None}
            | REVERSE,
        ),
        (
            "AES256",
            {f"assets-source{s}": PRIMARY for s in SIDE_SETTINGS}
            | {f"assets-replica{s}": DR for s in SIDE_SETTINGS}
            | {"assets-replication": PRIMARY, "assets-replication-role": None, "assets-replication-policy": None}
            | REVERSE,
        ),
    ],
    ids=["kms_keys_sit_beside_their_buckets", "aes256_needs_no_keys"],
)
def test_every_resource_names_its_region_and_iam_none(
    mocks: RecordingMonitor, encryption: str, expected: dict[str, str | None]
) -> None:
    records = children(build(mocks, encryption=encryption))
    assert set(records) == set(expected), sorted(set(records) ^ set(expected))
    for name, region in expected.items():
        record = records[name]
        # IAM is global: pulumi-aws v7 has no region argument for it, so none may appear.
        assert record.inputs.get("region") == region, f"{record.urn}: region {record.inputs.get('region')}"


def test_children_are_parented_to_the_component_on_the_default_provider(kms: dict[str, RecordedResource]) -> None:
    (component,) = [r for r in kms.values() if r.type == COMPONENT]
    for record in children(kms).values():
        assert record.parent == component.urn, record.urn
        # No second provider for the DR region: each resource carries its own region instead.
        assert record.provider is None, f"{record.urn}: explicit provider {record.provider}"


@pytest.mark.parametrize(
    ("side", "region"), [("source", PRIMARY), ("replica", DR)], ids=["source_in_primary", "replica_in_dr"]
)
def test_each_bucket_is_encrypted_with_its_own_regions_key(
    kms: dict[str, RecordedResource], side: str, region: str
) -> None:
    key = kms[f"assets-{side}-key"]
    assert key.outputs["arn"].startswith(f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/"), key.urn
    assert key.inputs["enableKeyRotation"] is True, key.urn
    assert key.inputs["deletionWindowInDays"] == 30, key.urn
    alias = kms[f"assets-{side}-key-alias"]
    assert alias.inputs["targetKeyId"] == key.outputs["keyId"], alias.urn
    assert alias.inputs["name"] == f"alias/{SOURCE if side == 'source' else REPLICA}", alias.urn
    encryption = kms[f"assets-{side}-encryption"]
    assert encryption.inputs["rules"] == [
        {
            "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key.outputs["arn"]},
            "bucketKeyEnabled": True,
        }
    ], encryption.urn


@pytest.mark.parametrize("side", ["source", "replica"], ids=["source_aes256", "replica_aes256"])
def test_aes256_encrypts_without_a_key(aes: dict[str, RecordedResource], side: str) -> None:
    encryption = aes[f"assets-{side}-encryption"]
    assert encryption.inputs["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}], (
        encryption.urn
    )


@pytest.mark.parametrize("side", ["source", "replica"], ids=["source_private", "replica_private"])
def test_bucket_is_versioned_private_owner_enforced_and_tls_only(kms: dict[str, RecordedResource], side: str) -> None:
    bucket = kms[f"assets-{side}"]
    name = SOURCE if side == "source" else REPLICA
    assert bucket.inputs["bucket"] == name, bucket.urn
    versioning = kms[f"assets-{side}-versioning"]
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}, versioning.urn
    block = kms[f"assets-{side}-public-access"]
    assert {
        k: block.inputs.get(k)
        for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    } == dict.fromkeys(("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True), (
        block.urn
    )
    ownership = kms[f"assets-{side}-ownership"]
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}, ownership.urn
    policy = kms[f"assets-{side}-tls-only"]
    assert policy.inputs["bucket"] == name, policy.urn
    assert json_input(policy, "policy") == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }, policy.urn


@pytest.mark.parametrize(
    "side", ["source", "replica"], ids=["source_expires_old_versions", "replica_expires_old_versions"]
)
def test_lifecycle_expires_noncurrent_versions_and_stale_uploads(kms: dict[str, RecordedResource], side: str) -> None:
    lifecycle = kms[f"assets-{side}-lifecycle"]
    assert lifecycle.inputs["rules"] == [
        {
            "id": "expire-noncurrent-versions",
            "status": "Enabled",
            "filter": {},
            "noncurrentVersionExpiration": {"noncurrentDays": 45},
            "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7},
        }
    ], lifecycle.urn


# --- IAM -------------------------------------------------------------------------------------


def test_role_is_trusted_by_s3_alone(kms: dict[str, RecordedResource]) -> None:
    role = kms["assets-replication-role"]
    assert json_input(role, "assumeRolePolicy") == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }, role.urn


def test_role_trusts_s3_only_for_the_source_bucket_of_the_given_account(mocks: RecordingMonitor) -> None:
    role = build(mocks, source_account=ACCOUNT_ID)["assets-replication-role"]
    (statement,) = json_input(role, "assumeRolePolicy")["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}, role.urn
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
        "ArnEquals": {"aws:SourceArn": f"arn:aws:s3:::{SOURCE}"},
    }, role.urn


def _grants(policy: dict[str, Any]) -> set[tuple[str, tuple[str, ...], tuple[str, ...], str]]:
    return {
        (s["Effect"], tuple(s["Action"]), tuple(s["Resource"]), str(s.get("Condition", "")))
        for s in policy["Statement"]
    }


def test_role_policy_grants_exactly_these_buckets_and_keys(kms: dict[str, RecordedResource]) -> None:
    record = kms["assets-replication-policy"]
    assert record.inputs["role"] == kms["assets-replication-role"].id, record.urn
    source_key = kms["assets-source-key"].outputs["arn"]
    replica_key = kms["assets-replica-key"].outputs["arn"]
    assert _grants(json_input(record, "policy")) == {
        ("Allow", ("s3:GetReplicationConfiguration", "s3:ListBucket"), (f"arn:aws:s3:::{SOURCE}",), ""),
        (
            "Allow",
            ("s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"),
            (f"arn:aws:s3:::{SOURCE}/*",),
            "",
        ),
        (
            "Allow",
            ("s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"),
            (f"arn:aws:s3:::{REPLICA}/*",),
            "",
        ),
        (
            "Allow",
            ("kms:Decrypt",),
            (source_key,),
            str(
                {
                    "StringEquals": {"kms:ViaService": f"s3.{PRIMARY}.amazonaws.com"},
                    # With Bucket Keys the context is the bucket's ARN; objects from before, their own.
                    "StringLike": {
                        "kms:EncryptionContext:aws:s3:arn": [f"arn:aws:s3:::{SOURCE}", f"arn:aws:s3:::{SOURCE}/*"]
                    },
                }
            ),
        ),
        (
            "Allow",
            ("kms:Encrypt", "kms:GenerateDataKey"),
            (replica_key,),
            str(
                {
                    "StringEquals": {"kms:ViaService": f"s3.{DR}.amazonaws.com"},
                    "StringLike": {
                        "kms:EncryptionContext:aws:s3:arn": [f"arn:aws:s3:::{REPLICA}", f"arn:aws:s3:::{REPLICA}/*"]
                    },
                }
            ),
        ),
    }, record.urn


def test_aes256_role_policy_has_no_kms_grant(aes: dict[str, RecordedResource]) -> None:
    record = aes["assets-replication-policy"]
    actions = {a for s in json_input(record, "policy")["Statement"] for a in s["Action"]}
    assert actions == {
        "s3:GetReplicationConfiguration",
        "s3:ListBucket",
        "s3:GetObjectVersionForReplication",
        "s3:GetObjectVersionAcl",
        "s3:GetObjectVersionTagging",
        "s3:ReplicateObject",
        "s3:ReplicateDelete",
        "s3:ReplicateTags",
    }, record.urn


# --- replication ---------------------------------------------------------------------------------


def test_replication_rule_copies_everything_within_15_minutes(kms: dict[str, RecordedResource]) -> None:
    record = kms["assets-replication"]
    assert record.inputs["bucket"] == SOURCE, record.urn
    assert record.inputs["role"] == kms["assets-replication-role"].outputs["arn"], record.urn
    assert record.inputs["rules"] == [
        {
            "id": "replicate-everything",
            "status": "Enabled",
            "priority": 1,
            "filter": {},
            "deleteMarkerReplication": {"status": "Enabled"},
            "sourceSelectionCriteria": {
                "replicaModifications": {"status": "Enabled"},
                "sseKmsEncryptedObjects": {"status": "Enabled"},
            },
            "destination": {
                "bucket": f"arn:aws:s3:::{REPLICA}",
                "storageClass": "STANDARD",
                "encryptionConfiguration": {"replicaKmsKeyId": kms["assets-replica-key"].outputs["arn"]},
                "replicationTime": {"status": "Enabled", "time": {"minutes": 15}},
                "metrics": {"status": "Enabled", "eventThreshold": {"minutes": 15}},
            },
        }
    ], record.urn


def test_aes256_rule_selects_no_kms_objects_and_sets_no_replica_key(aes: dict[str, RecordedResource]) -> None:
    record = aes["assets-replication"]
    (rule,) = record.inputs["rules"]
    assert rule["sourceSelectionCriteria"] == {"replicaModifications": {"status": "Enabled"}}, record.urn
    assert "encryptionConfiguration" not in rule["destination"], record.urn
    assert rule["destination"]["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}, record.urn


@pytest.mark.parametrize(
    ("dependent", "dependency"),
    [
        ("assets-replication", "assets-source-versioning"),
        ("assets-replication", "assets-replica-versioning"),
        ("assets-replication", "assets-replication-policy"),
        ("assets-source-lifecycle", "assets-source-versioning"),
        ("assets-source-tls-only", "assets-source-public-access"),
    ],
    ids=[
        "s3_rejects_replication_from_an_unversioned_source",
        "s3_rejects_replication_to_an_unversioned_replica",
        "role_must_be_allowed_before_the_first_copy",
        "noncurrent_rules_need_versioning",
        "bucket_policy_and_public_access_block_conflict_when_concurrent",
    ],
)
def test_ordering(kms: dict[str, RecordedResource], dependent: str, dependency: str) -> None:
    record = kms[dependent]
    assert kms[dependency].urn in record.dependencies, f"{record.urn} does not wait for {dependency}"


@pytest.mark.parametrize("protect", [True, False], ids=["prod_protects_data", "dev_can_be_torn_down"])
def test_buckets_and_keys_protected_exactly_when_asked(mocks: RecordingMonitor, protect: bool) -> None:
    records = children(build(mocks, protect=protect))
    stateful = {"assets-source", "assets-replica", "assets-source-key", "assets-replica-key"}
    for name, record in records.items():
        assert record.protect is (protect and name in stateful), f"{record.urn}: protect={record.protect}"


def test_outputs_name_the_buckets_and_role(mocks: RecordingMonitor) -> None:
    seen: dict[str, str] = {}

    def program() -> None:
        bucket = ReplicatedBucket("assets", bucket_args())
        for attr in ("source_arn", "replica_arn", "replica_bucket", "role_arn"):
            getattr(bucket, attr).apply(lambda v, a=attr: seen.__setitem__(a, v))

    records = run(mocks, program)
    assert seen == {
        "source_arn": f"arn:aws:s3:::{SOURCE}",
        "replica_arn": f"arn:aws:s3:::{REPLICA}",
        "replica_bucket": REPLICA,
        "role_arn": records["assets-replication-role"].outputs["arn"],
    }


# --- args ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"dr_region": PRIMARY}, "dr_region must differ from primary_region 'eu-north-1'"),
        ({"replica_bucket_name": SOURCE}, "replica_bucket_name must differ from bucket_name"),
        ({"bucket_name": "Ziggie_Assets"}, "bucket_name 'Ziggie_Assets' is not a valid bucket name"),
        (
            {"replica_bucket_name": "ziggie.assets.dr"},
            "replica_bucket_name 'ziggie.assets.dr' is not a valid bucket name",
        ),
        ({"primary_region": "europe"}, "primary_region 'europe' is not an AWS region name"),
        ({"noncurrent_version_days": 0}, "noncurrent_version_days must be at least 1, not 0"),
        ({"encryption": "aws:kms:dsse"}, "encryption must be 'aws:kms' or 'AES256'"),
        ({"source_account": "12345"}, "source_account '12345' is not a 12-digit AWS account id"),
    ],
    ids=[
        "same_region_survives_no_outage",
        "replica_needs_its_own_bucket",
        "uppercase_and_underscore_not_allowed",
        "dots_break_tls_and_kms_alias",
        "region_not_a_region",
        "noncurrent_versions_kept_zero_days",
        "dsse_not_offered",
        "account_id_not_12_digits",
    ],
)
def test_invalid_args_are_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        bucket_args(**overrides)


def test_valid_args_pass() -> None:
    args = bucket_args()
    assert (args.bucket_name, args.replica_bucket_name) == (SOURCE, REPLICA)


# --- both ways, and a backup copy that outlives a deletion ------------------------------------


def test_reverse_rule_brings_failover_writes_back(kms: dict[str, RecordedResource]) -> None:
    reverse = kms["assets-reverse-replication"]
    assert reverse.inputs["bucket"] == REPLICA, reverse.urn
    assert reverse.inputs["region"] == DR, reverse.urn
    # Its own role, not the forward one: each role reads one bucket and writes the other.
    assert reverse.inputs["role"] == kms["assets-reverse-replication-role"].outputs["arn"], reverse.urn
    assert reverse.inputs["role"] != kms["assets-replication"].inputs["role"], reverse.urn
    (rule,) = reverse.inputs["rules"]
    assert rule["destination"]["bucket"] == f"arn:aws:s3:::{SOURCE}", reverse.urn
    assert rule["destination"]["encryptionConfiguration"] == {
        "replicaKmsKeyId": kms["assets-source-key"].outputs["arn"]
    }, reverse.urn
    assert rule["sourceSelectionCriteria"] == {
        "replicaModifications": {"status": "Enabled"},
        "sseKmsEncryptedObjects": {"status": "Enabled"},
    }, reverse.urn
    # Replica modification sync on both buckets: S3 keeps metadata in step only then.
    (forward,) = kms["assets-replication"].inputs["rules"]
    assert forward["sourceSelectionCriteria"]["replicaModifications"] == {"status": "Enabled"}
    policy = json_input(kms["assets-reverse-replication-policy"], "policy")
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ReadSourceVersions"]["Resource"] == [f"arn:aws:s3:::{REPLICA}/*"]
    assert by_sid["WriteReplica"]["Resource"] == [f"arn:aws:s3:::{SOURCE}/*"]
    assert by_sid["DecryptSource"]["Resource"] == [kms["assets-replica-key"].outputs["arn"]]
    assert by_sid["DecryptSource"]["Condition"]["StringEquals"] == {"kms:ViaService": f"s3.{DR}.amazonaws.com"}
    assert by_sid["EncryptReplica"]["Resource"] == [kms["assets-source-key"].outputs["arn"]]
    deps = set(reverse.dependencies)
    for name in ("assets-source-versioning", "assets-replica-versioning", "assets-reverse-replication-policy"):
        assert kms[name].urn in deps, f"reverse replication does not wait for {name}"


@pytest.fixture
def backups(mocks: RecordingMonitor) -> dict[str, RecordedResource]:
    return build(mocks, two_way=False, replicate_deletes=False, object_lock_days=30)


def test_backup_replica_keeps_what_prod_deletes(backups: dict[str, RecordedResource]) -> None:
    assert not [n for n in backups if n.startswith("assets-reverse")]
    (rule,) = backups["assets-replication"].inputs["rules"]
    assert rule["deleteMarkerReplication"] == {"status": "Disabled"}
    lock = backups["assets-replica-object-lock"]
    assert lock.type == "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", lock.urn
    assert {k: lock.inputs[k] for k in ("bucket", "objectLockEnabled", "rule", "region")} == {
        "bucket": REPLICA,
        "objectLockEnabled": "Enabled",
        "rule": {"defaultRetention": {"mode": "GOVERNANCE", "days": 30}},
        "region": DR,
    }, lock.urn
    assert "expectedBucketOwner" not in lock.inputs and "token" not in lock.inputs, lock.urn
    assert backups["assets-replica-versioning"].urn in lock.dependencies, lock.urn
    assert lock.protect, lock.urn
    read = {s["Sid"]: s for s in json_input(backups["assets-replication-policy"], "policy")["Statement"]}
    assert {"s3:GetObjectRetention", "s3:GetObjectLegalHold"} <= set(read["ReadSourceVersions"]["Action"])


def test_assets_replicate_deletions_and_have_no_lock(kms: dict[str, RecordedResource]) -> None:
    (rule,) = kms["assets-replication"].inputs["rules"]
    assert rule["deleteMarkerReplication"] == {"status": "Enabled"}
    assert "assets-replica-object-lock" not in kms


@pytest.mark.parametrize("encryption", ["aws:kms", "AES256"])
@pytest.mark.parametrize("settings", [{}, {"two_way": False, "replicate_deletes": False, "object_lock_days": 30}])
def test_iam_documents_pass_parliament(mocks: RecordingMonitor, encryption: str, settings: dict[str, Any]) -> None:
    """Every permission policy the component writes, read by parliament: real actions, resources and
    condition keys. (Trust policies are resource policies, which parliament 1.6 reads as identity
    policies and so rejects for having no Resource; their content is asserted above.)"""
    parliament = pytest.importorskip("parliament")
    records = build(mocks, encryption=encryption, source_account=ACCOUNT_ID, **settings)
    documents = [
        (r.urn, key)
        for r in records.values()
        for key in ("policy",)
        if r.type.startswith("aws:iam/") and key in r.inputs
    ]
    assert len(documents) == (2 if not settings else 1)
    for urn, key in documents:
        record = next(r for r in records.values() if r.urn == urn)
        text = json.dumps(json_input(record, key))
        findings = parliament.analyze_policy_string(
            text, ignore_private_auditors=True, include_community_auditors=False
        ).findings
        assert [(f.issue, f.detail) for f in findings] == [], f"{urn}: {key}"


def test_parliament_catches_a_misspelt_action() -> None:
    parliament = pytest.importorskip("parliament")
    findings = parliament.analyze_policy_string(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ReplicateObjects", '
        '"Resource": "arn:aws:s3:::ziggie-prod-assets/*"}]}'
    ).findings
    assert [f.issue for f in findings] == ["UNKNOWN_ACTION"]


def test_object_lock_days_are_checked() -> None:
    with pytest.raises(ValueError, match="object_lock_days must be 1 to 36500, not 0"):
        bucket_args(object_lock_days=0)
