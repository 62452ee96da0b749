"""cdn-backend-bucket: a backend bucket serves through Cloud CDN with the seed's caching.

The seed's CDN caches static content for a day by default and at most 30 days, keeps serving
stale content for a day while it revalidates, compresses automatically and caches 404 and 410
answers (Cloud CDN takes negative-caching TTLs of at most 1,800 s). A backend bucket without
Cloud CDN sends every request to the bucket: slower, and billed as bucket egress instead.
The bounds are this policy's config; unknown values (computed at preview) are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from ziggie_policies._support import UNKNOWN, elements, prop, read_config, to_decimal

NAME: Final = "cdn-backend-bucket"
BACKEND_BUCKET: Final = "gcp:compute/backendBucket:BackendBucket"
# Cloud CDN refuses a negative-caching TTL above 30 minutes.
MAX_NEGATIVE_TTL: Final = 1800

CONFIG_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "cacheModes": {
            "type": "array",
            "items": {"type": "string", "enum": ["CACHE_ALL_STATIC", "USE_ORIGIN_HEADERS", "FORCE_CACHE_ALL"]},
            "default": ["CACHE_ALL_STATIC"],
            "description": "Cache modes allowed (the seed's TTLs mean CACHE_ALL_STATIC).",
        },
        "maxDefaultTtl": {
            "type": "integer",
            "minimum": 0,
            "default": 86400,
            "description": "Largest default TTL, seconds (seed: 24 h).",
        },
        "maxMaxTtl": {
            "type": "integer",
            "minimum": 0,
            "default": 2592000,
            "description": "Largest max TTL, seconds (seed: 30 d).",
        },
        "minServeWhileStale": {
            "type": "integer",
            "minimum": 0,
            "default": 86400,
            "description": "Shortest serve-while-stale window, seconds (seed: 24 h).",
        },
        "negativeCachingCodes": {
            "type": "array",
            "items": {"type": "integer"},
            "default": [404, 410],
            "description": "Status codes that must have a negative-caching TTL.",
        },
    }
)


def _number(value: Any) -> int | None:
    number = to_decimal(value)
    return None if number is None else int(number)


def backend_violations(resource_name: str, props: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """Why one backend bucket does not cache as the seed says."""
    name = prop(props, "name")
    who = f"backend bucket {name if isinstance(name, str) and name else resource_name}"
    found: list[str] = []
    enabled = prop(props, "enableCdn")
    if enabled is not UNKNOWN and enabled is not True:
        return [f"{who}: Cloud CDN is not enabled (enableCdn); every request would reach the bucket"]
    compression = prop(props, "compressionMode")
    if compression is not UNKNOWN and compression != "AUTOMATIC":
        found.append(f"{who}: compressionMode is {compression or 'unset'}, not AUTOMATIC")
    policy = prop(props, "cdnPolicy")
    if policy is UNKNOWN:
        return found
    if not isinstance(policy, Mapping):
        return [*found, f"{who}: no cdnPolicy; the seed's TTLs and negative caching are missing"]
    # Numbers in policy config arrive as protobuf doubles: 3600 as 3600.0.
    bounds = {key: int(config[key]) for key in ("maxDefaultTtl", "maxMaxTtl", "minServeWhileStale")}
    codes = [int(code) for code in config["negativeCachingCodes"]]
    mode = prop(policy, "cacheMode")
    if mode is not UNKNOWN and mode not in config["cacheModes"]:
        found.append(f"{who}: cacheMode {mode or 'unset'} is not one of {', '.join(config['cacheModes'])}")
    for key, bound in (("defaultTtl", bounds["maxDefaultTtl"]), ("maxTtl", bounds["maxMaxTtl"])):
        value = prop(policy, key)
        seconds = _number(value)
        if value is UNKNOWN:
            continue
        if seconds is None:
            found.append(f"{who}: {key} is unset; at most {bound} s expected")
        elif seconds > bound:
            found.append(f"{who}: {key} {seconds} s exceeds {bound} s")
    stale = prop(policy, "serveWhileStale")
    stale_seconds = _number(stale)
    if stale is not UNKNOWN and (stale_seconds is None or stale_seconds < bounds["minServeWhileStale"]):
        found.append(
            f"{who}: serveWhileStale {stale_seconds if stale_seconds is not None else 'unset'} s is shorter than "
            f"{bounds['minServeWhileStale']} s"
        )
    negative = prop(policy, "negativeCaching")
    if negative is not UNKNOWN and negative is not True:
        found.append(f"{who}: negativeCaching is off; 404 and 410 answers would reach the bucket every time")
        return found
    entries = prop(policy, "negativeCachingPolicies")
    if entries is UNKNOWN:
        return found
    ttls: dict[int, int | None] = {}
    for entry in elements(entries):
        if isinstance(entry, Mapping):
            code = _number(prop(entry, "code"))
            if code is not None:
                ttls[code] = _number(prop(entry, "ttl"))
    for code in codes:
        if code not in ttls:
            found.append(f"{who}: no negative-caching TTL for {code}")
    for code, ttl in sorted(ttls.items()):
        if ttl is not None and ttl > MAX_NEGATIVE_TTL:
            found.append(f"{who}: negative-caching TTL for {code} is {ttl} s; Cloud CDN allows at most 1800 s")
    return found


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != BACKEND_BUCKET:
        return
    config = read_config(NAME, CONFIG_SCHEMA, args.get_config())
    for message in backend_violations(args.name, args.props, config):
        report_violation(message, None)


policy: Final = ResourceValidationPolicy(
    name=NAME,
    description="Requires every backend bucket to serve through Cloud CDN with the seed's TTL bounds, "
    "automatic compression and negative caching for 404 and 410.",
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
