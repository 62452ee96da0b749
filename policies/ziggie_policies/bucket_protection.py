"""bucket-protection: every S3 bucket is versioned, encrypted by default and closed to the public.

The DR assets exist to survive mistakes: versioning keeps what was overwritten or deleted (and
S3 replication needs it on both sides), default encryption covers every object whoever writes
it, and a public access block with all four flags stops an ACL or bucket policy from opening the
bucket later. pulumi-aws v7 sets each through its own resource, matched to its bucket as
``_s3`` describes. The deprecated inline arguments of ``aws.s3.Bucket`` do not count: v7 warns
against them and the separate resources are what this program declares. A bucket may be
exempted by name, with the reason, in the per-stack config.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from ziggie_policies._s3 import BUCKET_TYPES, Buckets
from ziggie_policies._support import (
    NAME_TO_REASON,
    S3_ENCRYPTION,
    S3_ENCRYPTION_V2,
    S3_PUBLIC_ACCESS_BLOCK,
    S3_VERSIONING,
    S3_VERSIONING_V2,
    UNKNOWN,
    elements,
    prop,
    read_config,
)

NAME: Final = "bucket-protection"
SSE_ALGORITHMS: Final = ("AES256", "aws:kms", "aws:kms:dsse")
PUBLIC_ACCESS_FLAGS: Final = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
_ALGORITHMS_TEXT: Final = "AES256, aws:kms or aws:kms:dsse"

CONFIG_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "exempt": {
            **NAME_TO_REASON,
            "default": {},
            "description": "Buckets (by S3 bucket name) that need no versioning, encryption or public "
            "access block, each with the reason.",
        },
    }
)


def _versioning_problem(props: Mapping[str, Any]) -> str | None:
    """What keeps one BucketVersioning from enabling versioning; None when it does or may."""
    versioning = prop(props, "versioningConfiguration")
    if versioning is UNKNOWN:
        return None
    status = prop(versioning, "status") if isinstance(versioning, Mapping) else None
    if status is UNKNOWN or status == "Enabled":
        return None
    return f'has status "{status}"' if isinstance(status, str) else "has no status"


def _encrypts(props: Mapping[str, Any]) -> bool:
    """True when one encryption configuration applies a server-side algorithm by default (or may)."""
    rules = prop(props, "rules")
    if rules is UNKNOWN:
        return True
    for rule in elements(rules):
        if rule is UNKNOWN:
            return True
        default = prop(rule, "applyServerSideEncryptionByDefault") if isinstance(rule, Mapping) else None
        if default is UNKNOWN:
            return True
        algorithm = prop(default, "sseAlgorithm") if isinstance(default, Mapping) else None
        if algorithm is UNKNOWN or algorithm in SSE_ALGORITHMS:
            return True
    return False


def _flags_off(props: Mapping[str, Any]) -> list[str]:
    """The public access block flags not set true; an unknown flag counts as true."""
    return [flag for flag in PUBLIC_ACCESS_FLAGS if prop(props, flag) not in (True, UNKNOWN)]


def _versioning(attached: Sequence[PolicyResource]) -> tuple[str, PolicyResource | None] | None:
    if not attached:
        return "no versioning enabled; add a BucketVersioning with status Enabled", None
    problems = [(r, _versioning_problem(r.props)) for r in attached]
    if any(problem is None for _, problem in problems):
        return None
    resource, problem = problems[0]
    return (
        f"no versioning enabled: BucketVersioning {resource.name} {problem}; "
        "set versioningConfiguration.status to Enabled",
        resource,
    )


def _encryption(attached: Sequence[PolicyResource]) -> tuple[str, PolicyResource | None] | None:
    if not attached:
        return (
            "no server-side encryption configuration; add a BucketServerSideEncryptionConfiguration "
            f"with sseAlgorithm {_ALGORITHMS_TEXT}",
            None,
        )
    if any(_encrypts(r.props) for r in attached):
        return None
    resource = attached[0]
    return (
        f"server-side encryption configuration {resource.name} applies no sseAlgorithm of {_ALGORITHMS_TEXT} "
        "by default; set rules[].applyServerSideEncryptionByDefault.sseAlgorithm",
        resource,
    )


def _public_access(attached: Sequence[PolicyResource]) -> tuple[str, PolicyResource | None] | None:
    if not attached:
        return (
            f"no public access block; add a BucketPublicAccessBlock with all {len(PUBLIC_ACCESS_FLAGS)} flags "
            f"true ({', '.join(PUBLIC_ACCESS_FLAGS)})",
            None,
        )
    # The most complete block speaks for the bucket.
    resource, off = min(((r, _flags_off(r.props)) for r in attached), key=lambda pair: len(pair[1]))
    if not off:
        return None
    total = len(PUBLIC_ACCESS_FLAGS)
    return (
        f"public access block {resource.name} leaves {len(off)} of {total} flags not true: {', '.join(off)}; "
        f"set all {total} true",
        resource,
    )


_CHECKS: Final[dict[str, Callable[[Sequence[PolicyResource]], tuple[str, PolicyResource | None] | None]]] = {
    "versioning": _versioning,
    "encryption": _encryption,
    "public-access": _public_access,
}
_KIND: Final = {
    S3_VERSIONING: "versioning",
    S3_VERSIONING_V2: "versioning",
    S3_ENCRYPTION: "encryption",
    S3_ENCRYPTION_V2: "encryption",
    S3_PUBLIC_ACCESS_BLOCK: "public-access",
}


def protection_violations(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(message, URN to report it against) for each protection a bucket lacks.

    A missing resource is reported on the bucket, an inadequate one on that resource.
    """
    if not any(r.resource_type in BUCKET_TYPES for r in resources):
        return []
    buckets = Buckets(resources)
    attached: defaultdict[tuple[str, str], list[PolicyResource]] = defaultdict(list)
    doubtful: set[tuple[str, str]] = set()
    for resource in sorted(resources, key=lambda r: r.urn):
        kind = _KIND.get(resource.resource_type)
        if kind is None:
            continue
        target = buckets.target(resource)
        for bucket in target.buckets:
            if target.certain:
                attached[kind, bucket.urn].append(resource)
            else:
                doubtful.add((kind, bucket.urn))

    violations: list[tuple[str, str]] = []
    for bucket in buckets.all:
        if bucket.known_as in config["exempt"]:
            continue
        for kind, check in _CHECKS.items():
            key = (kind, bucket.urn)
            found = check(attached[key])
            # A resource that may be this bucket's may also be the one that protects it.
            if found is None or key in doubtful:
                continue
            message, culprit = found
            violations.append((f"{bucket.label}: {message}", (culprit or bucket.resource).urn))
    return violations


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = read_config(NAME, CONFIG_SCHEMA, args.get_config())
    for message, urn in protection_violations(args.resources, config):
        report_violation(message, urn)


policy: Final = StackValidationPolicy(
    name=NAME,
    description="Requires every S3 bucket to have versioning enabled, default server-side encryption "
    "and a public access block with all four flags set, unless it is exempted by name with a reason.",
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
