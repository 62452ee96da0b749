"""cdn-backend-bucket: a backend bucket caches through Cloud CDN as the seed says."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from policy_fixtures import UNKNOWN, bucket, gcp, run_direct
from ziggie_policies import cdn_backend_bucket
from ziggie_policies._support import PolicyConfigError

from preflight.records import RecordedResource

BACKEND = "gcp:compute/backendBucket:BackendBucket"
SEED_POLICY: dict[str, Any] = {
    "cacheMode": "CACHE_ALL_STATIC",
    "defaultTtl": 86400,
    "maxTtl": 2592000,
    "clientTtl": 3600,
    "negativeCaching": True,
    "negativeCachingPolicies": [{"code": 404, "ttl": 120}, {"code": 410, "ttl": 1800}],
    "serveWhileStale": 86400,
    "requestCoalescing": True,
}


def backend(**changes: Any) -> RecordedResource:
    """The seed's backend bucket; `changes` replace cdnPolicy keys (None drops one) or top-level keys."""
    policy = copy.deepcopy(SEED_POLICY)
    inputs: dict[str, Any] = {"name": "cdn-backend", "bucketName": "ziggie-prod-cdn", "enableCdn": True}
    inputs["compressionMode"] = "AUTOMATIC"
    for key, value in changes.items():
        if key in ("name", "enableCdn", "compressionMode", "cdnPolicy"):
            inputs[key] = value
        elif value is None:
            policy.pop(key, None)
        else:
            policy[key] = value
    inputs.setdefault("cdnPolicy", policy)
    return gcp(BACKEND, "cdn-backend", inputs)


WHO = "backend bucket cdn-backend"
CASES = [
    pytest.param([backend()], [], id="seed_policy_passes"),
    pytest.param(
        [backend(enableCdn=False)],
        [f"{WHO}: Cloud CDN is not enabled (enableCdn); every request would reach the bucket"],
        id="cdn_off",
    ),
    pytest.param(
        [backend(compressionMode="DISABLED")],
        [f"{WHO}: compressionMode is DISABLED, not AUTOMATIC"],
        id="no_compression",
    ),
    pytest.param(
        [backend(defaultTtl=172800, maxTtl=31536000)],
        [f"{WHO}: defaultTtl 172800 s exceeds 86400 s", f"{WHO}: maxTtl 31536000 s exceeds 2592000 s"],
        id="ttls_above_the_seeds_bounds",
    ),
    pytest.param(
        [backend(cacheMode="USE_ORIGIN_HEADERS", defaultTtl=None, maxTtl=None, clientTtl=None)],
        [
            f"{WHO}: cacheMode USE_ORIGIN_HEADERS is not one of CACHE_ALL_STATIC",
            f"{WHO}: defaultTtl is unset; at most 86400 s expected",
            f"{WHO}: maxTtl is unset; at most 2592000 s expected",
        ],
        id="origin_headers_mode_drops_the_seeds_ttls",
    ),
    pytest.param(
        [backend(serveWhileStale=0)], [f"{WHO}: serveWhileStale 0 s is shorter than 86400 s"], id="no_serve_stale"
    ),
    pytest.param(
        [backend(negativeCaching=False, negativeCachingPolicies=None)],
        [f"{WHO}: negativeCaching is off; 404 and 410 answers would reach the bucket every time"],
        id="negative_caching_off",
    ),
    pytest.param(
        [backend(negativeCachingPolicies=[{"code": 404, "ttl": 3600}])],
        [
            f"{WHO}: no negative-caching TTL for 410",
            f"{WHO}: negative-caching TTL for 404 is 3600 s; Cloud CDN allows at most 1800 s",
        ],
        id="negative_ttl_too_long_and_410_missing",
    ),
    pytest.param(
        [backend(cdnPolicy=None)],
        [f"{WHO}: no cdnPolicy; the seed's TTLs and negative caching are missing"],
        id="no_cdn_policy",
    ),
    pytest.param([backend(cdnPolicy=UNKNOWN, enableCdn=UNKNOWN)], [], id="unknown_at_preview_is_skipped"),
    pytest.param(
        [backend(name="ziggie-prod-cdn-backend", compressionMode=None)],
        ["backend bucket ziggie-prod-cdn-backend: compressionMode is unset, not AUTOMATIC"],
        id="named_by_its_gcp_name_compression_unset",
    ),
    pytest.param(
        [backend(name=None, enableCdn=False)],
        [f"{WHO}: Cloud CDN is not enabled (enableCdn); every request would reach the bucket"],
        id="without_a_name_named_by_its_resource_name",
    ),
    pytest.param(
        [backend(name=UNKNOWN, serveWhileStale=None)],
        [f"{WHO}: serveWhileStale unset s is shorter than 86400 s"],
        id="name_unknown_at_preview_serve_stale_unset",
    ),
    pytest.param(
        [backend(defaultTtl=UNKNOWN, maxTtl=2592001)],
        [f"{WHO}: maxTtl 2592001 s exceeds 2592000 s"],
        id="default_ttl_unknown_max_ttl_one_second_over",
    ),
    pytest.param(
        [backend(defaultTtl=86400, maxTtl=2592000, serveWhileStale=86400)], [], id="ttls_exactly_at_the_bounds_pass"
    ),
    pytest.param([bucket("ziggie-prod-assets")], [], id="not_applicable_to_other_resources"),
]


@pytest.mark.parametrize(("resources", "expected"), CASES)
def test_cdn_backend_bucket(run: Any, resources: list[RecordedResource], expected: list[str]) -> None:
    assert run(cdn_backend_bucket.policy, resources, {}) == sorted(expected)


def test_bounds_come_from_config(run: Any) -> None:
    config = {"maxDefaultTtl": 3600, "negativeCachingCodes": [404, 410, 451]}
    assert run(cdn_backend_bucket.policy, [backend()], config) == [
        f"{WHO}: defaultTtl 86400 s exceeds 3600 s",
        f"{WHO}: no negative-caching TTL for 451",
    ]


def test_allowed_cache_modes_come_from_config(run: Any) -> None:
    config = {"cacheModes": ["CACHE_ALL_STATIC", "FORCE_CACHE_ALL"]}
    assert run(cdn_backend_bucket.policy, [backend(cacheMode=None)], config) == [
        f"{WHO}: cacheMode unset is not one of CACHE_ALL_STATIC, FORCE_CACHE_ALL"
    ]
    assert run(cdn_backend_bucket.policy, [backend(cacheMode="FORCE_CACHE_ALL")], config) == []


def test_unknown_config_key_is_an_error() -> None:
    with pytest.raises(PolicyConfigError) as caught:
        run_direct(cdn_backend_bucket.policy, [backend()], {"maxTtl": 60})
    assert str(caught.value) == (
        "policy cdn-backend-bucket: unknown config key 'maxTtl' (known: cacheModes, maxDefaultTtl, maxMaxTtl, "
        "minServeWhileStale, negativeCachingCodes)"
    )
