"""cost-budget: the estimator prices a plan from the pack's price table, and the policy refuses a
plan whose estimate, or whose fixed part, does not fit the stack's budget."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from policy_fixtures import aws, container, on_host, run_direct, unread
from pulumi_policy import PolicyCustomTimeouts, PolicyProviderResource, PolicyResource, PolicyResourceOptions
from ziggie_policies import cost_budget
from ziggie_policies._cost import Estimate, Line, PriceTable, estimate_monthly_cost, load_prices, render_lines
from ziggie_policies._support import UNKNOWN as UNKNOWN_PROP
from ziggie_policies._support import PolicyConfigError

from preflight.cost import cost_estimate
from preflight.records import RecordedResource
from preflight.runner import PROJECT_DIR, run_stack

HOSTS = {"ssh://deploy@203.0.113.10": "hostinger-kvm-4"}
ZONE = aws("aws:route53/zone:Zone", "dns-zone", {"name": "ziggie.example"})
CHECK = aws(
    "aws:route53/healthCheck:HealthCheck",
    "dns-health",
    {"type": "HTTPS", "measureLatency": True, "requestInterval": 30, "fqdn": "vps1.ziggie.example"},
)
# 12.00 (one KVM 4) + 0.50 (zone) + 0.75 + 2.00 + 2.00 (non-AWS check, HTTPS, latency) = 17.25
SMALL_STACK = [*on_host("vps1", container("vps1", "redis")), ZONE, CHECK]
LARGEST = (
    "largest fixed: Docker hosts (hostinger-kvm-4) 12.00, Route 53 health check option: https 2.00, "
    "Route 53 health check option: latency 2.00"
)


def config(budget: float, **more: Any) -> dict[str, Any]:
    return {"monthlyBudgetUsd": budget, "hosts": HOSTS, **more}


CASES = [
    pytest.param(SMALL_STACK, config(17.25), [], id="estimate_equal_to_budget_passes"),
    pytest.param(
        SMALL_STACK,
        config(17),
        [
            "stack prod: estimated monthly cost 17.25 USD exceeds its budget of 17.00 USD (fixed 17.25, "
            f"usage 0.00); {LARGEST}"
        ],
        id="estimate_over_budget",
    ),
    pytest.param(
        SMALL_STACK,
        config(20, fixedCostShare=0.5),
        [f"stack prod: fixed monthly costs 17.25 USD exceed 50.00 % of the 20.00 USD budget (10.00 USD); {LARGEST}"],
        id="fixed_costs_over_their_share",
    ),
    pytest.param(
        [*on_host("workstation", container("workstation", "redis"))],
        {"monthlyBudgetUsd": 0, "hosts": {"unix:///var/run/docker.sock": "local-docker"}},
        [],
        id="not_applicable_nothing_billed_on_a_local_daemon",
    ),
    pytest.param(
        [aws("aws:s3/bucket:Bucket", "assets", {"bucket": "ziggie-prod-assets"})],
        config(1, usage={"s3GbStored": {"ziggie-prod-assets": 100}}),
        ["stack prod: estimated monthly cost 2.30 USD exceeds its budget of 1.00 USD (fixed 0.00, usage 2.30)"],
        id="usage_alone_over_budget",
    ),
    pytest.param(
        [ZONE],
        config(0),
        [
            "stack prod: estimated monthly cost 0.50 USD exceeds its budget of 0.00 USD (fixed 0.50, usage 0.00); "
            "largest fixed: Route 53 hosted zones 0.50"
        ],
        id="a_zero_budget_refuses_any_cost",
    ),
    pytest.param(SMALL_STACK, config(34.5, fixedCostShare=0.5), [], id="fixed_costs_exactly_their_share_pass"),
]


@pytest.mark.parametrize(("resources", "settings", "expected"), CASES)
def test_cost_budget(
    run: Any, resources: list[RecordedResource], settings: dict[str, Any], expected: list[str]
) -> None:
    assert run(cost_budget.policy, resources, settings) == sorted(expected)


def test_without_a_budget_nothing_is_judged() -> None:
    assert run_direct(cost_budget.policy, SMALL_STACK, {"hosts": HOSTS}) == []


def _resource(urn: str, resource_type: str, provider: PolicyProviderResource | None = None) -> PolicyResource:
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    return PolicyResource(resource_type, {}, urn, urn.rsplit("::", 1)[-1], options, provider, None, [], {})


def test_docker_providers_the_containers_name_are_priced_once_when_not_sent_themselves() -> None:
    # `pulumi policy check` analyzes a snapshot without its providers (README: preflight mirrors
    # a preview, which sends them): the hosts are still found through the containers.
    docker = PolicyProviderResource(
        "pulumi:providers:docker", {"host": "ssh://deploy@203.0.113.10"}, "urn:docker-vps1", "vps1-docker"
    )
    aws_provider = PolicyProviderResource("pulumi:providers:aws", {"region": "eu-north-1"}, "urn:aws", "aws")
    resources = [
        _resource("urn:api", "docker:index/container:Container", docker),
        _resource("urn:redis", "docker:index/container:Container", docker),
        _resource("urn:zone", "aws:route53/zone:Zone", aws_provider),
    ]
    assert cost_budget.stack_resources(resources) == [
        ("docker:index/container:Container", {}),
        ("docker:index/container:Container", {}),
        ("aws:route53/zone:Zone", {}),
        ("pulumi:providers:docker", {"host": "ssh://deploy@203.0.113.10"}),
    ]


def test_the_estimate_reads_the_props_of_the_kinds_it_prices_by_props_only() -> None:
    # The pack converts each prop of a stack resource when first read: containers, images and
    # volumes, most of a stack, are priced by their host, and none of their props is read.
    docker = PolicyProviderResource(
        "pulumi:providers:docker", {"host": "ssh://deploy@203.0.113.10"}, "urn:docker-vps1", "vps1-docker"
    )
    resources = [
        unread(kind, f"urn:{i}", docker)
        for i, kind in enumerate(
            ["docker:index/container:Container", "docker:index/remoteImage:RemoteImage", "docker:index/volume:Volume"]
        )
    ]
    estimate = estimate_monthly_cost(cost_budget.stack_resources(resources), TABLE, {}, {KVM: "kvm"})
    assert estimate.total == Decimal(12)  # the host, found through the containers


def test_unknown_config_key_is_an_error() -> None:
    with pytest.raises(PolicyConfigError) as caught:
        run_direct(cost_budget.policy, SMALL_STACK, {"budgetUsd": 10})
    assert str(caught.value) == (
        "policy cost-budget: unknown config key 'budgetUsd' (known: fixedCostShare, hosts, monthlyBudgetUsd, usage)"
    )


@pytest.mark.parametrize("stack", ["dev", "prod", "dr"])
def test_every_committed_stack_has_a_budget_and_priced_hosts(stack: str) -> None:
    settings = json.loads((PROJECT_DIR / "policies" / "config" / f"{stack}.json").read_text())["cost-budget"]
    assert "monthlyBudgetUsd" in settings
    prices = load_prices().prices
    assert settings["hosts"] and all(key in prices for key in settings["hosts"].values())


def test_every_price_has_a_source_and_a_date() -> None:
    table = load_prices()
    assert len(table.prices) >= 20
    for key, entry in table.prices.items():
        assert entry["source"] and entry["date"] == "2026-11-23", key
    # Only these were checked against a stored copy of their source page; the rest are list
    # prices as known when written, to confirm before relying on them (README, cost guard).
    assert {key for key, entry in table.prices.items() if entry["confirmed"]} == {
        "gcp-forwarding-rules-first-5",
        "gcp-forwarding-rule-additional",
        "cdn-cache-egress-europe",
        "cdn-cache-fill",
    }


def test_a_price_without_its_date_is_refused(tmp_path: Path) -> None:
    document = json.loads((PROJECT_DIR / "policies" / "prices.json").read_text())
    del document["prices"]["kms-key"]["date"]
    document["prices"]["cloudwatch-alarm"]["source"] = ""
    document["prices"]["kms-key"]["confirmed"] = "yes"
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(document))
    with pytest.raises(PolicyConfigError) as caught:
        load_prices(path)
    assert str(caught.value) == (
        "price table prices.json: cloudwatch-alarm: source is required; "
        "kms-key: date must be YYYY-MM-DD (when the price was written down); "
        "kms-key: confirmed must be true or false (checked against its source)"
    )


def test_a_resource_kind_the_table_does_not_know_is_reported_unpriced() -> None:
    estimate = estimate_monthly_cost(
        [("aws:ec2/instance:Instance", {}), ("pulumi:providers:docker", {"host": "ssh://deploy@192.0.2.9"})],
        load_prices(),
        {},
        HOSTS,
    )
    assert estimate.lines == ()
    assert estimate.unpriced == (
        "aws:ec2/instance:Instance",
        "docker host ssh://deploy@192.0.2.9 (not in cost-budget.hosts)",
    )


def test_prod_estimate_is_the_hand_arithmetic() -> None:
    plan = run_stack("prod")
    estimate = cost_estimate(plan.resources, PROJECT_DIR / "policies" / "config" / "prod.json")
    assert estimate is not None
    got = {line["kind"]: Decimal(line["monthlyUsd"]) for line in estimate["lines"]}
    hours = 730
    fixed = {
        "Docker hosts (hostinger-kvm-4)": 2 * Decimal("12"),  # vps1, vps2
        "Route 53 hosted zones": Decimal("0.50"),
        "Route 53 health checks": Decimal("0.75"),  # one check, a non-AWS endpoint
        "Route 53 health check option: https": Decimal("2.00"),
        "Route 53 health check option: latency": Decimal("2.00"),
        # The five database and app secrets and Alertmanager's SMTP password.
        "Secrets Manager secrets": 6 * Decimal("0.40"),
        "Secrets Manager replicas": 6 * Decimal("0.40"),  # each secret has one eu-west-1 replica
        "KMS keys": 4 * Decimal("1.00"),  # a key per bucket per region
        "CloudWatch alarms": Decimal("0.10"),
        "AWS budgets": Decimal("0.00"),  # the first two of the account are free
        "GCP budgets": Decimal("0.00"),
        "GCP global forwarding rules": Decimal("0.025") * hours,  # 4 rules: 443 and 80 on IPv4 and IPv6
        "Cloud Monitoring alert conditions": 2 * Decimal("0.10"),
    }
    usage = {
        "S3 Standard storage": (50 + 50 + 100 + 100) * Decimal("0.023"),
        "S3 replication transfer": (10 + 30) * Decimal("0.02"),
        "S3 Replication Time Control": (10 + 30) * Decimal("0.015"),
        "GCS Standard storage": 20 * Decimal("0.026"),
        "Cloud CDN cache egress": 200 * Decimal("0.08"),
        "Cloud CDN cache fill": 200 * (1 - Decimal("0.9")) * Decimal("0.01"),
    }
    assert got == {kind: value.quantize(Decimal("0.01")) for kind, value in {**fixed, **usage}.items()}
    assert Decimal(estimate["fixedUsd"]) == Decimal("56.60") == sum(fixed.values())
    assert Decimal(estimate["totalUsd"]) == Decimal("81.62") == sum(fixed.values()) + sum(usage.values())
    assert estimate["budgetUsd"] == "100"
    assert estimate["unpriced"] == []
    assert estimate["text"][-1] == "total 81.62 USD a month (fixed 56.60, usage 25.02) against a budget of 100.00 USD"


# --- the estimator on a price table of its own, so each figure below is the table's arithmetic ---

KVM = "ssh://deploy@203.0.113.10"
BACKEND = "gcp:compute/backendBucket:BackendBucket"
TABLE = PriceTable(
    prices={
        key: {"usd": usd}
        for key, usd in {
            "kvm": 12,
            "route53-hosted-zone": 0.5,
            "route53-health-check-non-aws": 0.75,
            "route53-health-check-https": 2,
            "route53-health-check-string-matching": 3,
            "route53-health-check-fast-interval": 4,
            "route53-health-check-latency": 5,
            "secretsmanager-secret": 0.4,
            "secretsmanager-replica": 0.3,
            "kms-key": 1,
            "cloudwatch-alarm": 0.1,
            "gcp-budget": 0.01,
            "gcp-forwarding-rules-first-5": 0.025,
            "gcp-forwarding-rule-additional": 0.01,
            "monitoring-alert-condition": 0.1,
            "s3-standard-storage": 0.023,
            "s3-replication-transfer": 0.02,
            "s3-replication-time-control": 0.015,
            "gcs-standard-storage-eu": 0.026,
            "cdn-cache-egress-europe": 0.08,
            "cdn-cache-fill": 0.01,
        }.items()
    }
    | {"aws-budget": {"usd": 0.02, "freePerAccount": 2}},
    free=frozenset({"docker:index/container:Container", "aws:iam/role:Role", BACKEND}),
)
BUCKET = "aws:s3/bucket:Bucket"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
RULES = "gcp:compute/globalForwardingRule:GlobalForwardingRule"


def _rule(rtc: str | None) -> dict[str, Any]:
    return {"destination": {"bucket": "arn:aws:s3:::b"} | ({"replicationTime": {"status": rtc}} if rtc else {})}


def _lines(estimate: Any) -> list[tuple[str, str, str, bool, str]]:
    return [
        (line.kind, f"{line.count.normalize():f}", str(line.monthly_usd), line.fixed, line.detail)
        for line in estimate.lines
    ]


ESTIMATES = [
    pytest.param(
        [
            (HEALTH_CHECK, {"type": "HTTPS_STR_MATCH", "requestInterval": 10, "measureLatency": True}),
            (HEALTH_CHECK, {"type": "HTTP_STR_MATCH", "requestInterval": 30, "measureLatency": False}),
            (HEALTH_CHECK, {"type": "HTTP"}),
        ],
        {},
        [
            ("Route 53 health checks", "3", "2.25", True, ""),
            ("Route 53 health check option: https", "1", "2.00", True, ""),
            ("Route 53 health check option: string-matching", "2", "6.00", True, ""),
            ("Route 53 health check option: fast-interval", "1", "4.00", True, ""),
            ("Route 53 health check option: latency", "1", "5.00", True, ""),
        ],
        id="health_check_options_each_priced_once_per_check_that_has_it",
    ),
    pytest.param(
        [
            (
                "aws:secretsmanager/secret:Secret",
                {"replicas": [{"region": "eu-west-1"}, {"region": "us-east-1"}, {"region": "eu-central-1"}]},
            ),
            ("aws:secretsmanager/secret:Secret", {}),
            ("aws:kms/key:Key", {}),
            ("aws:cloudwatch/metricAlarm:MetricAlarm", {}),
            ("aws:route53/zone:Zone", {}),
        ],
        {},
        [
            ("Route 53 hosted zones", "1", "0.50", True, ""),
            ("Secrets Manager secrets", "2", "0.80", True, ""),
            ("Secrets Manager replicas", "3", "0.90", True, ""),
            ("KMS keys", "1", "1.00", True, ""),
            ("CloudWatch alarms", "1", "0.10", True, ""),
        ],
        id="secrets_priced_with_each_replica",
    ),
    pytest.param(
        [("aws:budgets/budget:Budget", {})] * 2 + [("gcp:billing/budget:Budget", {})],
        {},
        [
            ("AWS budgets", "2", "0.00", True, "first 2 of the account free"),
            ("GCP budgets", "1", "0.01", True, ""),
        ],
        id="aws_budgets_within_the_free_ones",
    ),
    pytest.param(
        [("aws:budgets/budget:Budget", {})] * 3,
        {},
        [("AWS budgets", "3", "0.61", True, "first 2 of the account free")],  # 0.02 a day x 30.42 days
        id="aws_budget_beyond_the_free_ones_billed_by_the_day",
    ),
    pytest.param(
        [(RULES, {})] * 5,
        {},
        [("GCP global forwarding rules", "5", "18.25", True, "first 5 billed together")],
        id="five_forwarding_rules_billed_as_one_block",
    ),
    pytest.param(
        [(RULES, {})] * 6,
        {},
        [("GCP global forwarding rules", "6", "25.55", True, "first 5 billed together")],
        id="the_sixth_forwarding_rule_billed_on_its_own",
    ),
    pytest.param(
        [
            ("gcp:monitoring/alertPolicy:AlertPolicy", {"conditions": [{}, {}, {}]}),
            ("gcp:monitoring/alertPolicy:AlertPolicy", {}),
        ],
        {},
        [("Cloud Monitoring alert conditions", "4", "0.40", True, "")],
        id="alert_policy_billed_per_condition_and_at_least_one",
    ),
    pytest.param(
        [
            (BUCKET, {"bucket": "a"}),
            (BUCKET, {"bucket": "b"}),
            (BUCKET, {}),
            (REPLICATION, {"bucket": "a", "rules": ["not-a-rule", _rule("Enabled"), {}]}),
            (REPLICATION, {"bucket": "b", "rules": [_rule("Disabled")]}),
        ],
        {"s3GbStored": {"a": 100, "*": 10}, "s3GbReplicatedPerMonth": {"a": 10, "*": 0.25}},
        [
            ("S3 Standard storage", "120", "2.76", False, ""),
            # a's two rules carry 10 GB each, b's one rule 0.25 GB: 20.25 GB x 0.02 = 0.405, half a cent up
            ("S3 replication transfer", "20.25", "0.41", False, ""),
            ("S3 Replication Time Control", "10", "0.15", False, ""),
        ],
        id="s3_usage_per_bucket_name_with_a_default",
    ),
    pytest.param(
        [(BUCKET, {"bucket": "a"})], {"s3GbReplicatedPerMonth": {"a": 5}}, [], id="no_stored_gb_assumed_nothing_billed"
    ),
    pytest.param(
        [
            ("gcp:storage/bucket:Bucket", {"name": "cdn"}),
            (BACKEND, {"enableCdn": True}),
            (BACKEND, {"enableCdn": False}),
        ],
        {"gcsGbStored": {"cdn": 20}, "cdnGbServed": 200, "cdnCacheHitRatio": 0.9},
        [
            ("GCS Standard storage", "20", "0.52", False, ""),
            ("Cloud CDN cache egress", "200", "16.00", False, ""),
            ("Cloud CDN cache fill", "20", "0.20", False, ""),
        ],
        id="cdn_egress_and_the_fill_of_its_misses",
    ),
    pytest.param(
        [("gcp:storage/bucket:Bucket", {"name": "cdn"}), ("gcp:storage/bucket:Bucket", {"name": "logs"})],
        {"gcsGbStored": {"cdn": 20, "logs": 30}},
        [("GCS Standard storage", "50", "1.30", False, "")],
        id="gcs_storage_of_every_bucket",
    ),
    pytest.param(
        [(BACKEND, {"enableCdn": UNKNOWN_PROP})],
        {"cdnGbServed": 100},
        [("Cloud CDN cache egress", "100", "8.00", False, "")],
        id="cdn_unknown_at_preview_counts_and_every_request_a_hit_by_default",
    ),
    pytest.param(
        [(BACKEND, {"enableCdn": False})], {"cdnGbServed": 100}, [], id="backend_without_cdn_serves_nothing_billed"
    ),
    pytest.param([(BACKEND, {"enableCdn": True})], {}, [], id="cdn_serving_nothing_assumed_bills_nothing"),
    pytest.param(
        [(BACKEND, {"enableCdn": True})],
        {"cdnGbServed": 100, "cdnCacheHitRatio": 0},
        [("Cloud CDN cache egress", "100", "8.00", False, ""), ("Cloud CDN cache fill", "100", "1.00", False, "")],
        id="cdn_that_caches_nothing_fills_every_request",
    ),
    pytest.param(
        [
            ("pulumi:providers:docker", {"host": KVM}),
            ("pulumi:providers:docker", {"host": "ssh://deploy@203.0.113.11"}),
            ("pulumi:providers:docker", {"host": ""}),
            ("pulumi:providers:docker", {}),
        ],
        {},
        [("Docker hosts (kvm)", "2", "24.00", True, "")],
        id="hosts_priced_by_their_key",
    ),
]


# The unit each kind is counted in, as the policy's message prints it ("3 secret = 1.20 USD").
UNITS = {
    "Docker hosts": "host",
    "Route 53 hosted zones": "zone",
    "Route 53 health checks": "check",
    "Route 53 health check option": "check",
    "Secrets Manager secrets": "secret",
    "Secrets Manager replicas": "replica",
    "KMS keys": "key",
    "CloudWatch alarms": "alarm",
    "AWS budgets": "budget",
    "GCP budgets": "budget",
    "GCP global forwarding rules": "rule",
    "Cloud Monitoring alert conditions": "condition",
    "S3 Standard storage": "GB",
    "S3 replication transfer": "GB",
    "S3 Replication Time Control": "GB",
    "GCS Standard storage": "GB",
    "Cloud CDN cache egress": "GiB",
    "Cloud CDN cache fill": "GiB",
}


def _unit(kind: str) -> str:
    return UNITS[kind.partition(" (")[0].partition(":")[0]]


@pytest.mark.parametrize(("resources", "usage", "expected"), ESTIMATES)
def test_estimate_lines(
    resources: list[tuple[str, dict[str, Any]]], usage: dict[str, Any], expected: list[tuple[str, ...]]
) -> None:
    hosts = {KVM: "kvm", "ssh://deploy@203.0.113.11": "kvm"}
    estimate = estimate_monthly_cost(resources, TABLE, usage, hosts)
    assert _lines(estimate) == expected
    assert [line.unit for line in estimate.lines] == [_unit(line.kind) for line in estimate.lines]
    assert estimate.unpriced == ()
    assert estimate.total == sum((Decimal(line[2]) for line in expected), Decimal(0))
    assert estimate.fixed == sum((Decimal(line[2]) for line in expected if line[3]), Decimal(0))
    assert estimate.usage == estimate.total - estimate.fixed


def test_unpriced_kinds_and_hosts_are_listed_once_each_and_free_kinds_not_at_all() -> None:
    estimate = estimate_monthly_cost(
        [
            ("aws:ec2/instance:Instance", {}),
            ("aws:ec2/instance:Instance", {}),
            ("aws:iam/role:Role", {}),
            ("docker:index/container:Container", {}),
            ("pulumi:providers:docker", {"host": "ssh://deploy@192.0.2.9"}),
            ("pulumi:providers:docker", {"host": "ssh://deploy@192.0.2.8"}),
            ("pulumi:providers:docker", {"host": "ssh://deploy@192.0.2.7"}),
            ("pulumi:providers:docker", {"host": UNKNOWN_PROP}),
        ],
        TABLE,
        {},
        {"ssh://deploy@192.0.2.8": "", "ssh://deploy@192.0.2.7": "kvm"},
    )
    assert _lines(estimate) == [("Docker hosts (kvm)", "1", "12.00", True, "")]
    assert estimate.unpriced == (
        "aws:ec2/instance:Instance",
        "docker host ssh://deploy@192.0.2.8, ssh://deploy@192.0.2.9 (not in cost-budget.hosts)",
    )


def test_a_price_the_table_lacks_is_a_config_error() -> None:
    table = PriceTable(prices={"aws-budget": {"usd": 0.02}}, free=frozenset())
    with pytest.raises(PolicyConfigError) as caught:
        estimate_monthly_cost([("aws:kms/key:Key", {})], table, {}, {})
    assert str(caught.value) == "price table: no price 'kms-key'"


def test_budgets_billed_from_the_first_without_a_free_allowance() -> None:
    table = PriceTable(prices={"aws-budget": {"usd": 0.1}}, free=frozenset())
    estimate = estimate_monthly_cost([("aws:budgets/budget:Budget", {})], table, {}, {})
    assert _lines(estimate) == [("AWS budgets", "1", "3.04", True, "first 0 of the account free")]


def test_estimate_as_text() -> None:
    estimate = Estimate(
        lines=(
            Line("AWS budgets", Decimal(3), "budget", Decimal("0.61"), True, "first 2 of the account free"),
            Line("S3 replication transfer", Decimal("20.250"), "GB", Decimal("0.41"), False),
        ),
        unpriced=("aws:ec2/instance:Instance", "docker host ssh://deploy@192.0.2.9 (not in cost-budget.hosts)"),
    )
    body = [
        "AWS budgets: 3 budget = 0.61 USD [first 2 of the account free]",
        "S3 replication transfer: 20.25 GB = 0.41 USD (usage)",
    ]
    unpriced = [
        "unpriced: aws:ec2/instance:Instance",
        "unpriced: docker host ssh://deploy@192.0.2.9 (not in cost-budget.hosts)",
    ]
    assert render_lines(estimate, None) == [
        *body,
        "total 1.02 USD a month (fixed 0.61, usage 0.41)",
        *unpriced,
    ]
    assert render_lines(estimate, Decimal(1)) == [
        *body,
        "total 1.02 USD a month (fixed 0.61, usage 0.41) against a budget of 1.00 USD",
        *unpriced,
    ]


def _prices_file(tmp_path: Path, prices: dict[str, Any], **document: Any) -> Path:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"prices": prices, **document}))
    return path


GOOD = {"usd": 0, "per": "month", "source": "https://example.com/pricing", "date": "2026-11-23", "confirmed": True}


def test_a_price_table_is_read_with_its_defaults(tmp_path: Path) -> None:
    table = load_prices(_prices_file(tmp_path, {"free-tier": GOOD}))
    assert table == PriceTable(prices={"free-tier": GOOD}, free=frozenset(), hours_per_month=Decimal(730))
    table = load_prices(_prices_file(tmp_path, {"free-tier": GOOD}, hoursPerMonth=720, free={"aws:iam/role:Role": ""}))
    assert (table.hours_per_month, table.free) == (Decimal(720), frozenset({"aws:iam/role:Role"}))


@pytest.mark.parametrize(
    ("entry", "problems"),
    [
        pytest.param({**GOOD, "usd": -0.01}, ["p: usd must be a number >= 0"], id="negative_price"),
        pytest.param({**GOOD, "usd": "cheap"}, ["p: usd must be a number >= 0"], id="price_not_a_number"),
        pytest.param({**GOOD, "per": ""}, ["p: per is required"], id="unit_empty"),
        pytest.param({**GOOD, "source": 5}, ["p: source is required"], id="source_not_text"),
        pytest.param(
            {**GOOD, "date": "2026-11-3"},
            ["p: date must be YYYY-MM-DD (when the price was written down)"],
            id="date_not_zero_padded",
        ),
        pytest.param(
            {**GOOD, "date": "2026-11-23 (list price)"},
            ["p: date must be YYYY-MM-DD (when the price was written down)"],
            id="date_followed_by_text",
        ),
        pytest.param(
            12,
            [
                "p: usd must be a number >= 0",
                "p: per is required",
                "p: source is required",
                "p: date must be YYYY-MM-DD (when the price was written down)",
                "p: confirmed must be true or false (checked against its source)",
            ],
            id="entry_not_an_object",
        ),
    ],
)
def test_a_price_entry_is_checked(tmp_path: Path, entry: Any, problems: list[str]) -> None:
    with pytest.raises(PolicyConfigError) as caught:
        load_prices(_prices_file(tmp_path, {"p": entry, "fine": GOOD}))
    assert str(caught.value) == "price table prices.json: " + "; ".join(problems)
