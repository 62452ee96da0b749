"""preflight end to end: every stack previews clean under mocks, deterministically, and dr
depends on prod's outputs only."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from preflight_cli import run_preflight
from pulumi.output import Unknown

from config.catalog import DEFAULT_CATALOG
from config.models import MIB
from preflight.records import SECRET_SIG_KEY, SECRET_SIG_VALUE, UNKNOWN_VALUE, RecordedResource, is_secret
from preflight.report import Report, allocations, render_json, render_text
from preflight.runner import PROJECT_DIR, PlanResult, PreflightError, _with_stack_outputs, run_stack
from preflight.stackfile import placeholder

CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/remoteImage:RemoteImage"


@pytest.fixture(scope="module")
def prod() -> PlanResult:
    return run_stack("prod")


def containers(plan: PlanResult) -> dict[str, dict[str, Any]]:
    return {r.inputs["name"]: r.inputs for r in plan.resources if r.type == CONTAINER}


PER_HOST = ("node-exporter", "cadvisor", "promtail")


def test_prod_runs_every_catalog_service_on_two_hosts(prod: PlanResult) -> None:
    found = containers(prod)
    # The per-host agents run once on each host, named per host; every other service once.
    single = sorted(set(DEFAULT_CATALOG) - set(PER_HOST))
    assert sorted(found) == sorted([*single, *(f"{s}-{h}" for s in PER_HOST for h in ("vps1", "vps2"))])
    providers = {r.inputs["host"] for r in prod.resources if r.type == "pulumi:providers:docker"}
    assert providers == {"ssh://deploy@203.0.113.10", "ssh://deploy@203.0.113.11"}


def test_prod_container_limits_equal_config(prod: PlanResult) -> None:
    found = containers(prod)
    for name, service in prod.config.enabled_services().items():
        inputs = found[prod.config.container_name(name, prod.config.hosts_of(name)[0])]
        assert inputs["memory"] * MIB == service.memory, name
        assert inputs.get("memoryReservation", 0) * MIB == (service.memory_reservation or 0), name
        assert Decimal(inputs["cpus"]) == service.cpus, name
        # No swap unless the service says so: memory plus swap is the memory limit.
        assert inputs["memorySwap"] * MIB == (service.memory_swap or service.memory), name
        assert inputs.get("cpuShares") == service.cpu_shares, name
        assert ("healthcheck" in inputs) == (service.healthcheck is not None), name


def test_prod_hosts_fit_their_pools(prod: PlanResult) -> None:
    by_host = {h.host: h for h in allocations(prod)}
    assert by_host["vps1"].memory == 12 * 1024 * MIB
    # vps2 also holds open-webui (256M) beside the ollama it fronts, and its own copies of
    # node-exporter, cadvisor and promtail.
    assert by_host["vps2"].memory == (int(7.75 * 1024) + 128 + 256 + 128) * MIB
    for host in by_host.values():
        assert host.memory <= host.pool_memory, host.host
        assert host.memory_reservation <= host.pool_memory, host.host
        assert host.cpu_reservation <= host.pool_cpus, host.host


@pytest.mark.parametrize("stack", ["dev", "prod", "dr"])
def test_secrets_never_plain(stack: str) -> None:
    plan = run_stack(stack)
    rendered = json.dumps(render_json(Report(plan, None))) + render_text(Report(plan, None))
    for key in plan.config.secret_keys():
        assert placeholder(f"ziggie-infra:{key}") not in rendered, f"{stack}: {key} printed"
    for r in plan.resources:
        for entry in r.inputs.get("envs", []):
            if isinstance(entry, str):
                assert "PASSWORD" not in entry and "TOKEN" not in entry, f"{r.urn}: {entry}"
            else:
                assert is_secret(entry), r.urn


def test_two_runs_give_the_same_plan() -> None:
    first = render_json(Report(run_stack("prod"), None))
    second = render_json(Report(run_stack("prod"), None))
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


def test_the_root_stack_record_carries_the_exports(prod: PlanResult) -> None:
    """What AnalyzeStack gets as the stack's properties: every export of the program."""
    (root,) = [r for r in prod.resources if r.type == "pulumi:pulumi:Stack"]
    assert root.outputs == prod.outputs
    assert root.outputs["environment"] == "prod"


