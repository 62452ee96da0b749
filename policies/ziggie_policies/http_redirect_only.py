"""http-redirect-only: a forwarding rule on port 80 serves nothing but a redirect to HTTPS.

Port 80 carries no TLS, so content served there can be read and changed on the way. A global
forwarding rule on port 80 must point at a target HTTP proxy whose URL map only redirects
(``defaultUrlRedirect`` with ``httpsRedirect``) and routes to no backend. The chain is read
through the rule's and the proxy's property dependencies, which are known during a preview
(the self links they carry are not, for resources created in the same update).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from ziggie_policies._support import UNKNOWN, prop, read_config

NAME: Final = "http-redirect-only"
GCP: Final = "gcp:"
FORWARDING_RULE: Final = "gcp:compute/globalForwardingRule:GlobalForwardingRule"
HTTP_PROXY: Final = "gcp:compute/targetHttpProxy:TargetHttpProxy"
URL_MAP: Final = "gcp:compute/uRLMap:URLMap"
# What a URL map that only redirects must not have: each routes requests to a backend.
_ROUTES: Final = ("defaultService", "defaultRouteAction", "pathMatchers", "hostRules")

CONFIG_SCHEMA: Final = PolicyConfigSchema(
    properties={
        "ports": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["80", "80-80"],
            "description": "portRange values that carry plain HTTP.",
        },
    }
)


def _dependency(resource: PolicyResource, key: str, by_link: Mapping[str, PolicyResource]) -> PolicyResource | None:
    found = resource.property_dependencies.get(key) or []
    if len(found) == 1:
        return found[0]
    link = prop(resource.props, key)
    return by_link.get(link) if isinstance(link, str) else None


def redirect_violations(resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(message, URN) for each plain-HTTP forwarding rule that may serve content."""
    rules = [r for r in resources if r.resource_type == FORWARDING_RULE]
    if not rules:
        return []
    # A self link is GCP's: only a GCP resource's props are read for one (the pack converts each
    # of a resource's props when it is first read).
    by_link = {
        link: r
        for r in resources
        if r.resource_type.startswith(GCP)
        for link in [prop(r.props, "selfLink")]
        if isinstance(link, str)
    }
    found: list[tuple[str, str]] = []
    # In the engine's order: preflight, like the CLI, orders the violations it shows itself.
    for rule in rules:
        port = prop(rule.props, "portRange")
        if port is UNKNOWN or port not in config["ports"]:
            continue
        who = f"forwarding rule {rule.name} (port {port})"
        proxy = _dependency(rule, "target", by_link)
        if proxy is None:
            if prop(rule.props, "target") is not UNKNOWN:
                found.append((f"{who}: its target is not a target HTTP proxy of this stack", rule.urn))
            continue
        if proxy.resource_type != HTTP_PROXY:
            found.append(
                (f"{who}: targets {proxy.name}, a {proxy.resource_type}, not a redirecting HTTP proxy", rule.urn)
            )
            continue
        url_map = _dependency(proxy, "urlMap", by_link)
        if url_map is None or url_map.resource_type != URL_MAP:
            if prop(proxy.props, "urlMap") is not UNKNOWN:
                found.append((f"{who}: proxy {proxy.name} has no URL map of this stack", rule.urn))
            continue
        routes = [key for key in _ROUTES if prop(url_map.props, key) not in (None, [], UNKNOWN)]
        redirect = prop(url_map.props, "defaultUrlRedirect")
        https = prop(redirect, "httpsRedirect") if isinstance(redirect, Mapping) else None
        if routes:
            found.append((f"{who}: URL map {url_map.name} routes to a backend ({', '.join(routes)})", rule.urn))
        elif redirect is not UNKNOWN and https is not True:
            found.append(
                (
                    f"{who}: URL map {url_map.name} does not redirect to HTTPS (defaultUrlRedirect.httpsRedirect)",
                    rule.urn,
                )
            )
    return found


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    config = read_config(NAME, CONFIG_SCHEMA, args.get_config())
    for message, urn in redirect_violations(args.resources, config):
        report_violation(message, urn)


policy: Final = StackValidationPolicy(
    name=NAME,
    description="Requires every forwarding rule on port 80 to serve only a redirect to HTTPS.",
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=CONFIG_SCHEMA,
)
