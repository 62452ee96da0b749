"""http-redirect-only: a forwarding rule on port 80 serves only a redirect to HTTPS."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from policy_fixtures import UNKNOWN, gcp, run_direct, run_direct_located, unread
from pulumi_policy import PolicyResource
from ziggie_policies import http_redirect_only
from ziggie_policies._support import PolicyConfigError

from preflight.records import RecordedResource

RULE = "gcp:compute/globalForwardingRule:GlobalForwardingRule"
REGIONAL_RULE = "gcp:compute/forwardingRule:ForwardingRule"
HTTP_PROXY = "gcp:compute/targetHttpProxy:TargetHttpProxy"
HTTPS_PROXY = "gcp:compute/targetHttpsProxy:TargetHttpsProxy"
URL_MAP = "gcp:compute/uRLMap:URLMap"
API = "https://www.googleapis.com/compute/v1/projects/p/global"
REDIRECT = {"httpsRedirect": True, "stripQuery": False, "redirectResponseCode": "MOVED_PERMANENTLY_DEFAULT"}


def chain(
    port: str = "80",
    *,
    url_map: dict[str, Any],
    proxy_type: str = HTTP_PROXY,
    known: bool = True,
    linked: bool = True,
    name: str = "cdn",
) -> list[RecordedResource]:
    """URL map -> proxy -> forwarding rule, linked by value (self link, or UNKNOWN) and, unless
    ``linked`` is false, by dependency; ``name`` prefixes the three resource names."""
    umap = gcp(
        URL_MAP, f"{name}-map", {"name": f"{name}-map", **url_map}, outputs={"selfLink": f"{API}/urlMaps/{name}-map"}
    )
    proxy = gcp(
        proxy_type,
        f"{name}-proxy",
        {"name": f"{name}-proxy", "urlMap": f"{API}/urlMaps/{name}-map" if known else UNKNOWN},
        outputs={"selfLink": f"{API}/targetHttpProxies/{name}-proxy"},
        property_dependencies={"urlMap": [umap.urn]} if linked else None,
    )
    rule = gcp(
        RULE,
        f"{name}-rule-{port}",
        {
            "name": f"{name}-rule-{port}",
            "portRange": port,
            "target": f"{API}/targetHttpProxies/{name}-proxy" if known else UNKNOWN,
            "loadBalancingScheme": "EXTERNAL_MANAGED",
        },
        property_dependencies={"target": [proxy.urn]} if linked else None,
    )
    return [umap, proxy, rule]


def _with(resource: RecordedResource, **inputs: Any) -> RecordedResource:
    return dataclasses.replace(resource, inputs={**resource.inputs, **inputs})


def _target(resources: list[RecordedResource], target: Any) -> list[RecordedResource]:
    """The chain with the rule's target input replaced and its dependencies dropped."""
    *rest, rule = resources
    return [*rest, dataclasses.replace(_with(rule, target=target), property_dependencies={}, dependencies=())]


