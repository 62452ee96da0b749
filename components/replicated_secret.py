"""A Secrets Manager secret in the primary region with a replica in the DR region.

The value comes from `pulumi config set --secret` and stays a Pulumi secret in every input
that carries it; the standby reads the replica in its own region, so it needs the primary
region for nothing.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws


def replica_arn(primary_arn: str, primary_region: str, dr_region: str) -> str:
    """The DR-region ARN of a replicated secret.

    Secrets Manager gives a replica the primary's name and random suffix; only the region
    segment of the ARN differs (`arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>`).
    """
    parts = primary_arn.split(":")
    if len(parts) < 7 or parts[2] != "secretsmanager" or parts[3] != primary_region:
        raise ValueError(f"{primary_arn} is not a Secrets Manager ARN in {primary_region}")
    parts[3] = dr_region
    return ":".join(parts)


@dataclass(frozen=True)
class ReplicatedSecretArgs:
    """One secret value, where it lives and where it is replicated."""

    secret_name: str
    value: pulumi.Output[str]
    primary_region: str
    dr_region: str
    dr_kms_key_id: str | None = None
    recovery_window_days: int = 7
    protect: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.primary_region == self.dr_region:
            raise ValueError(f"dr_region must differ from primary_region {self.primary_region}")
        if not 7 <= self.recovery_window_days <= 30:
            raise ValueError(f"recovery_window_days must be 7 to 30, not {self.recovery_window_days}")


class ReplicatedSecret(pulumi.ComponentResource):
    """A secret kept in the primary region and readable in the DR region."""

    secret: aws.secretsmanager.Secret
    version: aws.secretsmanager.SecretVersion
    arn: pulumi.Output[str]
    replica_arn: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(self, name: str, args: ReplicatedSecretArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ziggie:aws:ReplicatedSecret", name, None, opts)
        replica: aws.secretsmanager.SecretReplicaArgsDict = {"region": args.dr_region}
        if args.dr_kms_key_id:
            replica["kms_key_id"] = args.dr_kms_key_id
        self.secret = aws.secretsmanager.Secret(
            f"{name}-secret",
            name=args.secret_name,
            recovery_window_in_days=args.recovery_window_days,
            replicas=[replica],
            region=args.primary_region,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.version = aws.secretsmanager.SecretVersion(
            f"{name}-value",
            secret_id=self.secret.id,
            # Wrapped again so the value is secret even if a caller passed a plain Output.
            secret_string=pulumi.Output.secret(args.value),  # type: ignore[arg-type]
            region=args.primary_region,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = self.secret.arn
        self.replica_arn = self.secret.arn.apply(lambda a: replica_arn(a, args.primary_region, args.dr_region))
        self.name = self.secret.name
        self.register_outputs({"arn": self.arn, "replica_arn": self.replica_arn, "name": self.name})
