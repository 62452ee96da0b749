"""What the S3 policies share: the stack's buckets, and which bucket a per-bucket resource
(versioning, encryption, public access block, replication) belongs to.

pulumi-aws v7 configures a bucket through separate resources that name it by their ``bucket``
input. The program gives every bucket an explicit name, so that input is known at preview and
is matched to the bucket's own ``bucket`` input. When it is not known (a generated name), the
resource's property dependencies on ``bucket`` - or, without those, its dependencies - say
which bucket it was built from. A resource that may belong to several buckets belongs to none
for certain: its buckets get the benefit of the doubt, as an unknown value does everywhere in
this pack, and stack policies see the real values again once the update has run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pulumi_policy import PolicyResource

from ziggie_policies._support import (
    S3_BUCKET,
    S3_BUCKET_V2,
    prop,
    region_label,
)

BUCKET_TYPES: Final = frozenset({S3_BUCKET, S3_BUCKET_V2})
_ARN_PREFIXES: Final = ("arn:aws:s3:::", "arn:aws-us-gov:s3:::", "arn:aws-cn:s3:::")


@dataclass(frozen=True)
class Bucket:
    """One bucket of the stack, with the name and region its messages give."""

    resource: PolicyResource
    name: str | None
    """The S3 bucket name; None while it is unknown or generated."""
    region: Any
    """The ``region`` input: a string, None when not set, or UNKNOWN."""

    @property
    def urn(self) -> str:
        return self.resource.urn

    @property
    def known_as(self) -> str:
        """The bucket name, or its Pulumi resource name when the bucket name is not known."""
        return self.name or self.resource.name

    @property
    def label(self) -> str:
        return f"bucket {self.known_as} ({region_label(self.region)})"


@dataclass(frozen=True)
class Target:
    """The buckets a per-bucket resource may belong to; ``certain`` when it is exactly one."""

    buckets: tuple[Bucket, ...]

    @property
    def certain(self) -> bool:
        return len(self.buckets) == 1


class Buckets:
    """The buckets among ``resources``, in URN order and by name."""

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        found: list[Bucket] = []
        for resource in sorted(resources, key=lambda r: r.urn):
            if resource.resource_type not in BUCKET_TYPES:
                continue
            name = prop(resource.props, "bucket")
            found.append(
                Bucket(
                    resource=resource,
                    name=name if isinstance(name, str) and name else None,
                    region=prop(resource.props, "region"),
                )
            )
        self.all: tuple[Bucket, ...] = tuple(found)
        self._by_name = {b.name: b for b in found if b.name}

    def named(self, name: str) -> Bucket | None:
        return self._by_name.get(name)

    def with_arn(self, arn: str) -> Bucket | None:
        """The bucket ``arn:aws:s3:::<name>`` names (in any partition); None for another ARN. What
        follows an object ARN's prefix, ``<name>/<key>``, is no bucket's name: names have no "/"."""
        for prefix in _ARN_PREFIXES:
            if arn.startswith(prefix):
                return self._by_name.get(arn.removeprefix(prefix))
        return None

    def among(self, resources: Iterable[PolicyResource], *, excluding: Iterable[Bucket] = ()) -> tuple[Bucket, ...]:
        """The buckets among ``resources``, in URN order, leaving out ``excluding``."""
        skip = {b.urn for b in excluding}
        urns = {r.urn for r in resources} - skip
        return tuple(b for b in self.all if b.urn in urns)

    def built_from(self, resource: PolicyResource, key: str, *, excluding: Iterable[Bucket] = ()) -> tuple[Bucket, ...]:
        """The buckets ``resource``'s input ``key`` was computed from (its dependencies without those)."""
        depended = resource.property_dependencies.get(key) or resource.dependencies
        return self.among(depended, excluding=excluding)

    def target(self, resource: PolicyResource) -> Target:
        """The bucket that ``resource``'s ``bucket`` input names."""
        name = prop(resource.props, "bucket")
        if isinstance(name, str) and name:
            bucket = self.named(name)
            return Target(() if bucket is None else (bucket,))
        return Target(self.built_from(resource, "bucket"))
