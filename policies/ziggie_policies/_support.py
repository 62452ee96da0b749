"""What every ziggie policy shares: resource types, reading props the SDK may mark unknown,
strict policy config, exact numbers and the wording of names and amounts.

The pulumi_policy SDK hands validators ``props`` wrapped in a proxy that raises
``UnknownValueError`` on *reading* a value that is unknown during preview; left alone, the SDK
turns that into an advisory "can't run policy ... during preview" diagnostic per resource. The
helpers here return :data:`UNKNOWN` instead, so a policy can skip just that value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final

from pulumi_policy import PolicyConfigSchema, PolicyResource
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

CONTAINER: Final = "docker:index/container:Container"
REMOTE_IMAGE: Final = "docker:index/remoteImage:RemoteImage"
DOCKER_PROVIDER: Final = "pulumi:providers:docker"

# pulumi-aws v7. The V2 tokens are v7's deprecated aliases of the same S3 resources: a bucket
# declared through an alias is still a bucket.
S3_BUCKET: Final = "aws:s3/bucket:Bucket"
S3_BUCKET_V2: Final = "aws:s3/bucketV2:BucketV2"
S3_VERSIONING: Final = "aws:s3/bucketVersioning:BucketVersioning"
S3_VERSIONING_V2: Final = "aws:s3/bucketVersioningV2:BucketVersioningV2"
S3_ENCRYPTION: Final = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
S3_ENCRYPTION_V2: Final = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
S3_PUBLIC_ACCESS_BLOCK: Final = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_REPLICATION: Final = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
SECRETS_MANAGER_SECRET: Final = "aws:secretsmanager/secret:Secret"  # noqa: S105 - a type token, no password
DNS_RECORD: Final = "aws:route53/record:Record"

MIB_PER_GIB: Final = 1024
SHARES_PER_CPU: Final = 1024
"""Docker's cpu_shares weight for one vCPU: the program maps a CPU reservation to shares."""

_UNKNOWN_SENTINELS: Final = frozenset(
    {
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_STRING_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_OBJECT_VALUE,
    }
)


class _Unknown:
    """The type of :data:`UNKNOWN`."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()
"""A value that is not known until the update runs (preview of a computed input)."""


class PolicyConfigError(ValueError):
    """The policy config handed to the pack does not match the policy's schema."""


def is_unknown(value: Any) -> bool:
    """True for :data:`UNKNOWN` and for a raw wire sentinel (the remediation pass keeps those)."""
    return value is UNKNOWN or (isinstance(value, str) and value in _UNKNOWN_SENTINELS)


def prop(props: Mapping[str, Any], key: str) -> Any:
    """``props[key]``; None when absent, :data:`UNKNOWN` when unknown during preview."""
    try:
        value = props[key]
    except KeyError:
        return None
    except UnknownValueError:
        return UNKNOWN
    return UNKNOWN if is_unknown(value) else value


def elements(seq: Any) -> Iterator[Any]:
    """The elements of a list prop, each :data:`UNKNOWN` where unknown; nothing for a non-list."""
    if isinstance(seq, (str, bytes)) or not isinstance(seq, Sequence):
        return
    for index in range(len(seq)):
        try:
            value = seq[index]
        except UnknownValueError:
            yield UNKNOWN
            continue
        yield UNKNOWN if is_unknown(value) else value


def region_label(region: Any) -> str:
    """How a message names an AWS region: the region, or why it cannot be named."""
    if region is UNKNOWN:
        return "region unknown until the update"
    return region if isinstance(region, str) and region else "no region set"


def container_name(props: Mapping[str, Any], resource_name: str) -> str:
    """The Docker name of a container, or its Pulumi resource name when that is not known."""
    name = prop(props, "name")
    return name if isinstance(name, str) and name else resource_name


def docker_host(resource: PolicyResource) -> Any:
    """The ``host`` input of the docker provider ``resource`` is registered with: a non-empty
    string, :data:`UNKNOWN` until the update runs, or None on the default provider."""
    provider = resource.provider
    if provider is None or provider.resource_type != DOCKER_PROVIDER:
        return None
    url = prop(provider.props, "host")
    return url if url is UNKNOWN or (isinstance(url, str) and url) else None


SERVICE_LABEL: Final = "ziggie.service"
NEEDS_LABEL: Final = "ziggie.needs"
HOST_LABEL: Final = "ziggie.host"


def label(props: Mapping[str, Any], name: str) -> str | None:
    """The value of a container label (``labels`` is a list of ``{label, value}``), or None."""
    for entry in elements(prop(props, "labels")):
        if isinstance(entry, Mapping) and prop(entry, "label") == name:
            value = prop(entry, "value")
            return value if isinstance(value, str) else None
    return None


def service_name(props: Mapping[str, Any], resource_name: str) -> str:
    """The catalog service a container runs (its ``ziggie.service`` label), else its Docker name.

    Per-host copies of one service carry the host in their Docker name (``cadvisor-vps2``) and
    share the service label, so an exception granted to the service covers every copy.
    """
    return label(props, SERVICE_LABEL) or container_name(props, resource_name)


def to_decimal(value: Any) -> Decimal | None:
    """An exact, finite Decimal of a JSON number or decimal string; None when it is neither.

    Numbers travel as protobuf doubles, so 3072 arrives as 3072.0 and 0.8 as the double
    nearest 0.8: ``repr`` gives the shortest string that round-trips, i.e. what was written.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        parsed = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return parsed if parsed.is_finite() else None


def two_places(value: Decimal, *, ceiling: bool = False) -> str:
    """``value`` with two decimals; ``ceiling`` rounds up so an overflow never prints as equal."""
    rounding = ROUND_CEILING if ceiling else ROUND_HALF_UP
    return str(value.quantize(Decimal("0.01"), rounding=rounding))


def read_config(policy_name: str, schema: PolicyConfigSchema, given: Mapping[str, Any]) -> dict[str, Any]:
    """The policy's config: schema defaults overlaid with ``given``; unknown keys are an error.

    The Pulumi CLI validates a policy's config against ``{"type": "object", "properties": ...,
    "required": ...}`` only, so a misspelt top-level key would otherwise be ignored in silence
    and its default used. Raising here fails the Analyze call, which stops the preview. A
    ``required`` key the CLI checks itself (pulumi/pulumi ``pkg/resource/analyzer/config.go``,
    ``convertSchema``), as preflight's reader does.
    """
    unknown = sorted(set(given) - set(schema.properties))
    if unknown:
        known = ", ".join(sorted(schema.properties))
        raise PolicyConfigError(
            f"policy {policy_name}: unknown config key {', '.join(repr(k) for k in unknown)} (known: {known})"
        )
    config = {key: spec["default"] for key, spec in schema.properties.items() if "default" in spec}
    config.update(given)
    return config


NAME_TO_REASON: Final[dict[str, Any]] = {
    "type": "object",
    "additionalProperties": {"type": "string", "minLength": 1},
}
"""JSON schema of a ``{"<container name>": "<reason>"}`` exception list."""
