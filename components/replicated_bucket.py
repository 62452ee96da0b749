"""A data bucket in the primary region and its replica in the DR region.

Both buckets are versioned, encrypted (SSE-KMS with a key of their own region, or AES256),
closed to the public, bucket-owner-enforced and TLS-only, and let noncurrent versions expire.
Replication copies every object and replica change, with S3 Replication Time Control's
15-minute threshold and its metrics: the seed's RPO of about zero rests on that.

Per bucket: `two_way` adds a reverse rule on the replica (its own role, reading the replica's
key and writing with the source's), so what is written in the DR region during a failover
comes back; replica modification sync is on in both directions, as S3 requires for metadata
changes to follow. `replicate_deletes` off keeps deletions from reaching the replica, and
`object_lock_days` puts the replica under S3 Object Lock in governance mode: a backup copy
that a deletion in prod - or a stolen prod credential - cannot take away.

Every regional resource names its region itself (pulumi-aws v7's per-resource `region`), so
one provider serves both regions. IAM is global: the role and its policy take no region.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

# S3 Replication Time Control has exactly one threshold: 15 minutes.
RTC_MINUTES = 15
# Multipart uploads nobody completes still cost storage; a week is ample for any real upload.
ABORT_MULTIPART_DAYS = 7
KMS_DELETION_WINDOW_DAYS = 30
# S3 takes a default retention of up to 100 years.
MAX_LOCK_DAYS = 36500
# S3's own naming rule, minus dots: a dotted name breaks virtual-hosted-style TLS and is not a
# valid KMS alias name, which reuses the bucket name.
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")
_ACCOUNT = re.compile(r"^[0-9]{12}$")


def bucket_arn(bucket_name: str) -> str:
    """An S3 bucket ARN: bucket names are global, so it carries neither region nor account."""
    return f"arn:aws:s3:::{bucket_name}"


@dataclass(frozen=True)
class ReplicatedBucketArgs:
    """Names, regions and settings of one replicated bucket pair."""

    bucket_name: str
    """The source bucket's name, explicit so previews and policies know it."""
    replica_bucket_name: str
    primary_region: str
    dr_region: str
    encryption: Literal["aws:kms", "AES256"] = "aws:kms"
    noncurrent_version_days: int = 30
    """Days a replaced or deleted object version is kept before it expires."""
    protect: bool = False
    """Protect the buckets and keys (prod): deleting either loses data."""
    tags: Mapping[str, str] = field(default_factory=dict)
    two_way: bool = True
    """Replicate back from the replica to the source too (a reverse rule with its own role)."""
    replicate_deletes: bool = True
    """Replicate delete markers; off for a backup copy whose point is to outlive a deletion."""
    object_lock_days: int | None = None
    """Governance-mode Object Lock retention on every replica object version, in days; None for none."""
    source_account: str | None = None
    """This account's id. When given, the replication role trusts S3 only for the source bucket
    of this account (`aws:SourceAccount`/`aws:SourceArn`); see `trust_policy` for why it is opt-in."""

    def __post_init__(self) -> None:
        for label, name in (("bucket_name", self.bucket_name), ("replica_bucket_name", self.replica_bucket_name)):
            if not _BUCKET_NAME.match(name):
                raise ValueError(
                    f"{label} {name!r} is not a valid bucket name: 3-63 lowercase letters, digits and "
                    "hyphens, starting and ending with a letter or digit (no dots)"
                )
        if self.bucket_name == self.replica_bucket_name:
            raise ValueError(
                f"replica_bucket_name must differ from bucket_name {self.bucket_name!r}: the replica needs its own bucket name"
            )
        for label, region in (("primary_region", self.primary_region), ("dr_region", self.dr_region)):
            if not _REGION.match(region):
                raise ValueError(f"{label} {region!r} is not an AWS region name such as eu-north-1")
        if self.primary_region == self.dr_region:
            raise ValueError(
                f"dr_region must differ from primary_region {self.primary_region!r}: "
                "a replica in the same region survives no regional outage"
            )
        if self.encryption not in ("aws:kms", "AES256"):
            raise ValueError(f"encryption must be 'aws:kms' or 'AES256', not {self.encryption!r}")
        if self.noncurrent_version_days < 1:
            raise ValueError(f"noncurrent_version_days must be at least 1, not {self.noncurrent_version_days}")
        if self.object_lock_days is not None and not 1 <= self.object_lock_days <= MAX_LOCK_DAYS:
            raise ValueError(f"object_lock_days must be 1 to {MAX_LOCK_DAYS}, not {self.object_lock_days}")
        if self.source_account is not None and not _ACCOUNT.match(self.source_account):
            raise ValueError(f"source_account {self.source_account!r} is not a 12-digit AWS account id")


