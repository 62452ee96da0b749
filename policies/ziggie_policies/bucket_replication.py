"""bucket-replication: every data bucket replicates to another region, fast and completely.

A data bucket is one that no replication rule of the stack writes to; the buckets the rules
write to are its replicas and are not themselves replicated. Each data bucket is the source of
a ``BucketReplicationConfig`` (matched to it as ``_s3`` describes), and every one of its rules
is enabled, writes to a bucket of this stack in another region (the destination ARN
``arn:aws:s3:::<name>`` names the bucket, whose ``region`` input is compared with the
source's), turns on Replication Time Control - which S3 offers at exactly 15 minutes - with the
replication metrics it needs, and replicates delete markers, so a deletion reaches the DR copy
too - unless the bucket is named in ``keepDeletions`` with the reason (a backup copy exists to
outlive a deletion). A source encrypted with SSE-KMS (its
``BucketServerSideEncryptionConfiguration`` says ``aws:kms`` or ``aws:kms:dsse``) needs every rule
to select SSE-KMS objects (``sourceSelectionCriteria.sseKmsEncryptedObjects``) and name the key
to encrypt replicas with (``destination.encryptionConfiguration.replicaKmsKeyId``): without them
S3 silently skips every such object (AWS S3 user guide, "Replicating encrypted objects"). With
``requireReplication`` false (stacks without a DR copy) a data bucket may go without
replication, but the rules that exist are still held to all of this; so are the rules of a
replica that replicates back (two-way replication). A data bucket may be exempted by name,
with the reason.

A destination that is unknown at preview is read from what the ``rules`` input was computed
from; when that names no single bucket, the region is not guessed at.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from ziggie_policies._s3 import Bucket, Buckets
from ziggie_policies._support import (
    NAME_TO_REASON,
    S3_ENCRYPTION,
    S3_ENCRYPTION_V2,
    S3_REPLICATION,
    UNKNOWN,
    elements,
    prop,
    read_config,
    to_decimal,
)

NAME: Final = "bucket-replication"
RTC_MINUTES: Final = 15
"""S3 Replication Time Control's one threshold: 99.99 % of objects within 15 minutes."""

CONFIG_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "requireReplication": {
            "type": "boolean",
            "default": True,
            "description": "Demand a replication rule on every data bucket; when false, only the rules "
            "that exist are checked.",
        },
        "exempt": {
            **NAME_TO_REASON,
            "default": {},
            "description": "Data buckets (by S3 bucket name) that need not be replicated, each with the reason.",
        },
        "keepDeletions": {
            **NAME_TO_REASON,
            "default": {},
            "description": "Buckets (by S3 bucket name) whose rules need not replicate delete markers, each with "
            "the reason: a backup copy that must outlive a deletion at the source.",
        },
    }
)
KMS_ALGORITHMS: Final = frozenset({"aws:kms", "aws:kms:dsse"})


@dataclass(frozen=True)
class _Rule:
    """One rule of a replication configuration, with where it replicates to."""

    config: PolicyResource
    index: int
    props: Any
    """The rule: a mapping, or UNKNOWN."""
    arn: Any
    """``destination.bucket`` as given: a string, None when not set, or UNKNOWN."""
    destinations: tuple[Bucket, ...]
    """The buckets of the stack it may replicate to: one when the ARN names a recorded bucket."""

    @property
    def label(self) -> str:
        rule_id = prop(self.props, "id") if isinstance(self.props, Mapping) else None
        return (
            f'replication rule "{rule_id}"'
            if isinstance(rule_id, str) and rule_id
            else f"replication rules[{self.index}]"
        )


def _member(value: Any, key: str) -> Any:
    """``value[key]`` of a nested block: UNKNOWN inside an unknown block, None inside a missing one."""
    if value is UNKNOWN:
        return UNKNOWN
    return prop(value, key) if isinstance(value, Mapping) else None


def _was(status: Any) -> str:
    return f' (status "{status}")' if isinstance(status, str) else ""


