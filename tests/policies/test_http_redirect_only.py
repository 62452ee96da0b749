"""http-redirect-only: a forwarding rule on port 80 serves only a redirect to HTTPS."""

from __future__ import annotations

from typing import Any

import pytest
from policy_fixtures import UNKNOWN, gcp
from ziggie_policies import http_redirect_only

from preflight.records import RecordedResource

RULE = "gcp:compute/globalForwardingRule:GlobalForwardingRule"
HTTP_PROXY = "gcp:compute/targetHttpProxy:TargetHttpProxy"
HTTPS_PROXY = "gcp:compute/targetHttpsProxy:TargetHttpsProxy"
URL_MAP = "gcp:compute/uRLMap:URLMap"
API = "https://www.googleapis.com/compute/v1/projects/p/global"
REDIRECT = {"httpsRedirect": True, "stripQuery": False, "redirectResponseCode": "MOVED_PERMANENTLY_DEFAULT"}


def chain(
    port: str = "80", *, url_map: dict[str, Any], proxy_type: str = HTTP_PROXY, known: bool = True
) -> list[RecordedResource]:
    """URL map -> proxy -> forwarding rule, linked by value (self link, or UNKNOWN) and by dependency."""
    umap = gcp(URL_MAP, "cdn-map", {"name": "cdn-map", **url_map}, outputs={"selfLink": f"{API}/urlMaps/cdn-map"})
    proxy = gcp(
        proxy_type,
        "cdn-proxy",
        {"name": "cdn-proxy", "urlMap": f"{API}/urlMaps/cdn-map" if known else UNKNOWN},
        outputs={"selfLink": f"{API}/targetHttpProxies/cdn-proxy"},
        property_dependencies={"urlMap": [umap.urn]},
    )
    rule = gcp(
        RULE,
        f"cdn-rule-{port}",
        {
            "name": f"cdn-rule-{port}",
            "portRange": port,
            "target": f"{API}/targetHttpProxies/cdn-proxy" if known else UNKNOWN,
            "loadBalancingScheme": "EXTERNAL_MANAGED",
        },
        property_dependencies={"target": [proxy.urn]},
    )
    return [umap, proxy, rule]


SERVES = {"defaultService": f"{API}/backendBuckets/cdn-backend"}
CASES = [
    pytest.param(chain(url_map={"defaultUrlRedirect": REDIRECT}), [], id="redirect_only_passes"),
    pytest.param(
        chain(url_map={"defaultUrlRedirect": REDIRECT}, known=False),
        [],
        id="links_unknown_at_preview_read_by_dependency",
    ),
    pytest.param(
        chain(url_map=SERVES),
        ["forwarding rule cdn-rule-80 (port 80): URL map cdn-map routes to a backend (defaultService)"],
        id="port_80_serves_the_backend",
    ),
    pytest.param(
        chain(url_map={"defaultUrlRedirect": {**REDIRECT, "httpsRedirect": False, "hostRedirect": "x.example"}}),
        [
            "forwarding rule cdn-rule-80 (port 80): URL map cdn-map does not redirect to HTTPS "
            "(defaultUrlRedirect.httpsRedirect)"
        ],
        id="redirect_elsewhere_not_to_https",
    ),
    pytest.param(
        chain(url_map=SERVES, proxy_type=HTTPS_PROXY),
        [
            "forwarding rule cdn-rule-80 (port 80): targets cdn-proxy, a gcp:compute/targetHttpsProxy:TargetHttpsProxy, "
            "not a redirecting HTTP proxy"
        ],
        id="port_80_on_an_https_proxy",
    ),
    pytest.param(chain("443", url_map=SERVES, proxy_type=HTTPS_PROXY), [], id="not_applicable_to_port_443"),
]


@pytest.mark.parametrize(("resources", "expected"), CASES)
def test_http_redirect_only(run: Any, resources: list[RecordedResource], expected: list[str]) -> None:
    assert run(http_redirect_only.policy, resources, {}) == sorted(expected)
