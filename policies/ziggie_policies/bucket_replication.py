"""bucket-replication: every data bucket replicates to another region, fast and completely.

A data bucket is one that no replication rule of the stack writes to; the buckets the rules
write to are its replicas and are not themselves replicated. Each data bucket is the source of
a ``BucketReplicationConfig`` (matched to it as ``_s3`` describes), and every one of its rules
is enabled, writes to a bucket of this stack in another region (the destination ARN
``arn:aws:s3:::<name>`` names the bucket, whose ``region`` input is compared with the
source's), turns on Replication Time Control - which S3 offers at exactly 15 minutes - with the
replication metrics it needs, and replicates delete markers, so a deletion reaches the DR copy
too. With ``requireReplication`` false (stacks without a DR copy) a data bucket may go without
replication, but the rules that exist are still held to all of this. A data bucket may be
exempted by name, with the reason.

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

from ziggie_policies._s3 import BUCKET_TYPES, Bucket, Buckets
from ziggie_policies._support import (
    NAME_TO_REASON,
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
    }
)


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


def _rule_problems(source: Bucket, rule: _Rule) -> list[str]:
    """What one rule of a data bucket lacks, each phrased to follow the rule's label."""
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
            shown = repr(minutes) if value is None else format(value.normalize(), "f")
            problems.append(f"sets Replication Time Control to {shown} minutes; S3 offers exactly {RTC_MINUTES}")

    metrics_status = _member(_member(destination, "metrics"), "status")
    if metrics_status is not UNKNOWN and metrics_status != "Enabled":
        problems.append(
            f"has no replication metrics{_was(metrics_status)}; set destination.metrics.status to Enabled "
            "(Replication Time Control needs them)"
        )

    delete_markers = _member(prop(rule.props, "deleteMarkerReplication"), "status")
    if delete_markers is not UNKNOWN and delete_markers != "Enabled":
        problems.append(
            f"does not replicate delete markers{_was(delete_markers)}; set deleteMarkerReplication.status to Enabled"
        )
    return problems


def replication_violations(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(message, URN to report it against): a data bucket without replication, on the bucket;
    what a rule lacks, on its replication configuration."""
    if not any(r.resource_type in BUCKET_TYPES for r in resources):
        return []
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
            replicas.update(b.urn for b in buckets.built_from(resource, "rules", excluding=target.buckets))
        for rule in rules:
            replicas.update(b.urn for b in rule.destinations)
        for bucket in target.buckets:
            if rules or rules_unknown:
                replicated.add(bucket.urn)
            # A configuration that may be another bucket's is not held against this one.
            if target.certain:
                checked.setdefault(bucket.urn, []).extend(rules)

    violations: list[tuple[str, str]] = []
    for bucket in buckets.all:
        if bucket.urn in replicas or bucket.known_as in config["exempt"]:
            continue
        if config["requireReplication"] and bucket.urn not in replicated:
            violations.append(
                (
                    f"{bucket.label}: not replicated; add a BucketReplicationConfig with an enabled rule to a "
                    "bucket in another region",
                    bucket.urn,
                )
            )
        for rule in checked.get(bucket.urn, []):
            violations += [
                (f"{bucket.label}: {rule.label} {problem}", rule.config.urn) for problem in _rule_problems(bucket, rule)
            ]
    return violations


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = read_config(NAME, CONFIG_SCHEMA, args.get_config())
    for message, urn in replication_violations(args.resources, config):
        report_violation(message, urn)


policy: Final = StackValidationPolicy(
    name=NAME,
    description="Requires every data bucket to replicate to a bucket in another region with an enabled "
    "rule that has 15-minute Replication Time Control, replication metrics and delete-marker replication.",
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
