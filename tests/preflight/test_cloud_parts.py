"""prod's preview as a whole: the CDN chain and its redirect, both budgets at the five
thresholds, the alert policies, all on the explicit GCP provider configured from the stack."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from preflight.runner import PROJECT_DIR, PlanResult, run_stack


@pytest.fixture(scope="module")
def prod() -> PlanResult:
    return run_stack("prod")


def test_prod_registers_the_cdn_chain_and_the_redirect(prod: PlanResult) -> None:
    by_name = {r.name: r for r in prod.resources}
    chain = ["cdn-bucket", "cdn-backend", "cdn-url-map", "cdn-https-proxy", "cdn-https-ipv4"]
    redirect = ["cdn-redirect-map", "cdn-http-proxy", "cdn-http-ipv4"]
    # Each link depends on the one before it, so the engine creates them in order.
    for links in (chain, redirect):
        for before, after in itertools.pairwise(links):
            assert by_name[before].urn in by_name[after].dependencies, (before, after)
    assert by_name["cdn-https-proxy"].urn in by_name["cdn-https-ipv6"].dependencies
    assert by_name["cdn-http-proxy"].urn in by_name["cdn-http-ipv6"].dependencies
    # The CDN's records go in the zone prod's failover owns.
    assert by_name["cdn-record-a"].inputs["zoneId"] == prod.outputs["dnsZoneId"]
    assert prod.outputs["cdn"]["domain"] == "cdn.ziggie.example"


def test_gcp_providers_are_configured_from_the_stack_and_wait_for_the_apis(prod: PlanResult) -> None:
    providers = {r.name: r for r in prod.resources if r.type == "pulumi:providers:gcp"}
    assert set(providers) == {"gcp", "gcp-apis"}
    for provider in providers.values():
        assert (provider.inputs["project"], provider.inputs["region"]) == ("ziggie-prod-placeholder", "europe-north1")
    services = [r for r in prod.resources if r.type == "gcp:projects/service:Service"]
    assert sorted(r.inputs["service"] for r in services) == [
        "billingbudgets.googleapis.com",
        "cloudresourcemanager.googleapis.com",
        "compute.googleapis.com",
        "monitoring.googleapis.com",
        "storage.googleapis.com",
    ]
    assert all(r.inputs["disableOnDestroy"] is False for r in services)
    assert all(r.provider_urn == providers["gcp-apis"].urn for r in services)
    # The provider every other GCP resource uses waits for the APIs: a fresh project works on the first `up`.
    assert set(providers["gcp"].dependencies) == {r.urn for r in services}
    others = [r for r in prod.resources if r.type.startswith("gcp:") and r not in services]
    assert others and all(r.provider_urn == providers["gcp"].urn for r in others)


def test_prod_has_both_budgets_at_five_thresholds_and_two_alert_policies(prod: PlanResult) -> None:
    (aws_budget,) = [r for r in prod.resources if r.type == "aws:budgets/budget:Budget"]
    (gcp_budget,) = [r for r in prod.resources if r.type == "gcp:billing/budget:Budget"]
    assert len(aws_budget.inputs["notifications"]) == len(gcp_budget.inputs["thresholdRules"]) == 5
    assert aws_budget.inputs["limitAmount"] == "30" and gcp_budget.inputs["amount"]["specifiedAmount"]["units"] == "40"
    assert aws_budget.inputs["notifications"][0]["subscriberEmailAddresses"] == ["ops@ziggie.example"]
    alerts = sorted(r.name for r in prod.resources if r.type == "gcp:monitoring/alertPolicy:AlertPolicy")
    assert alerts == ["cdn-monitoring-5xx-alert", "cdn-monitoring-uptime-alert"]


def test_cdn_settings_the_api_would_refuse_stop_preflight_before_any_resource(tmp_path: Path) -> None:
    text = (PROJECT_DIR / "Pulumi.prod.yaml").read_text()
    old = "      ipv6: true\n"
    assert old in text, "the prod stack file no longer sets gcp.cdn.ipv6 this way"
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(text.replace(old, old + "      cache:\n        cacheMode: FORCE_CACHE_ALL\n", 1))
    result = subprocess.run(
        [sys.executable, "-m", "preflight", "--stack", "prod", "--config-file", str(path), "--no-policy"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "preflight: Pulumi.prod.yaml: 1 problem in the stack configuration:\n"
        "  Pulumi.prod.yaml: ziggie-infra:gcp.cdn.cache.maxTtl: applies to cacheMode CACHE_ALL_STATIC only, "
        "not FORCE_CACHE_ALL\n"
    )