@dataclass(frozen=True)
class BucketSide:
    """One region's bucket and every resource attached to it."""

    region: str
    key: aws.kms.Key | None
    key_alias: aws.kms.Alias | None
    bucket: aws.s3.Bucket
    versioning: aws.s3.BucketVersioning
    encryption: aws.s3.BucketServerSideEncryptionConfiguration
    public_access: aws.s3.BucketPublicAccessBlock
    ownership: aws.s3.BucketOwnershipControls
    tls_only: aws.s3.BucketPolicy
    lifecycle: aws.s3.BucketLifecycleConfiguration

    def children(self) -> dict[str, pulumi.Resource | None]:
        """The side's resources by field name, for `register_outputs`."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "region"}


def tls_only_policy(arn: str) -> str:
    """A bucket policy that refuses every request not made over TLS."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [arn, f"{arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def trust_policy(source_bucket: str, source_account: str | None) -> str:
    """Who may assume the replication role: S3, and with an account given, only for our bucket.

    The bucket ARN is derivable from the name alone, but the account id is not without a
    `getCallerIdentity` call, so the conditions are opt-in. AWS's replication guide shows the
    bare S3 principal and does not document that S3 fills `aws:SourceArn`/`aws:SourceAccount`
    when it assumes a replication role; a condition on a key that is missing denies the
    AssumeRole, and replication would then fail object by object, silently. Without them the
    guard is `iam:PassRole`: only principals of this account allowed to pass this role can name
    it in a replication configuration, and a role cannot be passed across accounts.
    """
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    if source_account is not None:
        statement["Condition"] = {
            "StringEquals": {"aws:SourceAccount": source_account},
            "ArnEquals": {"aws:SourceArn": bucket_arn(source_bucket)},
        }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _s3_context(bucket: str) -> dict[str, Any]:
    """The KMS encryption context S3 uses for objects of `bucket`.

    S3 passes `aws:s3:arn` as the encryption context: the object's ARN, or, with S3 Bucket Keys
    on (as here), the bucket's ARN, since the data key then belongs to the bucket. Both are
    allowed so that objects written before Bucket Keys were enabled still replicate.
    """
    return {"StringLike": {"kms:EncryptionContext:aws:s3:arn": [bucket, f"{bucket}/*"]}}


def replication_policy(
    source_arn: str,
    replica_arn: str,
    source_key_arn: str | None,
    replica_key_arn: str | None,
    primary_region: str,
    dr_region: str,
    *,
    locked_replica: bool = False,
) -> str:
    """The replication role's permissions: exactly these two buckets and two keys.

    `source_*` is where this role reads and `replica_*` where it writes, whichever direction
    it serves; `primary_region` is the source's region and `dr_region` the replica's.
    """
    read_versions = ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"]
    if locked_replica:
        # Replicating into an Object Lock bucket reads each version's retention and legal hold.
        read_versions += ["s3:GetObjectRetention", "s3:GetObjectLegalHold"]
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
            "Action": read_versions,
            "Resource": [f"{source_arn}/*"],
        },
        {
            "Sid": "WriteReplica",
            "Effect": "Allow",
            "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
            "Resource": [f"{replica_arn}/*"],
        },
    ]
    if source_key_arn is not None and replica_key_arn is not None:
        # kms:ViaService lets the role use each key only through S3 in that key's own region,
        # never by calling KMS directly; the encryption context only for these two buckets'
        # objects (AWS's replication guide, "Granting additional permissions for KMS").
        statements += [
            {
                "Sid": "DecryptSource",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [source_key_arn],
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"s3.{primary_region}.amazonaws.com"},
                    **_s3_context(source_arn),
                },
            },
            {
                "Sid": "EncryptReplica",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": [replica_key_arn],
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"s3.{dr_region}.amazonaws.com"},
                    **_s3_context(replica_arn),
                },
            },
        ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@dataclass(frozen=True)
class Direction:
    """One direction of replication: the role S3 assumes, its permissions and the rule."""

    role: aws.iam.Role
    role_policy: aws.iam.RolePolicy
    replication: aws.s3.BucketReplicationConfig