def _rules(config: PolicyResource, sources: Sequence[Bucket], buckets: Buckets) -> list[_Rule]:
    # An unknown destination was computed from the buckets the rules input depends on.
    candidates = buckets.built_from(config, "rules", excluding=sources)
    rules: list[_Rule] = []
    for index, rule in enumerate(elements(prop(config.props, "rules"))):
        arn = _member(_member(rule, "destination"), "bucket")
        destinations: tuple[Bucket, ...] = ()
        if isinstance(arn, str):
            found = buckets.with_arn(arn)
            destinations = () if found is None else (found,)
        elif arn is UNKNOWN:
            destinations = candidates
        rules.append(_Rule(config, index, rule, arn, destinations))
    return rules


def _destination_problems(source: Bucket, rule: _Rule) -> list[str]:
    if rule.arn is None:
        return ["has no destination bucket; set destination.bucket to the ARN of a bucket in another region"]
    if isinstance(rule.arn, str) and not rule.destinations:
        return [
            f"replicates to {rule.arn}, which is not a bucket of this stack, so its region cannot be checked; "
            "replicate to a bucket declared here in another region"
        ]
    if len(rule.destinations) != 1:
        return []
    destination = rule.destinations[0]
    if UNKNOWN in (source.region, destination.region):
        return []
    if not source.region or not destination.region:
        return [f"replicates to {destination.label}, so the regions cannot be compared; set region on both buckets"]
    if source.region == destination.region:
        return [
            f"replicates to {destination.known_as} in {destination.region}, the bucket's own region; "
            "replicate to a bucket in another region"
        ]
    return []


def _kms_sources(resources: Sequence[PolicyResource], buckets: Buckets) -> set[str]:
    """URNs of the buckets whose default encryption is SSE-KMS."""
    found: set[str] = set()
    for resource in resources:
        if resource.resource_type not in (S3_ENCRYPTION, S3_ENCRYPTION_V2):
            continue
        target = buckets.target(resource)
        if not target.certain:
            continue
        for rule in elements(prop(resource.props, "rules")):
            default = _member(rule, "applyServerSideEncryptionByDefault")
            if _member(default, "sseAlgorithm") in KMS_ALGORITHMS:
                found.add(target.buckets[0].urn)
    return found


def _kms_problems(rule: _Rule) -> list[str]:
    """What a rule of an SSE-KMS source lacks for S3 to replicate its objects at all."""
    problems: list[str] = []
    selected = _member(_member(prop(rule.props, "sourceSelectionCriteria"), "sseKmsEncryptedObjects"), "status")
    if selected is not UNKNOWN and selected != "Enabled":
        problems.append(
            f"does not select SSE-KMS objects{_was(selected)} though the bucket is encrypted with SSE-KMS, so S3 "
            "skips every object; set sourceSelectionCriteria.sseKmsEncryptedObjects.status to Enabled"
        )
    key = _member(_member(prop(rule.props, "destination"), "encryptionConfiguration"), "replicaKmsKeyId")
    if key is not UNKNOWN and not (isinstance(key, str) and key):
        problems.append(
            "names no destination.encryptionConfiguration.replicaKmsKeyId though the bucket is encrypted with "
            "SSE-KMS; set it to a KMS key in the destination's region"
        )
    return problems


