"""Config of the CDN, the GCP project and the budgets: each bad key is one clear problem.

The rules are the ones the APIs apply when the resources are created (Cloud CDN's cdnPolicy,
AWS Budgets' and Billing Budgets' notification limits), so a wrong combination fails here, at
config time, instead of half-way through a deploy. Config-validation only: no resources.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from test_loader import dns_stack, good_stack, line, load, problem_lines

from config.loader import ConfigError
from config.models import BUDGET_THRESHOLDS, CdnCache

Edit = Callable[[dict[str, Any]], None]


def cloud_stack() -> dict[str, Any]:
    """A valid prod stack with AWS DR, the CDN and budgets on both clouds."""
    stack = dns_stack()
    stack["cloud"] = {"awsDr": True, "cdn": True, "budgets": True}
    stack["gcp"] = {
        "project": "ziggie-prod-placeholder",
        "billingAccount": "000000-000000-000000",
        "cdn": {"domain": "cdn.ziggie.example"},
    }
    stack["budgets"] = {"aws": {"monthlyUsd": "60"}, "gcp": {"monthlyUsd": "40"}}
    return stack


def at(*path: str, value: Any) -> Edit:
    """Set (or, with value None, remove) the key at `path`."""

    def edit(stack: dict[str, Any]) -> None:
        node = stack
        for key in path[:-1]:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value

    return edit


def cache(**fields: Any) -> Edit:
    return at("gcp", "cdn", "cache", value=fields)


def test_the_seed_defaults_are_the_cdn_cache_policy() -> None:
    loaded = load(cloud_stack())
    assert loaded.gcp is not None and loaded.gcp.cdn is not None
    policy = loaded.gcp.cdn.cache
    assert (policy.cache_mode, policy.default_ttl, policy.max_ttl, policy.serve_while_stale) == (
        "CACHE_ALL_STATIC",
        86_400,
        2_592_000,
        86_400,
    )
    assert [(p.code, p.ttl) for p in policy.negative_caching_policy] == [(404, 120), (410, 1800)]
    assert policy.compression == "AUTOMATIC" and policy.request_coalescing and policy.negative_caching
    assert policy == CdnCache()


def test_budget_thresholds_are_the_designs_five() -> None:
    assert [(float(f), basis) for f, basis in BUDGET_THRESHOLDS] == [
        (0.5, "ACTUAL"),
        (0.75, "ACTUAL"),
        (0.9, "ACTUAL"),
        (1.0, "ACTUAL"),
        (1.0, "FORECASTED"),
    ]


def test_committed_prod_turns_both_switches_on() -> None:
    from preflight.runner import PROJECT_DIR, _read

    _, prod = _read("prod", PROJECT_DIR / "Pulumi.prod.yaml", PROJECT_DIR)
    assert prod.cloud.cdn and prod.cloud.budgets
    assert prod.budgets is not None and prod.budgets.aws is not None and prod.budgets.gcp is not None
    _, dev = _read("dev", PROJECT_DIR / "Pulumi.dev.yaml", PROJECT_DIR)
    assert (dev.cloud.cdn, dev.cloud.budgets, dev.cloud.aws_dr, dev.gcp, dev.budgets) == (
        False,
        False,
        False,
        None,
        None,
    )


CACHE_CASES = [
    pytest.param(
        cache(cacheMode="USE_ORIGIN_HEADERS"),
        [
            line(
                "gcp.cdn.cache.clientTtl", "must be null with cacheMode USE_ORIGIN_HEADERS: the origin's headers rule"
            ),
            line(
                "gcp.cdn.cache.defaultTtl", "must be null with cacheMode USE_ORIGIN_HEADERS: the origin's headers rule"
            ),
            line("gcp.cdn.cache.maxTtl", "must be null with cacheMode USE_ORIGIN_HEADERS: the origin's headers rule"),
        ],
        id="origin_headers_mode_takes_no_ttls",
    ),
    pytest.param(
        cache(cacheMode="FORCE_CACHE_ALL"),
        [line("gcp.cdn.cache.maxTtl", "applies to cacheMode CACHE_ALL_STATIC only, not FORCE_CACHE_ALL")],
        id="max_ttl_only_with_cache_all_static",
    ),
    pytest.param(
        cache(negativeCachingPolicy=[{"code": 404, "ttl": 1801}]),
        [
            line(
                "gcp.cdn.cache.negativeCachingPolicy[0].ttl",
                "1801 s exceeds Cloud CDN's 1800 s negative-caching maximum",
            )
        ],
        id="negative_ttl_above_1800",
    ),
    pytest.param(
        cache(negativeCachingPolicy=[{"code": 500, "ttl": 60}]),
        [
            line(
                "gcp.cdn.cache.negativeCachingPolicy[0].code",
                "500 takes no negative-caching TTL; Cloud CDN allows 300, 301, 308, 404, 405, 410, 421, 451, 501",
            )
        ],
        id="negative_caching_code_not_allowed",
    ),
    pytest.param(
        cache(negativeCachingPolicy=[{"code": 404, "ttl": 60}, {"code": 404, "ttl": 120}]),
        [line("gcp.cdn.cache.negativeCachingPolicy", "status 404 is listed twice")],
        id="negative_caching_code_twice",
    ),
    pytest.param(
        cache(negativeCaching=False),
        [line("gcp.cdn.cache.negativeCachingPolicy", "needs negativeCaching true")],
        id="negative_policy_without_negative_caching",
    ),
    pytest.param(
        cache(defaultTtl=2_592_001),
        [line("gcp.cdn.cache.defaultTtl", "2592001 s exceeds maxTtl 2592000 s")],
        id="default_ttl_above_max_ttl",
    ),
    pytest.param(
        cache(maxTtl=31_622_401, defaultTtl=None, clientTtl=None),
        [line("gcp.cdn.cache.maxTtl", "31622401 s exceeds Cloud CDN's one-year maximum (31622400 s)")],
        id="ttl_above_one_year",
    ),
    pytest.param(
        cache(compression="GZIP"),
        [line("gcp.cdn.cache.compression", "Input should be 'AUTOMATIC' or 'DISABLED' (got \"GZIP\")")],
        id="compression_mode_unknown",
    ),
    pytest.param(
        cache(defaultTtls=3600),
        [line("gcp.cdn.cache.defaultTtls", "unknown key")],
        id="misspelt_cache_key",
    ),
]

SWITCH_CASES = [
    pytest.param(
        at("gcp", value=None),
        [line("gcp", "is required when cloud.cdn is true: set gcp.project and gcp.cdn")],
        id="cdn_on_without_gcp_settings",
    ),
    pytest.param(
        at("gcp", "cdn", value=None),
        [line("gcp.cdn", "is required when cloud.cdn is true: set at least gcp.cdn.domain")],
        id="cdn_on_without_cdn_settings",
    ),
    pytest.param(
        at("gcp", "cdn", "domain", value=None),
        [line("gcp.cdn.domain", "is required")],
        id="cdn_without_domain",
    ),
    pytest.param(
        at("gcp", "cdn", "domain", value="cdn.other.example"),
        [line("gcp.cdn.domain", "cdn.other.example is not inside the zone ziggie.example")],
        id="cdn_domain_outside_the_zone",
    ),
    pytest.param(
        at("aws", "dns", value=None),
        [line("cloud.cdn", "needs aws.dns (cloud.awsDr): the CDN domain's records go in its Route 53 zone")],
        id="cdn_without_a_zone_for_its_records",
    ),
    pytest.param(
        at("cloud", "cdn", value=False),
        [
            line("budgets.gcp", "is set but the stack uses no GCP (cloud.cdn is off)"),
            line("cloud.cdn", "must be true for the gcp settings to apply"),
        ],
        id="gcp_settings_with_cdn_off",
    ),
    pytest.param(
        at("budgets", "gcp", value=None),
        [line("budgets.gcp", "is required: cloud.budgets is on and the stack uses GCP (cloud.cdn)")],
        id="budgets_on_without_gcp_budget",
    ),
    pytest.param(
        at("budgets", value=None),
        [
            line("budgets.aws", "is required: cloud.budgets is on and the stack uses AWS (cloud.awsDr)"),
            line("budgets.gcp", "is required: cloud.budgets is on and the stack uses GCP (cloud.cdn)"),
        ],
        id="budgets_on_without_any_budget",
    ),
    pytest.param(
        at("cloud", "budgets", value=False),
        [line("cloud.budgets", "must be true for the budgets settings to apply")],
        id="budget_settings_with_budgets_off",
    ),
    pytest.param(
        at("gcp", "billingAccount", value=None),
        [line("gcp.billingAccount", "is required for budgets.gcp")],
        id="gcp_budget_without_billing_account",
    ),
    pytest.param(
        at("gcp", "billingAccount", value="0000-0000"),
        [
            line(
                "gcp.billingAccount",
                "String should match pattern '^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$' (got \"0000-0000\")",
            )
        ],
        id="billing_account_malformed",
    ),
    pytest.param(
        at("budgets", "aws", "monthlyUsd", value="0"),
        [line("budgets.aws.monthlyUsd", 'Input should be greater than 0 (got "0")')],
        id="budget_amount_zero",
    ),
    pytest.param(
        at("alerts", "emails", value=[]),
        # The budgets' problem, beside those of the other parts that mail the same list.
        [
            line(
                "alerts.emails",
                "is empty, but aws.dns.healthCheck.alarm is on: list who is told when the primary fails",
            ),
            line("alerts.emails", "is empty, but certbot needs an address to register with Let's Encrypt"),
            line("alerts.emails", "is required when cloud.budgets is true: budgets alert by email"),
            line("alerts.emails", "must name at least one address: alertmanager mails them"),
        ],
        id="budgets_without_emails",
    ),
    pytest.param(
        at("alerts", "emails", value=[f"ops{i}@ziggie.example" for i in range(6)]),
        [line("alerts.emails", "6 addresses: a GCP budget takes at most 5 notification channels")],
        id="more_emails_than_gcp_budget_channels",
    ),
    pytest.param(
        at("alerts", "emails", value=[f"ops{i}@ziggie.example" for i in range(11)]),
        [
            line(
                "alerts.emails",
                'Tuple should have at most 10 items after validation, not 11 (got ["ops0@ziggie.example", '
                '"ops1@ziggie.example", "ops2@ziggie.example", "ops3@ziggie.example", "ops4@ziggie.example", '
                '"ops5@ziggie.example", "ops6@ziggie.example", "ops7@ziggie.example", "ops8@ziggie.example", '
                '"ops9@ziggie.example", "ops10@ziggie.example"])',
            )
        ],
        id="more_emails_than_an_aws_notification_takes",
    ),
    pytest.param(
        at("gcp", "project", value="Ziggie_Prod"),
        [line("gcp.project", "String should match pattern '^[a-z][a-z0-9-]{4,28}[a-z0-9]$' (got \"Ziggie_Prod\")")],
        id="project_id_malformed",
    ),
]


@pytest.mark.parametrize(("edit", "expected"), CACHE_CASES + SWITCH_CASES)
def test_bad_cloud_config_is_one_clear_problem(edit: Edit, expected: list[str]) -> None:
    stack = copy.deepcopy(cloud_stack())
    edit(stack)
    with pytest.raises(ConfigError) as caught:
        load(stack)
    assert problem_lines(caught.value) == expected


def test_budgets_switch_on_a_stack_without_clouds() -> None:
    stack = good_stack()
    stack["cloud"] = {"budgets": True}
    stack["alerts"] = {"emails": ["ops@ziggie.example"]}
    with pytest.raises(ConfigError) as caught:
        load(stack)
    assert problem_lines(caught.value) == [
        line("cloud.budgets", "has no cloud to budget: neither cloud.awsDr nor cloud.cdn is on")
    ]


def test_cdn_switch_alone_names_everything_missing() -> None:
    stack = good_stack()
    stack["cloud"] = {"cdn": True}
    with pytest.raises(ConfigError) as caught:
        load(stack)
    assert problem_lines(caught.value) == [
        line("cloud.cdn", "needs aws.dns (cloud.awsDr): the CDN domain's records go in its Route 53 zone"),
        line("gcp", "is required when cloud.cdn is true: set gcp.project and gcp.cdn"),
    ]


def test_an_aws_only_stack_budgets_aws_alone() -> None:
    stack = cloud_stack()
    stack["cloud"]["cdn"] = False
    del stack["gcp"]
    del stack["budgets"]["gcp"]
    loaded = load(stack)
    assert loaded.budgets is not None and loaded.budgets.gcp is None
