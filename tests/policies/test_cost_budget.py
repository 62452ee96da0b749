"""cost-budget: the estimator prices a plan from the pack's price table, and the policy refuses a
plan whose estimate, or whose fixed part, does not fit the stack's budget."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from policy_fixtures import aws, container, on_host, run_direct
from pulumi_policy import PolicyCustomTimeouts, PolicyProviderResource, PolicyResource, PolicyResourceOptions
from ziggie_policies import cost_budget
from ziggie_policies._cost import estimate_monthly_cost, load_prices
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
