"""A data bucket in the primary region with its replica in the DR region.

Both buckets are versioned, encrypted (SSE-KMS with a key per region, or AES256), closed to
the public, bucket-owner-enforced and TLS-only, with noncurrent versions expiring. Replication
copies every object, delete marker and replica change within 15 minutes (S3 Replication Time
Control), which is what the seed's RPO of about zero rests on.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

# S3 Replication Time Control has one setting: replicate within 15 minutes.
RTC_MINUTES = 15


@dataclass(frozen=True)
class ReplicatedBucketArgs:
    """Names, regions and settings of one replicated bucket pair."""

    bucket_name: str
    replica_bucket_name: str
    primary_region: str
    dr_region: str
    encryption: Literal["aws:kms", "AES256"] = "aws:kms"
    noncurrent_version_days: int = 30
    protect: bool = False
    """Protect the buckets and keys (prod): deleting them would lose data."""
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.primary_region == self.dr_region:
            raise ValueError(f"dr_region must differ from primary_region {self.primary_region}")
        if self.bucket_name == self.replica_bucket_name:
            raise ValueError("the replica needs its own bucket name")
        if self.noncurrent_version_days < 1:
            raise ValueError("noncurrent_version_days must be at least 1")


@dataclass
class _Side:
    """One region's bucket and everything attached to it."""

    bucket: aws.s3.Bucket
    key: aws.kms.Key | None
    versioning: aws.s3.BucketVersioning
    encryption: aws.s3.BucketServerSideEncryptionConfiguration
    public_access: aws.s3.BucketPublicAccessBlock
    ownership: aws.s3.BucketOwnershipControls
    policy: aws.s3.BucketPolicy
    lifecycle: aws.s3.BucketLifecycleConfiguration


