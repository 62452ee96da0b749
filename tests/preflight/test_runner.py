"""preflight end to end: every stack previews clean under mocks, deterministically, and dr
depends on prod's outputs only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from config.catalog import DEFAULT_CATALOG
from config.models import MIB
from preflight.records import is_secret
from preflight.report import allocations, render_json, render_text
from preflight.runner import PROJECT_DIR, PlanResult, PreflightError, run_stack
from preflight.stackfile import placeholder

CONTAINER = "docker:index/container:Container"


@pytest.fixture(scope="module")
def prod() -> PlanResult:
    return run_stack("prod")


def containers(plan: PlanResult) -> dict[str, dict[str, Any]]:
    return {r.inputs["name"]: r.inputs for r in plan.resources if r.type == CONTAINER}


def test_prod_runs_all_21_services_on_two_hosts(prod: PlanResult) -> None:
    found = containers(prod)
    assert sorted(found) == sorted(DEFAULT_CATALOG)
    providers = {r.inputs["host"] for r in prod.resources if r.type == "pulumi:providers:docker"}
    assert providers == {"ssh://deploy@203.0.113.10", "ssh://deploy@203.0.113.11"}


def test_prod_container_limits_equal_config(prod: PlanResult) -> None:
    found = containers(prod)
    for name, service in prod.config.enabled_services().items():
        inputs = found[name]
        assert inputs["memory"] * MIB == service.memory, name
        assert inputs.get("memoryReservation", 0) * MIB == (service.memory_reservation or 0), name
        assert inputs["cpus"] == str(service.cpus), name
        assert inputs.get("cpuShares") == service.cpu_shares, name
        assert ("healthcheck" in inputs) == (service.healthcheck is not None), name


def test_prod_hosts_fit_their_pools(prod: PlanResult) -> None:
    by_host = {h.host: h for h in allocations(prod)}
    assert by_host["vps1"].memory == 12 * 1024 * MIB
    assert by_host["vps2"].memory == int(7.5 * 1024) * MIB
    for host in by_host.values():
        assert host.memory <= host.pool_memory, host.host
        assert host.memory_reservation <= host.pool_memory, host.host
        assert host.cpu_reservation <= host.pool_cpus, host.host


@pytest.mark.parametrize("stack", ["dev", "prod", "dr"])
def test_secrets_never_plain(stack: str) -> None:
    plan = run_stack(stack)
    rendered = json.dumps(render_json(plan)) + render_text(plan)
    for key in plan.config.secret_keys():
        assert placeholder(f"ziggie-infra:{key}") not in rendered, f"{stack}: {key} printed"
    for r in plan.resources:
        for entry in r.inputs.get("envs", []):
            if isinstance(entry, str):
                assert "PASSWORD" not in entry and "TOKEN" not in entry, f"{r.urn}: {entry}"
            else:
                assert is_secret(entry), r.urn


def test_two_runs_give_the_same_plan() -> None:
    first = render_json(run_stack("prod"))
    second = render_json(run_stack("prod"))
    assert first == second


def test_dev_needs_no_cloud_and_runs_locally() -> None:
    plan = run_stack("dev")
    assert {r.inputs["host"] for r in plan.resources if r.type.startswith("pulumi:providers:")} == {
        "unix:///var/run/docker.sock"
    }
    assert not [r for r in plan.resources if r.type.startswith(("aws:", "gcp:"))]
    host = allocations(plan)[0]
    assert host.memory <= 8 * 1024 * MIB
    assert host.cpus <= 4


def test_prod_never_references_another_stack(prod: PlanResult) -> None:
    assert not [r for r in prod.resources if r.type == "pulumi:pulumi:StackReference"]


def test_dr_reads_prods_outputs_through_a_stack_reference(prod: PlanResult) -> None:
    dr = run_stack("dr")
    refs = [r for r in dr.resources if r.type == "pulumi:pulumi:StackReference"]
    assert [r.id for r in refs] == ["organization/ziggie-infra/prod"]
    assert dr.outputs["images"] == {k: v for k, v in prod.outputs["images"].items() if k in dr.outputs["images"]}
    assert sorted(containers(dr)) == ["mcp-gateway", "nginx", "postgres", "redis", "ziggie-api"]


def test_dr_runs_the_images_prod_exports() -> None:
    published = {name: f"registry.example.com/{name}:9.9.9" for name in DEFAULT_CATALOG}
    prod_outputs = run_stack("prod").outputs
    dr = run_stack("dr", stack_outputs=lambda name: {**prod_outputs, "images": published})
    assert {n: c["image"] for n, c in containers(dr).items()} == {n: published[n] for n in containers(dr)}


@pytest.mark.parametrize(
    ("output", "value", "expected"),
    [
        ("images", None, "exports no output images"),
        ("images", {"postgres": "postgres:16"}, "exports no images entry for"),
        ("replicaSecretArns", None, "exports no output replicaSecretArns"),
        (
            "replicaSecretArns",
            {"postgresPassword": "arn:aws:secretsmanager:eu-west-1:1:secret:x"},
            "entry for redisPassword",
        ),
        ("dnsZoneId", None, "exports no output dnsZoneId"),
    ],
    ids=[
        "renamed_images_output_fails",
        "missing_service_image_fails",
        "renamed_secret_arns_output_fails",
        "missing_replica_secret_fails",
        "missing_zone_id_fails",
    ],
)
def test_dr_fails_when_prod_does_not_export_what_it_reads(
    prod: PlanResult, output: str, value: Any, expected: str
) -> None:
    outputs = {k: v for k, v in prod.outputs.items() if k != output}
    if value is not None:
        outputs[output] = value
    with pytest.raises(PreflightError, match=expected):
        run_stack("dr", stack_outputs=lambda name: outputs)


def test_bad_config_file_fails_before_any_resource(tmp_path: Path) -> None:
    bad = tmp_path / "Pulumi.prod.yaml"
    bad.write_text((PROJECT_DIR / "Pulumi.prod.yaml").read_text().replace("memory: 16G", "memory: 16X", 1))
    with pytest.raises(PreflightError, match=r"Pulumi.prod.yaml: ziggie-infra:hosts.vps1.memory: invalid size '16X'"):
        run_stack("prod", bad)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "preflight", *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_json_lists_resources_and_outputs() -> None:
    result = _cli("--stack", "prod", "--json", "--no-policy")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["stack"] == "prod"
    assert set(document["resources"][1]) == {
        "urn",
        "type",
        "name",
        "parent",
        "provider",
        "dependencies",
        "protect",
        "inputs",
    }
    assert len([r for r in document["resources"] if r["type"] == CONTAINER]) == 21
    assert document["outputs"]["environment"] == "prod"


def test_cli_bad_config_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "Pulumi.dev.yaml"
    bad.write_text((PROJECT_DIR / "Pulumi.dev.yaml").read_text().replace("memory: 3G", "memory: -3G"))
    result = _cli("--stack", "dev", "--config-file", str(bad), "--no-policy")
    assert result.returncode == 2
    assert "Pulumi.dev.yaml: ziggie-infra:services.ollama.memory: invalid size '-3G'" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_cli_text_report_shows_host_tables() -> None:
    result = _cli("--stack", "prod", "--no-policy")
    assert result.returncode == 0, result.stderr
    assert "host vps1 (ssh://deploy@203.0.113.10): pool 14.00 GiB / 3.50 vCPU" in result.stdout
    assert "  total" in result.stdout


@pytest.mark.parametrize("stack", ["dev", "prod", "dr"])
def test_no_engine_warnings_such_as_deprecations(stack: str) -> None:
    plan = run_stack(stack)
    assert plan.warnings == (), f"{stack}: {plan.warnings}"


def test_prod_aws_resources_sit_in_their_regions(prod: PlanResult) -> None:
    regions: dict[str, set[str]] = {}
    for r in prod.resources:
        if not r.type.startswith("aws:"):
            continue
        if r.type.startswith(("aws:iam/", "aws:route53/", "aws:budgets/", "aws:costexplorer/")):
            assert "region" not in r.inputs, f"{r.urn}: IAM, Route 53, Budgets and Cost Explorer are global"
            continue
        regions.setdefault(r.inputs["region"], set()).add(r.name)
    assert set(regions) == {"eu-north-1", "eu-west-1", "us-east-1"}
    assert regions["us-east-1"] == {"dns-health-alarm"}
    buckets = {r.inputs["bucket"]: r.inputs["region"] for r in prod.resources if r.type == "aws:s3/bucket:Bucket"}
    assert buckets == {
        "ziggie-prod-assets": "eu-north-1",
        "ziggie-prod-assets-eu-west-1": "eu-west-1",
        "ziggie-prod-backups": "eu-north-1",
        "ziggie-prod-backups-eu-west-1": "eu-west-1",
    }
    secrets = [r for r in prod.resources if r.type == "aws:secretsmanager/secret:Secret"]
    assert len(secrets) == 5
    assert all(r.inputs["replicas"] == [{"region": "eu-west-1"}] and r.protect for r in secrets)


def test_dr_adds_only_the_secondary_side(prod: PlanResult) -> None:
    dr = run_stack("dr")
    aws_types = sorted(r.type for r in dr.resources if r.type.startswith("aws:"))
    assert aws_types == [
        "aws:budgets/budget:Budget",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:route53/healthCheck:HealthCheck",
        "aws:route53/record:Record",
    ]
    record = next(r for r in dr.resources if r.name == "dns-record").inputs
    primary = next(r for r in prod.resources if r.name == "dns-record").inputs
    assert record["zoneId"] == prod.outputs["dnsZoneId"]
    assert record["failoverRoutingPolicies"] == [{"type": "SECONDARY"}]
    assert primary["failoverRoutingPolicies"] == [{"type": "PRIMARY"}]
    assert (record["name"], record["type"]) == (primary["name"], primary["type"])
    assert record["setIdentifier"] != primary["setIdentifier"]
    assert record["ttl"] == primary["ttl"] == 60


def test_dr_secret_env_comes_from_the_dr_region_replicas(prod: PlanResult) -> None:
    dr = run_stack("dr")
    postgres = next(r for r in dr.resources if r.type == CONTAINER and r.inputs["name"] == "postgres")
    (secret_entry,) = [e for e in postgres.inputs["envs"] if not isinstance(e, str)]
    assert is_secret(secret_entry)
    arn = prod.outputs["replicaSecretArns"]["postgresPassword"]
    assert arn.startswith("arn:aws:secretsmanager:eu-west-1:")
    assert secret_entry["value"] == f"POSTGRES_PASSWORD=preflight-secret-from-{arn.rsplit(':', 1)[-1]}"
