"""A Secrets Manager secret in the primary region with a replica in the DR region.

The value comes from `pulumi config set --secret` and stays a Pulumi secret in every input that
carries it. The standby reads the replica in its own region, so it needs nothing from the
primary region when that region is down.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

MIN_RECOVERY_WINDOW_DAYS = 7
MAX_RECOVERY_WINDOW_DAYS = 30
# Secrets Manager's own character set and length for a secret name.
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
# A name ending like an ARN's random suffix makes partial-ARN lookups ambiguous; AWS advises against it.
_SUFFIX_LIKE = re.compile(r"-[A-Za-z0-9]{6}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")


def replica_in_sync(secret_name: str, replicas: Sequence[Mapping[str, Any]] | None, dr_region: str) -> None:
    """Refuse to go on when the DR replica did not take: its ARN would name a stale value.

    Secrets Manager reports each replica's status in DescribeSecret; the provider reads it back
    right after CreateSecret without waiting (terraform-provider-aws,
    internal/service/secretsmanager/secret.go: resourceSecretCreate then resourceSecretRead),
    so a replica just added may still be InProgress: that one is on its way and is accepted
    with a warning. Anything else - Failed, typically because a secret of the same name
    already lives in the DR region - stops the run.
    """
    found = [r for r in replicas or () if r.get("region") == dr_region]
    if not found:
        raise pulumi.RunError(f"secret {secret_name}: Secrets Manager reports no replica in {dr_region}")
    status, message = found[0].get("status"), found[0].get("status_message") or ""
    if status == "InSync":
        return
    if status == "InProgress":
        pulumi.log.warn(f"secret {secret_name}: its {dr_region} replica is still being created (InProgress)")
        return
    raise pulumi.RunError(
        f"secret {secret_name}: the replica in {dr_region} is {status}, not InSync"
        + (f" ({message})" if message else "")
        + f"; dr would read a stale value. If a secret named {secret_name} already exists in {dr_region} "
        "(left from an earlier failover), copy any newer value into this stack's config, delete that secret "
        f"in {dr_region}, and run again"
    )


def replica_arn(primary_arn: str, primary_region: str, dr_region: str) -> str:
    """The DR-region ARN of a replicated secret.

    Secrets Manager gives a replica the primary's name and its random six-character suffix, in
    the same account; only the region segment of
    `arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<suffix>` differs. So the
    replica's ARN is known as soon as the primary's is, without a lookup in the DR region.
    """
    parts = primary_arn.split(":", 6)
    if len(parts) != 7 or parts[0] != "arn" or parts[2] != "secretsmanager" or parts[5] != "secret":
        raise ValueError(f"{primary_arn} is not a Secrets Manager ARN in {primary_region}")
    if parts[3] != primary_region:
        raise ValueError(f"{primary_arn} is not a Secrets Manager ARN in {primary_region}")
    parts[3] = dr_region
    return ":".join(parts)


@dataclass(frozen=True)
class ReplicatedSecretArgs:
    """One secret value, where it lives and where it is replicated."""

    secret_name: str
    """The secret's name (`ziggie/prod/postgres-password`); the replica keeps it."""
    value: pulumi.Output[str]
    """The value, a Pulumi secret (`pulumi.Config().require_secret(...)`)."""
    primary_region: str
    dr_region: str
    dr_kms_key_id: str | None = None
    """KMS key (id, ARN or alias) in the DR region for the replica; None uses `aws/secretsmanager` there."""
    recovery_window_days: int = MIN_RECOVERY_WINDOW_DAYS
    """Days a deleted secret can still be restored (7 to 30)."""
    protect: bool = False
    """Protect the secret (prod): deleting it schedules the value's deletion in both regions."""
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _SECRET_NAME.match(self.secret_name):
            raise ValueError(
                f"secret_name {self.secret_name!r} must be 1-512 of the characters A-Z a-z 0-9 / _ + = . @ -"
            )
        if _SUFFIX_LIKE.search(self.secret_name):
            raise ValueError(
                f"secret_name {self.secret_name!r} ends in a hyphen and six characters, which reads as the "
                "random suffix of a secret ARN"
            )
        if not isinstance(self.value, pulumi.Output):
            # A plain str would be written to the state and every plan in clear text.
            raise TypeError("value must be a Pulumi secret Output, such as pulumi.Config().require_secret(key)")
        for label, region in (("primary_region", self.primary_region), ("dr_region", self.dr_region)):
            if not _REGION.match(region):
                raise ValueError(f"{label} {region!r} is not an AWS region name such as eu-north-1")
        if self.primary_region == self.dr_region:
            raise ValueError(
                f"dr_region must differ from primary_region {self.primary_region!r}: "
                "a replica in the same region survives no regional outage"
            )
        if not MIN_RECOVERY_WINDOW_DAYS <= self.recovery_window_days <= MAX_RECOVERY_WINDOW_DAYS:
            raise ValueError(
                f"recovery_window_days must be {MIN_RECOVERY_WINDOW_DAYS} to {MAX_RECOVERY_WINDOW_DAYS}, "
                f"not {self.recovery_window_days}"
            )
        key = self.dr_kms_key_id
        if key is not None and key.startswith("arn:") and key.split(":")[3:4] != [self.dr_region]:
            raise ValueError(f"dr_kms_key_id {key} is not in dr_region {self.dr_region}: a KMS key serves one region")


class ReplicatedSecret(pulumi.ComponentResource):
    """A secret kept in the primary region and readable in the DR region."""

    secret: aws.secretsmanager.Secret
    version: aws.secretsmanager.SecretVersion
    arn: pulumi.Output[str]
    replica_arn: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(self, name: str, args: ReplicatedSecretArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ziggie:aws:ReplicatedSecret", name, None, opts)
        # The replica lives inside the primary's resource: Secrets Manager creates and updates
        # it, so the DR region needs no resource (and no `region`) of its own.
        self.secret = aws.secretsmanager.Secret(
            f"{name}-secret",
            name=args.secret_name,
            recovery_window_in_days=args.recovery_window_days,
            replicas=[aws.secretsmanager.SecretReplicaArgs(region=args.dr_region, kms_key_id=args.dr_kms_key_id)],
            # Never overwrite a same-named secret in the DR region: after a failover it may hold
            # a value changed there that this stack's config does not know. The replica then
            # fails, and the status check below stops the run with what to do.
            force_overwrite_replica_secret=False,
            region=args.primary_region,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        # Marked secret here whatever the caller passed (pulumi-aws marks `secretString` secret
        # too), so the engine, the state and every plan see this input only encrypted.
        value: pulumi.Output[str] = pulumi.Output.secret(args.value)
        self.version = aws.secretsmanager.SecretVersion(
            f"{name}-value",
            secret_id=self.secret.id,
            secret_string=value,
            region=args.primary_region,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = self.secret.arn
        primary, dr, secret_name = args.primary_region, args.dr_region, args.secret_name

        def checked_replica_arn(values: list[Any]) -> str:
            arn, replicas = values
            replica_in_sync(secret_name, replicas, dr)
            return replica_arn(arn, primary, dr)

        self.replica_arn = pulumi.Output.all(self.secret.arn, self.secret.replicas).apply(checked_replica_arn)
        self.name = self.secret.name
        self.register_outputs(
            {
                "secret": self.secret,
                "version": self.version,
                "arn": self.arn,
                "replica_arn": self.replica_arn,
                "name": self.name,
            }
        )