def test_a_secret_export_stays_wrapped_and_an_unknown_one_is_the_unknown_marker() -> None:
    root = RecordedResource(urn="urn:pulumi:s::p::pulumi:pulumi:Stack::p-s", type="pulumi:pulumi:Stack", name="p-s")
    other = RecordedResource(urn="urn:pulumi:s::p::t:m:R::r", type="t:m:R", name="r")
    exports = {"plain": "a", "token": "t0k3n", "later": {"ids": [Unknown()]}}  # type: ignore[no-untyped-call]
    records = _with_stack_outputs([root, other], exports, {"token"})
    assert records[1] is other
    assert records[0].outputs == {
        "plain": "a",
        "token": {SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": "t0k3n"},
        "later": {"ids": [UNKNOWN_VALUE]},
    }


def test_prod_never_references_another_stack(prod: PlanResult) -> None:
    assert not [r for r in prod.resources if r.type == "pulumi:pulumi:StackReference"]


def test_dr_reads_prods_outputs_through_a_stack_reference(prod: PlanResult) -> None:
    dr = run_stack("dr")
    refs = [r for r in dr.resources if r.type == "pulumi:pulumi:StackReference"]
    assert [r.id for r in refs] == ["organization/ziggie-infra/prod"]
    assert dr.outputs["images"] == {k: v for k, v in prod.outputs["images"].items() if k in dr.outputs["images"]}
    assert sorted(containers(dr)) == [
        "alertmanager",
        "cadvisor-dr1",
        "certbot",
        "mcp-gateway",
        "nginx",
        "node-exporter-dr1",
        "postgres",
        "postgres-exporter",
        "prometheus",
        "redis",
        "redis-exporter",
        "ziggie-api",
    ]


def test_dr_runs_the_images_prod_exports() -> None:
    published = {name: f"registry.example.com/{name}:9.9.9" for name in DEFAULT_CATALOG}
    prod_outputs = run_stack("prod").outputs
    dr = run_stack("dr", stack_outputs=lambda name: {**prod_outputs, "images": published})
    images = {
        r.name.removeprefix("dr1-").removesuffix("-image"): r.inputs["name"] for r in dr.resources if r.type == IMAGE
    }
    assert images == {n: published[n] for n in dr.config.enabled_services()}


@pytest.mark.parametrize(
    ("output", "value", "expected"),
    [
        ("images", None, "exports no output images"),
        ("images", {"postgres": "postgres:16"}, "exports no images entry for"),
        ("replicaSecretArns", None, "exports no output replicaSecretArns"),
        (
            "replicaSecretArns",
            {
                "postgresPassword": "arn:aws:secretsmanager:eu-west-1:1:secret:x",
                "smtpPassword": "arn:aws:secretsmanager:eu-west-1:1:secret:y",
            },
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


def test_cli_json_lists_resources_and_outputs() -> None:
    result = run_preflight("--stack", "prod", "--json", "--no-policy")
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
    assert len([r for r in document["resources"] if r["type"] == CONTAINER]) == len(DEFAULT_CATALOG) + len(PER_HOST)
    assert document["outputs"]["environment"] == "prod"


def test_cli_bad_config_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "Pulumi.dev.yaml"
    bad.write_text((PROJECT_DIR / "Pulumi.dev.yaml").read_text().replace("memory: 3G", "memory: -3G"))
    result = run_preflight("--stack", "dev", "--config-file", str(bad), "--no-policy")
    assert result.returncode == 2
    assert "Pulumi.dev.yaml: ziggie-infra:services.ollama.memory: invalid size '-3G'" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_cli_text_report_shows_host_tables() -> None:
    result = run_preflight("--stack", "prod", "--no-policy")
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
    assert regions["us-east-1"] == {"dns-health-alarm", "alarms-topic", "alarms-email-ops-ziggie-example"}
    buckets = {r.inputs["bucket"]: r.inputs["region"] for r in prod.resources if r.type == "aws:s3/bucket:Bucket"}
    assert buckets == {
        "ziggie-prod-assets": "eu-north-1",
        "ziggie-prod-assets-eu-west-1": "eu-west-1",
        "ziggie-prod-backups": "eu-north-1",
        "ziggie-prod-backups-eu-west-1": "eu-west-1",
    }
    secrets = [r for r in prod.resources if r.type == "aws:secretsmanager/secret:Secret"]
    assert len(secrets) == 6  # the five service secrets and the SMTP password dr's Alertmanager reads
    assert all(r.inputs["replicas"] == [{"region": "eu-west-1"}] and r.protect for r in secrets)


def test_dr_adds_only_the_secondary_side(prod: PlanResult) -> None:
    dr = run_stack("dr")
    aws_types = sorted(r.type for r in dr.resources if r.type.startswith("aws:"))
    assert aws_types == [
        "aws:budgets/budget:Budget",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        # certbot's own DNS-01 identity (IAM is global).
        "aws:iam/accessKey:AccessKey",
        "aws:iam/user:User",
        "aws:iam/userPolicy:UserPolicy",
        "aws:route53/healthCheck:HealthCheck",
        "aws:route53/record:Record",
        "aws:route53/record:Record",
        "aws:route53/record:Record",
        "aws:sns/topic:Topic",
        "aws:sns/topicSubscription:TopicSubscription",
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


def _by_name(plan: PlanResult) -> dict[str, Any]:
    return {r.name: r for r in plan.resources}


@pytest.mark.parametrize(
    ("stack", "host", "ip"),
    [("prod", "vps1.ziggie.example", "203.0.113.10"), ("dr", "dr1.ziggie.example", "198.51.100.20")],
    ids=["prod_primary_on_vps1", "dr_secondary_on_dr1"],
)
def test_failover_answers_and_probes_the_hosts_address(stack: str, host: str, ip: str) -> None:
    plan = run_stack(stack)
    found = _by_name(plan)
    record, check = found["dns-record"].inputs, found["dns-health"].inputs
    assert (record["type"], record["records"]) == ("CNAME", [host])
    short = host.split(".")[0]
    address = found[f"dns-{short}-a"].inputs
    assert (address["name"], address["type"], address["records"]) == (host, "A", [ip])
    assert address["zoneId"] == record["zoneId"]
    assert {k: check[k] for k in ("type", "ipAddress", "fqdn", "enableSni", "resourcePath", "port")} == {
        "type": "HTTPS",
        "ipAddress": ip,
        "fqdn": "app.ziggie.example",
        "enableSni": True,
        "resourcePath": "/health",
        "port": 443,
    }


@pytest.mark.parametrize("stack", ["prod", "dr"])
def test_health_check_alarm_tells_the_subscribers(stack: str) -> None:
    plan = run_stack(stack)
    found = _by_name(plan)
    topic = found["alarms-topic"]
    assert topic.inputs["region"] == "us-east-1"
    arn = topic.outputs["arn"]
    assert arn == plan.outputs["alarmTopicArn"] == f"arn:aws:sns:us-east-1:123456789012:ziggie-{stack}-alarms"
    alarm = found["dns-health-alarm"].inputs
    assert alarm["alarmActions"] == alarm["okActions"] == [arn]
    subscriptions = [r.inputs for r in plan.resources if r.type == "aws:sns/topicSubscription:TopicSubscription"]
    assert [(s["topic"], s["protocol"], s["endpoint"]) for s in subscriptions] == [
        (arn, "email", e) for e in plan.config.alerts.emails
    ]


def test_prod_exports_the_zones_name_servers_for_delegation(prod: PlanResult) -> None:
    zone = _by_name(prod)["dns-zone"]
    assert prod.outputs["dnsNameServers"] == zone.outputs["nameServers"]
    assert len(prod.outputs["dnsNameServers"]) == 4
    assert "dnsNameServers" not in run_stack("dr").outputs


def test_prod_bootstraps_each_host_before_any_of_its_volumes_and_containers(prod: PlanResult) -> None:
    by_name = {r.name: r for r in prod.resources}
    for host in ("vps1", "vps2"):
        steps = {r.urn for r in prod.resources if r.name.startswith(f"{host}-bootstrap-") and r.custom}
        assert len(steps) == (4 if host == "vps1" else 3), host
        on_host = [
            r
            for r in prod.resources
            if r.name.startswith(f"{host}-") and r.type in (CONTAINER, "docker:index/volume:Volume")
        ]
        assert on_host, host
        for r in on_host:
            assert steps <= set(r.dependencies), f"{r.urn} does not wait for the bootstrap of {host}"
    # The worker joins with the manager's token, so its whole bootstrap follows the manager's.
    assert by_name["vps1-bootstrap-swarm-join-token"].urn in by_name["vps2-bootstrap-swarm-join"].dependencies


def test_prod_puts_every_container_on_the_overlay_that_only_the_manager_creates(prod: PlanResult) -> None:
    networks = [r for r in prod.resources if r.type == "docker:index/network:Network"]
    assert [(r.name, r.inputs["driver"], r.ignore_changes) for r in networks] == [
        ("vps1-network", "overlay", ("options",))
    ]
    for name, inputs in containers(prod).items():
        assert [n["name"] for n in inputs["networksAdvanced"]] == ["ziggie-network"], name
    # A worker container waits for the network its manager creates.
    assert networks[0].urn in next(r for r in prod.resources if r.name == "vps2-ollama").dependencies


def test_per_host_agents_run_and_are_counted_on_both_prod_hosts(prod: PlanResult) -> None:
    by_host = {h.host: {c.service for c in h.containers} for h in allocations(prod)}
    for host in ("vps1", "vps2"):
        assert {f"{agent}-{host}" for agent in PER_HOST} <= by_host[host], host
        assert not {f"{agent}-{other}" for agent in PER_HOST for other in by_host if other != host} & by_host[host]


def test_preflight_shows_bootstrap_commands_and_networks_but_never_the_key(prod: PlanResult) -> None:
    document = render_json(Report(prod, None))
    hosts = {h["host"]: h for h in document["hosts"]}
    assert hosts["vps1"]["swarm"] == "manager" and hosts["vps2"]["swarm"] == "worker"
    assert [step["name"] for step in hosts["vps2"]["bootstrap"]] == [
        "vps2-bootstrap-checks",
        "vps2-bootstrap-directories",
        "vps2-bootstrap-swarm-join",
    ]
    assert hosts["vps1"]["networks"] == [{"name": "ziggie-network", "driver": "overlay"}]
    assert hosts["vps2"]["containerNetworks"]["ollama"] == ["ziggie-network"]
    text = render_text(Report(prod, None)) + json.dumps(document)
    assert placeholder("ziggie-infra:deploySshKey") not in text
    assert "vps2-bootstrap-swarm-join:" in render_text(Report(prod, None))


def test_dev_and_dr_stand_alone(prod: PlanResult) -> None:
    for stack in ("dev", "dr"):
        plan = run_stack(stack)
        networks = [r.inputs["driver"] for r in plan.resources if r.type == "docker:index/network:Network"]
        assert networks == ["bridge"], stack
        commands = [r.name for r in plan.resources if r.type == "command:remote:Command"]
        assert not [c for c in commands if "swarm" in c], stack
        if stack == "dev":
            assert commands == [], "the local daemon gets no bootstrap"