class ReplicatedBucket(pulumi.ComponentResource):
    """A private, versioned, encrypted bucket continuously replicated to the DR region."""

    source: BucketSide
    replica: BucketSide
    replica_lock: aws.s3.BucketObjectLockConfiguration | None
    forward: Direction
    reverse: Direction | None
    role: aws.iam.Role
    role_policy: aws.iam.RolePolicy
    replication: aws.s3.BucketReplicationConfig
    source_arn: pulumi.Output[str]
    replica_arn: pulumi.Output[str]
    replica_bucket: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ReplicatedBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ziggie:aws:ReplicatedBucket", name, None, opts)
        self.source = self._side(f"{name}-source", args.bucket_name, args.primary_region, args)
        self.replica = self._side(f"{name}-replica", args.replica_bucket_name, args.dr_region, args)
        source, replica = self.source, self.replica

        self.replica_lock = None
        if args.object_lock_days is not None:
            # Governance mode: nobody without s3:BypassGovernanceRetention can delete or
            # overwrite a replica version before its retention ends, and whoever has it can
            # (compliance mode would bind even the account's root). Needs versioning first;
            # once on, S3 never lets Object Lock (or versioning) be turned off on this bucket.
            self.replica_lock = aws.s3.BucketObjectLockConfiguration(
                f"{name}-replica-object-lock",
                bucket=replica.bucket.id,
                object_lock_enabled="Enabled",
                rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                    default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                        mode="GOVERNANCE", days=args.object_lock_days
                    )
                ),
                region=args.dr_region,
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect, depends_on=[replica.versioning]),
            )

        self.forward = self._direction(
            name, source, replica, args, replicate_deletes=args.replicate_deletes, locked=self.replica_lock is not None
        )
        # The way back: objects written in the DR region during a failover return to the source.
        self.reverse = (
            self._direction(f"{name}-reverse", replica, source, args, replicate_deletes=args.replicate_deletes)
            if args.two_way
            else None
        )
        self.role = self.forward.role
        self.role_policy = self.forward.role_policy
        self.replication = self.forward.replication

        self.source_arn = source.bucket.arn
        self.replica_arn = replica.bucket.arn
        self.replica_bucket = replica.bucket.bucket
        self.role_arn = self.role.arn
        self.register_outputs(
            {
                "source": source.children(),
                "replica": replica.children(),
                "replica_lock": self.replica_lock,
                "forward": vars(self.forward),
                "reverse": vars(self.reverse) if self.reverse else None,
                "role": self.role,
                "role_policy": self.role_policy,
                "replication": self.replication,
                "source_arn": self.source_arn,
                "replica_arn": self.replica_arn,
                "replica_bucket": self.replica_bucket,
                "role_arn": self.role_arn,
            }
        )

    def _direction(
        self,
        prefix: str,
        origin: BucketSide,
        destination: BucketSide,
        args: ReplicatedBucketArgs,
        *,
        replicate_deletes: bool,
        locked: bool = False,
    ) -> Direction:
        """Replication from `origin` to `destination`, as its own role, in `origin`'s region."""
        origin_name = args.bucket_name if origin is self.source else args.replica_bucket_name
        destination_name = args.replica_bucket_name if origin is self.source else args.bucket_name
        # IAM is global: pulumi-aws v7 gives Role and RolePolicy no `region` argument.
        role = aws.iam.Role(
            f"{prefix}-replication-role",
            description=f"S3 replicates s3://{origin_name} to s3://{destination_name} as this role",
            assume_role_policy=trust_policy(origin_name, args.source_account),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        role_policy = aws.iam.RolePolicy(
            f"{prefix}-replication-policy",
            role=role.id,
            policy=pulumi.Output.all(
                origin.bucket.arn,
                destination.bucket.arn,
                origin.key.arn if origin.key else None,
                destination.key.arn if destination.key else None,
            ).apply(
                lambda a: replication_policy(
                    a[0], a[1], a[2], a[3], origin.region, destination.region, locked_replica=locked
                )
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        kms = destination.key is not None
        rule = aws.s3.BucketReplicationConfigRuleArgs(
            id="replicate-everything",
            status="Enabled",
            priority=1,
            # An empty filter selects the whole bucket and the V2 rule schema; only V2 rules
            # can replicate delete markers, and a V2 rule must say whether it does.
            filter=aws.s3.BucketReplicationConfigRuleFilterArgs(),
            delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                status="Enabled" if replicate_deletes else "Disabled"
            ),
            source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                # Metadata changes made to objects that arrived here as replicas are replicated
                # too; S3 keeps a two-way pair in step only with this on in both directions.
                replica_modifications=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaReplicaModificationsArgs(
                    status="Enabled"
                ),
                # S3 skips SSE-KMS objects unless told to replicate them.
                sse_kms_encrypted_objects=(
                    aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                        status="Enabled"
                    )
                    if kms
                    else None
                ),
            ),
            destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                bucket=destination.bucket.arn,
                storage_class="STANDARD",
                encryption_configuration=(
                    aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                        replica_kms_key_id=destination.key.arn
                    )
                    if destination.key is not None
                    else None
                ),
                replication_time=aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeArgs(
                    status="Enabled",
                    time=aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeTimeArgs(minutes=RTC_MINUTES),
                ),
                # RTC needs replication metrics, at the same threshold.
                metrics=aws.s3.BucketReplicationConfigRuleDestinationMetricsArgs(
                    status="Enabled",
                    event_threshold=aws.s3.BucketReplicationConfigRuleDestinationMetricsEventThresholdArgs(
                        minutes=RTC_MINUTES
                    ),
                ),
            ),
        )
        # S3 rejects a replication configuration while either bucket is unversioned, and the
        # role must hold its permissions before the first object is copied. Neither follows
        # from the inputs (they name the buckets, not their versioning), so say it.
        replication = aws.s3.BucketReplicationConfig(
            f"{prefix}-replication",
            bucket=origin.bucket.id,
            role=role.arn,
            rules=[rule],
            region=origin.region,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[origin.versioning, destination.versioning, role_policy]
            ),
        )
        return Direction(role=role, role_policy=role_policy, replication=replication)

    def _side(self, prefix: str, bucket_name: str, region: str, args: ReplicatedBucketArgs) -> BucketSide:
        """One region's bucket with its key and settings, each resource in `region`."""
        # Buckets and keys hold the data (a key deleted is every object it encrypted lost);
        # the settings around them can be recreated at will.
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        key: aws.kms.Key | None = None
        key_alias: aws.kms.Alias | None = None
        if args.encryption == "aws:kms":
            # A key per region: a KMS key never leaves its region, and the replica must stay
            # readable while the primary region is down.
            key = aws.kms.Key(
                f"{prefix}-key",
                description=f"Encrypts s3://{bucket_name}",
                enable_key_rotation=True,
                deletion_window_in_days=KMS_DELETION_WINDOW_DAYS,
                region=region,
                tags=tags,
                opts=stateful,
            )
            key_alias = aws.kms.Alias(
                f"{prefix}-key-alias",
                name=f"alias/{bucket_name}",
                target_key_id=key.key_id,
                region=region,
                opts=child,
            )

        bucket = aws.s3.Bucket(f"{prefix}", bucket=bucket_name, region=region, tags=tags, opts=stateful)
        versioning = aws.s3.BucketVersioning(
            f"{prefix}-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            region=region,
            opts=child,
        )
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{prefix}-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=(
                        aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                            sse_algorithm=args.encryption,
                            kms_master_key_id=key.arn if key is not None else None,
                        )
                    ),
                    # One data key per bucket rather than per object: far fewer KMS calls
                    # (and KMS throttling) with the same protection. Meaningless for AES256.
                    bucket_key_enabled=True if key is not None else None,
                )
            ],
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
            # ACLs off: the bucket owner owns every object, replicas included.
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            region=region,
            opts=child,
        )
        tls_only = aws.s3.BucketPolicy(
            f"{prefix}-tls-only",
            bucket=bucket.id,
            policy=bucket.arn.apply(tls_only_policy),
            region=region,
            # S3 answers concurrent changes to one bucket's policy and public access block
            # with OperationAborted; one after the other avoids that.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{prefix}-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    # Empty filter: every object in the bucket.
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
                    noncurrent_version_expiration=(
                        aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                            noncurrent_days=args.noncurrent_version_days
                        )
                    ),
                    abort_incomplete_multipart_upload=(
                        aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                            days_after_initiation=ABORT_MULTIPART_DAYS
                        )
                    ),
                )
            ],
            region=region,
            # Rules on noncurrent versions mean something only once versioning is on.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        return BucketSide(
            region=region,
            key=key,
            key_alias=key_alias,
            bucket=bucket,
            versioning=versioning,
            encryption=encryption,
            public_access=public_access,
            ownership=ownership,
            tls_only=tls_only,
            lifecycle=lifecycle,
        )
