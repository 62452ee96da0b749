"""Resource-graph tests of the AWS disaster-recovery components under Pulumi mocks:
regions, least-privilege IAM, ordering, protection, and secrets that stay secret."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest
from aws_mocks import install, run

from components.dns_failover import DnsFailover, DnsFailoverArgs
from components.replicated_bucket import ReplicatedBucket, ReplicatedBucketArgs
from components.replicated_secret import ReplicatedSecret, ReplicatedSecretArgs, replica_arn
from preflight.mocks import ACCOUNT_ID, RecordingMonitor
from preflight.records import RecordedResource, is_secret

PRIMARY, DR = "eu-north-1", "eu-west-1"
SECRET_VALUE = "s3cr3t-never-plain"


@pytest.fixture(autouse=True)
def mocks() -> RecordingMonitor:
    return install()


def bucket_args(**overrides: Any) -> ReplicatedBucketArgs:
    values: dict[str, Any] = {
        "bucket_name": "ziggie-prod-assets",
        "replica_bucket_name": "ziggie-prod-assets-eu-west-1",
        "primary_region": PRIMARY,
        "dr_region": DR,
        "protect": True,
    }
    values.update(overrides)
    return ReplicatedBucketArgs(**values)


@pytest.fixture
def kms_bucket(mocks: RecordingMonitor) -> dict[str, RecordedResource]:
    return run(mocks, lambda: ReplicatedBucket("assets", bucket_args()))


def test_every_resource_sits_in_its_intended_region(kms_bucket: dict[str, RecordedResource]) -> None:
    for name, record in kms_bucket.items():
        if record.type.startswith("aws:iam/"):
            assert "region" not in record.inputs, f"{record.urn}: IAM is global"
        elif record.type.startswith("aws:"):
            expected = DR if name.startswith(("assets-replica", "assets-reverse")) else PRIMARY
            if name.startswith("assets-replication"):
                expected = PRIMARY
            assert record.inputs.get("region") == expected, record.urn


def test_both_buckets_versioned_encrypted_private_tls_only(kms_bucket: dict[str, RecordedResource]) -> None:
    for side, region in (("source", PRIMARY), ("replica", DR)):
        key_arn = kms_bucket[f"assets-{side}-key"].outputs["arn"]
        assert f":{region}:" in key_arn
        assert kms_bucket[f"assets-{side}-versioning"].inputs["versioningConfiguration"] == {"status": "Enabled"}
        rule = kms_bucket[f"assets-{side}-encryption"].inputs["rules"][0]
        assert rule == {
            "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn},
            "bucketKeyEnabled": True,
        }
        block = kms_bucket[f"assets-{side}-public-access"].inputs
        assert all(
            block[k] is True
            for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        )
        assert kms_bucket[f"assets-{side}-ownership"].inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
        policy = json.loads(kms_bucket[f"assets-{side}-tls-only"].inputs["policy"])
        (statement,) = policy["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        lifecycle = kms_bucket[f"assets-{side}-lifecycle"].inputs["rules"][0]
        assert lifecycle["noncurrentVersionExpiration"] == {"noncurrentDays": 30}


def test_replication_role_is_least_privilege(kms_bucket: dict[str, RecordedResource]) -> None:
    trust = json.loads(kms_bucket["assets-replication-role"].inputs["assumeRolePolicy"])
    assert trust["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    source_key = kms_bucket["assets-source-key"].outputs["arn"]
    replica_key = kms_bucket["assets-replica-key"].outputs["arn"]
    policy = json.loads(kms_bucket["assets-replication-policy"].inputs["policy"])
    granted = {(tuple(s["Action"]), tuple(s["Resource"])) for s in policy["Statement"]}
    assert granted == {
        (("s3:GetReplicationConfiguration", "s3:ListBucket"), ("arn:aws:s3:::ziggie-prod-assets",)),
        (
            ("s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"),
            ("arn:aws:s3:::ziggie-prod-assets/*",),
        ),
        (
            ("s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"),
            ("arn:aws:s3:::ziggie-prod-assets-eu-west-1/*",),
        ),
        (("kms:Decrypt",), (source_key,)),
        (("kms:Encrypt", "kms:GenerateDataKey"), (replica_key,)),
    }
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])
    assert not [r for s in policy["Statement"] for r in s["Resource"] if r == "*" or r.endswith(":*")]


def test_replication_rule_has_rtc_metrics_delete_markers(kms_bucket: dict[str, RecordedResource]) -> None:
    config = kms_bucket["assets-replication"].inputs
    assert config["bucket"] == "ziggie-prod-assets"
    assert config["role"] == kms_bucket["assets-replication-role"].outputs["arn"]
    (rule,) = config["rules"]
    assert rule["status"] == "Enabled"
    assert rule["deleteMarkerReplication"] == {"status": "Enabled"}
    assert rule["sourceSelectionCriteria"] == {
        "replicaModifications": {"status": "Enabled"},
        "sseKmsEncryptedObjects": {"status": "Enabled"},
    }
    destination = rule["destination"]
    assert destination["bucket"] == "arn:aws:s3:::ziggie-prod-assets-eu-west-1"
    assert destination["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
    assert destination["metrics"] == {"status": "Enabled", "eventThreshold": {"minutes": 15}}
    assert destination["encryptionConfiguration"] == {
        "replicaKmsKeyId": kms_bucket["assets-replica-key"].outputs["arn"]
    }


def test_replication_is_ordered_after_both_versionings(kms_bucket: dict[str, RecordedResource]) -> None:
    deps = set(kms_bucket["assets-replication"].dependencies)
    for name in ("assets-source-versioning", "assets-replica-versioning", "assets-replication-policy"):
        assert kms_bucket[name].urn in deps, f"replication does not wait for {name}"


@pytest.mark.parametrize(("protect", "expected"), [(True, True), (False, False)], ids=["prod_protects", "dev_does_not"])
def test_stateful_resources_protected_when_asked(mocks: RecordingMonitor, protect: bool, expected: bool) -> None:
    records = run(mocks, lambda: ReplicatedBucket("assets", bucket_args(protect=protect)))
    stateful = [r for r in records.values() if r.type in ("aws:s3/bucket:Bucket", "aws:kms/key:Key")]
    assert len(stateful) == 4
    assert all(r.protect is expected for r in stateful)
    assert not any(r.protect for r in records.values() if r not in stateful)


def test_aes256_needs_no_keys_and_no_kms_grants(mocks: RecordingMonitor) -> None:
    records = run(mocks, lambda: ReplicatedBucket("assets", bucket_args(encryption="AES256")))
    assert not [r for r in records.values() if r.type.startswith("aws:kms/")]
    policy = json.loads(records["assets-replication-policy"].inputs["policy"])
    assert not [s for s in policy["Statement"] if any(a.startswith("kms:") for a in s["Action"])]
    rule = records["assets-source-encryption"].inputs["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"dr_region": PRIMARY}, "dr_region must differ"),
        ({"replica_bucket_name": "ziggie-prod-assets"}, "its own bucket name"),
        ({"noncurrent_version_days": 0}, "at least 1"),
    ],
    ids=["same_region", "same_bucket_name", "no_noncurrent_days"],
)
def test_bucket_args_are_checked(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bucket_args(**overrides)


def test_secret_is_replicated_and_its_value_stays_secret(mocks: RecordingMonitor) -> None:
    def build() -> None:
        ReplicatedSecret(
            "postgres",
            ReplicatedSecretArgs(
                secret_name="ziggie/prod/postgresPassword",
                value=pulumi.Output.secret(SECRET_VALUE),
                primary_region=PRIMARY,
                dr_region=DR,
                protect=True,
            ),
        )

    records = run(mocks, build)
    secret = records["postgres-secret"]
    assert secret.inputs["region"] == PRIMARY
    assert secret.inputs["replicas"] == [{"region": DR}]
    assert secret.inputs["recoveryWindowInDays"] == 7
    assert secret.protect
    value = records["postgres-value"].inputs["secretString"]
    assert is_secret(value), records["postgres-value"].urn
    for record in records.values():
        plain = json.dumps({k: v for k, v in record.inputs.items() if not is_secret(v)})
        assert SECRET_VALUE not in plain, record.urn


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        (
            f"arn:aws:secretsmanager:{PRIMARY}:{ACCOUNT_ID}:secret:ziggie/prod/x-AbCdEf",
            f"arn:aws:secretsmanager:{DR}:{ACCOUNT_ID}:secret:ziggie/prod/x-AbCdEf",
        ),
    ],
    ids=["region_segment_swapped_name_and_suffix_kept"],
)
def test_replica_arn_derivation(arn: str, expected: str) -> None:
    assert replica_arn(arn, PRIMARY, DR) == expected


@pytest.mark.parametrize(
    "arn",
    [f"arn:aws:secretsmanager:{DR}:{ACCOUNT_ID}:secret:x", "arn:aws:s3:::bucket"],
    ids=["wrong_region", "not_a_secret"],
)
def test_replica_arn_refuses_other_arns(arn: str) -> None:
    with pytest.raises(ValueError, match="is not a Secrets Manager ARN"):
        replica_arn(arn, PRIMARY, DR)


def dns_args(**overrides: Any) -> DnsFailoverArgs:
    values: dict[str, Any] = {
        "zone_name": "ziggie.example",
        "record_name": "app.ziggie.example",
        "target": "vps1.ziggie.example",
        "probe_ip": "203.0.113.10",
        "role": "PRIMARY",
        "set_identifier": "prod-primary",
    }
    values.update(overrides)
    return DnsFailoverArgs(**values)


def test_primary_record_has_its_health_check(mocks: RecordingMonitor) -> None:
    records = run(mocks, lambda: DnsFailover("dns", dns_args()))
    check = records["dns-health"]
    assert {
        k: check.inputs[k]
        for k in ("type", "fqdn", "port", "resourcePath", "requestInterval", "failureThreshold", "measureLatency")
    } == {
        "type": "HTTPS",
        "fqdn": "app.ziggie.example",
        "port": 443,
        "resourcePath": "/health",
        "requestInterval": 30,
        "failureThreshold": 3,
        "measureLatency": True,
    }
    record = records["dns-record"].inputs
    assert record["failoverRoutingPolicies"] == [{"type": "PRIMARY"}]
    assert record["healthCheckId"] == check.id
    assert record["ttl"] == 60
    assert record["zoneId"] == records["dns-zone"].id
    assert records["dns-zone"].inputs["name"] == "ziggie.example"
    assert "region" not in records["dns-zone"].inputs and "region" not in check.inputs
    alarm = records["dns-health-alarm"].inputs
    assert alarm["region"] == "us-east-1"
    assert alarm["dimensions"] == {"HealthCheckId": check.id}


def test_secondary_uses_the_existing_zone(mocks: RecordingMonitor) -> None:
    records = run(
        mocks,
        lambda: DnsFailover(
            "dns",
            dns_args(role="SECONDARY", set_identifier="dr-secondary", zone_id="Z0123456789ABCDEFGHIJ", alarm=False),
        ),
    )
    assert "dns-zone" not in records and "dns-health-alarm" not in records
    record = records["dns-record"].inputs
    assert record["zoneId"] == "Z0123456789ABCDEFGHIJ"
    assert record["setIdentifier"] == "dr-secondary"
    assert record["failoverRoutingPolicies"] == [{"type": "SECONDARY"}]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"request_interval": 20}, "10 or 30"),
        ({"failure_threshold": 11}, "1 to 10"),
        ({"regions": ("eu-west-1", "us-east-1")}, "three checker regions"),
    ],
    ids=["interval_not_10_or_30", "threshold_above_10", "two_checker_regions"],
)
def test_dns_args_are_checked(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dns_args(**overrides)