def _rule_problems(source: Bucket, rule: _Rule, *, kms: bool, keep_deletions: bool) -> list[str]:
    """What one rule of a bucket lacks, each phrased to follow the rule's label."""
    if rule.props is UNKNOWN:
        return []
    problems: list[str] = []
    status = prop(rule.props, "status")
    if status is not UNKNOWN and status != "Enabled":
        problems.append(f"is not enabled{_was(status)}; set its status to Enabled")
    problems += _destination_problems(source, rule)

    destination = prop(rule.props, "destination")
    replication_time = _member(destination, "replicationTime")
    rtc_status = _member(replication_time, "status")
    if rtc_status is not UNKNOWN and rtc_status != "Enabled":
        problems.append(
            f"has no Replication Time Control{_was(rtc_status)}; set destination.replicationTime.status to "
            f"Enabled with time.minutes {RTC_MINUTES}"
        )
    else:
        minutes = _member(_member(replication_time, "time"), "minutes")
        if minutes is None:
            problems.append(f"sets no Replication Time Control time.minutes; set it to {RTC_MINUTES}")
        elif minutes is not UNKNOWN and to_decimal(minutes) != RTC_MINUTES:
            value = to_decimal(minutes)
            shown = repr(minutes) if value is None else f"{value.normalize():f}"
            problems.append(f"sets Replication Time Control to {shown} minutes; S3 offers exactly {RTC_MINUTES}")

    metrics_status = _member(_member(destination, "metrics"), "status")
    if metrics_status is not UNKNOWN and metrics_status != "Enabled":
        problems.append(
            f"has no replication metrics{_was(metrics_status)}; set destination.metrics.status to Enabled "
            "(Replication Time Control needs them)"
        )

    delete_markers = _member(prop(rule.props, "deleteMarkerReplication"), "status")
    if not keep_deletions and delete_markers is not UNKNOWN and delete_markers != "Enabled":
        problems.append(
            f"does not replicate delete markers{_was(delete_markers)}; set deleteMarkerReplication.status to Enabled"
        )
    if kms:
        problems += _kms_problems(rule)
    return problems


def replication_violations(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(message, URN to report it against): a data bucket without replication, on the bucket;
    what a rule lacks, on its replication configuration."""
    buckets = Buckets(resources)
    replicas: set[str] = set()
    replicated: set[str] = set()
    checked: dict[str, list[_Rule]] = {}
    for resource in sorted(resources, key=lambda r: r.urn):
        if resource.resource_type != S3_REPLICATION:
            continue
        target = buckets.target(resource)
        rules = _rules(resource, target.buckets, buckets)
        rules_unknown = prop(resource.props, "rules") is UNKNOWN
        if rules_unknown:
            # Its own bucket among them changes nothing: that bucket is replicated.
            replicas.update(b.urn for b in buckets.built_from(resource, "rules"))
        for rule in rules:
            replicas.update(b.urn for b in rule.destinations)
        for bucket in target.buckets:
            if rules or rules_unknown:
                replicated.add(bucket.urn)
            # A configuration that may be another bucket's is not held against this one.
            if target.certain:
                checked.setdefault(bucket.urn, []).extend(rules)

    kms_sources = _kms_sources(resources, buckets)
    violations: list[tuple[str, str]] = []
    for bucket in buckets.all:
        if bucket.known_as in config["exempt"]:
            continue
        # A replica need not replicate; the rules it has (replicating back) are still checked.
        if config["requireReplication"] and bucket.urn not in replicas and bucket.urn not in replicated:
            violations.append(
                (
                    f"{bucket.label}: not replicated; add a BucketReplicationConfig with an enabled rule to a "
                    "bucket in another region",
                    bucket.urn,
                )
            )
        for rule in checked.get(bucket.urn, []):
            problems = _rule_problems(
                bucket,
                rule,
                kms=bucket.urn in kms_sources,
                keep_deletions=bucket.known_as in config["keepDeletions"],
            )
            violations += [(f"{bucket.label}: {rule.label} {problem}", rule.config.urn) for problem in problems]
    return violations


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = read_config(NAME, CONFIG_SCHEMA, args.get_config())
    for message, urn in replication_violations(args.resources, config):
        report_violation(message, urn)


policy: Final = StackValidationPolicy(
    name=NAME,
    description="Requires every data bucket to replicate to a bucket in another region with an enabled "
    "rule that has 15-minute Replication Time Control, replication metrics, delete-marker replication "
    "(unless the bucket keeps deletions) and, for an SSE-KMS source, SSE-KMS object selection and a replica key.",
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
