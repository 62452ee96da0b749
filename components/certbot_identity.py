"""The IAM identity certbot answers DNS-01 challenges with: it may only write the
`_acme-challenge` TXT records of the edge's names, in this stack's zone.

A VPS has no instance profile, so the identity is an IAM user with one access key; the key
reaches the certbot container as a Pulumi secret (generated/certbot.py writes it as an AWS
credentials file). Rotate it by replacing the key resource (`pulumi up --replace` on
`<name>-key`): the new key is created, the container is recreated with it, then the old key is
deleted.

What certbot-dns-route53 calls: `ListHostedZones` to find the zone (grantable only on `*`),
`ChangeResourceRecordSets` to UPSERT and later DELETE the TXT record, `GetChange` to wait for
it. Route 53's condition keys `route53:ChangeResourceRecordSetsNormalizedRecordNames`,
`...RecordTypes` and `...Actions` narrow the change to those names, TXT, and those two actions;
normalized names are lower case without the trailing dot (Route 53 developer guide, "Using IAM
policy conditions for fine-grained access control").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

_NAME = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def challenge_policy(zone_id: str, names: Sequence[str]) -> str:
    """The identity's permissions: `_acme-challenge` TXT records of `names` in zone `zone_id`."""
    records = sorted({f"_acme-challenge.{n.rstrip('.').lower()}" for n in names})
    statement: list[dict[str, Any]] = [
        {
            "Sid": "FindTheZone",
            "Effect": "Allow",
            "Action": ["route53:ListHostedZones"],
            "Resource": ["*"],
        },
        {
            "Sid": "WaitForTheChange",
            "Effect": "Allow",
            "Action": ["route53:GetChange"],
            "Resource": ["arn:aws:route53:::change/*"],
        },
        {
            "Sid": "AcmeChallengeRecordsOnly",
            "Effect": "Allow",
            "Action": ["route53:ChangeResourceRecordSets"],
            "Resource": [f"arn:aws:route53:::hostedzone/{zone_id}"],
            "Condition": {
                "ForAllValues:StringEquals": {
                    "route53:ChangeResourceRecordSetsNormalizedRecordNames": records,
                    "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"],
                    "route53:ChangeResourceRecordSetsActions": ["UPSERT", "DELETE"],
                }
            },
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statement})


@dataclass(frozen=True)
class CertbotIdentityArgs:
    """The zone and the names certbot proves control of."""

    zone_id: pulumi.Input[str]
    names: Sequence[str]
    user_name: str
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.names:
            raise ValueError("names is empty: certbot would have nothing to prove")
        for name in self.names:
            if not _NAME.match(name.rstrip(".").lower()):
                raise ValueError(f"{name!r} is not a DNS name certbot can prove by DNS-01")


class CertbotIdentity(pulumi.ComponentResource):
    """An IAM user allowed only to answer DNS-01 challenges, and its access key."""

    user: aws.iam.User
    policy: aws.iam.UserPolicy
    key: aws.iam.AccessKey
    access_key_id: pulumi.Output[str]
    secret_access_key: pulumi.Output[str]

    def __init__(self, name: str, args: CertbotIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ziggie:aws:CertbotIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        names = list(args.names)
        # IAM is global: no region, and so nothing of the primary region on dr's path.
        self.user = aws.iam.User(f"{name}-user", name=args.user_name, tags=dict(args.tags), opts=child)
        self.policy = aws.iam.UserPolicy(
            f"{name}-policy",
            user=self.user.name,
            policy=pulumi.Output.from_input(args.zone_id).apply(lambda zone: challenge_policy(zone, names)),
            opts=child,
        )
        self.key = aws.iam.AccessKey(f"{name}-key", user=self.user.name, opts=child)
        self.access_key_id = self.key.id
        # The provider marks the secret as a secret already; say so here too.
        self.secret_access_key = pulumi.Output.secret(self.key.secret)
        self.register_outputs(
            {
                "user": self.user,
                "policy": self.policy,
                "key": self.key,
                "access_key_id": self.access_key_id,
                "secret_access_key": self.secret_access_key,
            }
        )