def tls_only_policy(bucket_arn: str) -> str:
    """A bucket policy that refuses any request not made over TLS."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def replication_policy(
    source_arn: str, replica_arn: str, source_key: str | None, replica_key: str | None, primary: str, dr: str
) -> str:
    """The replication role's permissions: exactly these buckets and keys, nothing else."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadSourceConfiguration",
            "Effect": "Allow",
            "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
            "Resource": [source_arn],
        },
        {
            "Sid": "ReadSourceVersions",
            "Effect": "Allow",
            "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
            "Resource": [f"{source_arn}/*"],
        },
        {
            "Sid": "WriteReplica",
            "Effect": "Allow",
            "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
            "Resource": [f"{replica_arn}/*"],
        },
    ]
    if source_key and replica_key:
        # kms:ViaService keeps each key usable by the role only through S3 in its own region.
        statements += [
            {
                "Sid": "DecryptSource",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [source_key],
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{primary}.amazonaws.com"}},
            },
            {
                "Sid": "EncryptReplica",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": [replica_key],
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{dr}.amazonaws.com"}},
            },
        ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


class ReplicatedBucket(pulumi.ComponentResource):
    """A private, versioned, encrypted bucket continuously replicated to the DR region."""

    source_side: _Side
    replica_side: _Side
    source: aws.s3.Bucket
    replica: aws.s3.Bucket
    source_key: aws.kms.Key | None
    replica_key: aws.kms.Key | None
    source_versioning: aws.s3.BucketVersioning
    replica_versioning: aws.s3.BucketVersioning
    role: aws.iam.Role
    role_policy: aws.iam.RolePolicy
    replication: aws.s3.BucketReplicationConfig
    source_arn: pulumi.Output[str]
    replica_arn: pulumi.Output[str]
    replica_bucket: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ReplicatedBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ziggie:aws:ReplicatedBucket", name, None, opts)
        source = self._side(f"{name}-source", args.bucket_name, args.primary_region, args)
        replica = self._side(f"{name}-replica", args.replica_bucket_name, args.dr_region, args)
        self.source_side, self.replica_side = source, replica
        self.source, self.replica = source.bucket, replica.bucket
        self.source_key, self.replica_key = source.key, replica.key
        self.source_versioning, self.replica_versioning = source.versioning, replica.versioning

        # IAM is global: the role and its policy have no region.
        self.role = aws.iam.Role(
            f"{name}-replication-role",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "s3.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-replication-policy",
            role=self.role.id,
            policy=pulumi.Output.all(
                self.source.arn,
                self.replica.arn,
                source.key.arn if source.key else None,
                replica.key.arn if replica.key else None,
            ).apply(lambda a: replication_policy(a[0], a[1], a[2], a[3], args.primary_region, args.dr_region)),
            opts=pulumi.ResourceOptions(parent=self),
        )

        destination: aws.s3.BucketReplicationConfigRuleDestinationArgsDict = {
            "bucket": self.replica.arn,
            "storage_class": "STANDARD",
            "replication_time": {"status": "Enabled", "time": {"minutes": RTC_MINUTES}},
            "metrics": {"status": "Enabled", "event_threshold": {"minutes": RTC_MINUTES}},
        }
        criteria: aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgsDict = {
            "replica_modifications": {"status": "Enabled"}
        }
        if replica.key is not None:
            destination["encryption_configuration"] = {"replica_kms_key_id": replica.key.arn}
            criteria["sse_kms_encrypted_objects"] = {"status": "Enabled"}
        rule: aws.s3.BucketReplicationConfigRuleArgsDict = {
            "id": "replicate-all",
            "status": "Enabled",
            "priority": 1,
            "filter": {},
            "delete_marker_replication": {"status": "Enabled"},
            "source_selection_criteria": criteria,
            "destination": destination,
        }
        # S3 refuses a replication configuration while either bucket is unversioned, and the
        # role must be able to act before the first object is copied.
        self.replication = aws.s3.BucketReplicationConfig(
            f"{name}-replication",
            bucket=self.source.id,
            role=self.role.arn,
            rules=[rule],
            region=args.primary_region,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[source.versioning, replica.versioning, self.role_policy]
            ),
        )

        self.source_arn = self.source.arn
        self.replica_arn = self.replica.arn
        self.replica_bucket = self.replica.bucket
        self.role_arn = self.role.arn
        self.register_outputs(
            {
                "source_arn": self.source_arn,
                "replica_arn": self.replica_arn,
                "replica_bucket": self.replica_bucket,
                "role_arn": self.role_arn,
            }
        )

    def _side(self, prefix: str, bucket_name: str, region: str, args: ReplicatedBucketArgs) -> _Side:
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect)
        child = pulumi.ResourceOptions(parent=self)
        key = None
        if args.encryption == "aws:kms":
            key = aws.kms.Key(
                f"{prefix}-key",
                description=f"Encrypts s3://{bucket_name}",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                region=region,
                tags=dict(args.tags),
                opts=stateful,
            )
            aws.kms.Alias(
                f"{prefix}-key-alias",
                name=f"alias/{bucket_name}",
                target_key_id=key.key_id,
                region=region,
                opts=child,
            )
        bucket = aws.s3.Bucket(f"{prefix}", bucket=bucket_name, region=region, tags=dict(args.tags), opts=stateful)
        versioning = aws.s3.BucketVersioning(
            f"{prefix}-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
            region=region,
            opts=child,
        )
        default: aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgsDict = {
            "sse_algorithm": args.encryption
        }
        if key is not None:
            default["kms_master_key_id"] = key.arn
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{prefix}-encryption",
            bucket=bucket.id,
            # One data key per bucket instead of per object: fewer KMS calls, same protection.
            rules=[{"apply_server_side_encryption_by_default": default, "bucket_key_enabled": key is not None}],
            region=region,
            opts=child,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{prefix}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            region=region,
            opts=child,
        )
        ownership = aws.s3.BucketOwnershipControls(
            f"{prefix}-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            region=region,
            opts=child,
        )
        policy = aws.s3.BucketPolicy(
            f"{prefix}-tls-only",
            bucket=bucket.id,
            policy=bucket.arn.apply(tls_only_policy),
            region=region,
            # A bucket policy put before the public access block could be judged public.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{prefix}-lifecycle",
            bucket=bucket.id,
            rules=[
                {
                    "id": "expire-noncurrent-versions",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_version_days},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            region=region,
            # Lifecycle rules on versions need versioning in place first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        return _Side(bucket, key, versioning, encryption, public_access, ownership, policy, lifecycle)