def _url_map(resources: list[RecordedResource], url_map: Any) -> list[RecordedResource]:
    """The chain with the proxy's urlMap input replaced and its dependencies dropped."""
    umap, proxy, rule = resources
    return [umap, dataclasses.replace(_with(proxy, urlMap=url_map), property_dependencies={}, dependencies=()), rule]


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
    pytest.param(
        [*chain(url_map=SERVES)[:2], dataclasses.replace(chain(url_map=SERVES)[2], type=REGIONAL_RULE)],
        [],
        id="not_applicable_to_a_regional_forwarding_rule",
    ),
    pytest.param(
        chain(url_map=SERVES, known=False),
        ["forwarding rule cdn-rule-80 (port 80): URL map cdn-map routes to a backend (defaultService)"],
        id="links_unknown_at_preview_still_lead_to_the_serving_map",
    ),
    pytest.param(
        chain(url_map=SERVES, linked=False),
        ["forwarding rule cdn-rule-80 (port 80): URL map cdn-map routes to a backend (defaultService)"],
        id="without_dependencies_the_chain_is_read_by_self_link",
    ),
    pytest.param(
        chain("80-80", url_map={**SERVES, "hostRules": [{"hosts": ["*"], "pathMatcher": "all"}]}),
        [
            "forwarding rule cdn-rule-80-80 (port 80-80): URL map cdn-map routes to a backend (defaultService, hostRules)"
        ],
        id="port_range_80_80_routing_two_ways",
    ),
    pytest.param(
        _target(chain(url_map=SERVES), f"{API}/targetHttpProxies/elsewhere"),
        ["forwarding rule cdn-rule-80 (port 80): its target is not a target HTTP proxy of this stack"],
        id="target_outside_the_stack",
    ),
    pytest.param(
        _target(chain(url_map=SERVES), [f"{API}/targetHttpProxies/cdn-proxy"]),
        ["forwarding rule cdn-rule-80 (port 80): its target is not a target HTTP proxy of this stack"],
        id="target_that_is_not_a_link",
    ),
    pytest.param(_target(chain(url_map=SERVES), UNKNOWN), [], id="target_unknown_without_dependencies_is_skipped"),
    pytest.param(
        _url_map(chain(url_map=SERVES), f"{API}/urlMaps/elsewhere"),
        ["forwarding rule cdn-rule-80 (port 80): proxy cdn-proxy has no URL map of this stack"],
        id="proxy_url_map_outside_the_stack",
    ),
    pytest.param(
        _url_map(chain(url_map=SERVES), f"{API}/targetHttpProxies/cdn-proxy"),
        ["forwarding rule cdn-rule-80 (port 80): proxy cdn-proxy has no URL map of this stack"],
        id="proxy_url_map_links_a_resource_that_is_no_url_map",
    ),
    pytest.param(_url_map(chain(url_map=SERVES), UNKNOWN), [], id="url_map_unknown_without_dependencies_is_skipped"),
    pytest.param(
        [
            *_target(chain(url_map=SERVES, name="a"), f"{API}/targetHttpProxies/elsewhere"),
            *chain(url_map=SERVES, proxy_type=HTTPS_PROXY, name="b"),
            *_url_map(chain(url_map=SERVES, name="c"), f"{API}/urlMaps/elsewhere"),
            *chain("443", url_map=SERVES, proxy_type=HTTPS_PROXY, name="d"),
            *chain(url_map=SERVES, name="e"),
        ],
        [
            "forwarding rule a-rule-80 (port 80): its target is not a target HTTP proxy of this stack",
            "forwarding rule b-rule-80 (port 80): targets b-proxy, a gcp:compute/targetHttpsProxy:TargetHttpsProxy, "
            "not a redirecting HTTP proxy",
            "forwarding rule c-rule-80 (port 80): proxy c-proxy has no URL map of this stack",
            "forwarding rule e-rule-80 (port 80): URL map e-map routes to a backend (defaultService)",
        ],
        id="every_rule_is_judged_whatever_the_one_before_it",
    ),
]


@pytest.mark.parametrize(("resources", "expected"), CASES)
def test_http_redirect_only(run: Any, resources: list[RecordedResource], expected: list[str]) -> None:
    assert run(http_redirect_only.policy, resources, {}) == sorted(expected)


def test_violations_are_located_on_the_forwarding_rule() -> None:
    resources = chain(url_map=SERVES)
    assert run_direct_located(http_redirect_only.policy, resources, {}) == [
        (
            "forwarding rule cdn-rule-80 (port 80): URL map cdn-map routes to a backend (defaultService)",
            resources[-1].urn,
        )
    ]


def test_ports_come_from_config(run: Any) -> None:
    resources = chain("8080", url_map=SERVES)
    assert run(http_redirect_only.policy, resources, {}) == []
    assert run(http_redirect_only.policy, resources, {"ports": ["8080"]}) == [
        "forwarding rule cdn-rule-8080 (port 8080): URL map cdn-map routes to a backend (defaultService)"
    ]


def test_unknown_config_key_is_an_error() -> None:
    with pytest.raises(PolicyConfigError) as caught:
        run_direct(http_redirect_only.policy, chain(url_map={"defaultUrlRedirect": REDIRECT}), {"port": ["80"]})
    assert str(caught.value) == "policy http-redirect-only: unknown config key 'port' (known: ports)"


def test_only_gcp_resources_props_are_read_and_none_without_a_forwarding_rule() -> None:
    # The pack converts each prop of a stack resource when first read (ziggie_policies/_shared_views.py).
    config = {"ports": ["80"]}
    assert (
        http_redirect_only.redirect_violations(
            [unread(URL_MAP, "urn:map"), unread("docker:index/container:Container", "urn:c")], config
        )
        == []
    )
    rule = PolicyResource(
        RULE,
        {"portRange": "80", "target": "x"},
        "urn:rule",
        "rule",
        unread(URL_MAP, "urn:map").opts,
        None,
        None,
        [],
        {},
    )
    found = http_redirect_only.redirect_violations([rule, unread("docker:index/container:Container", "urn:c")], config)
    assert found == [
        ("forwarding rule rule (port 80): its target is not a target HTTP proxy of this stack", "urn:rule")
    ]
