"""ziggie-infra: load the typed stack config, build the components, export the outputs.

Nothing is registered before the whole configuration has validated: a bad stack file ends
the run with one message listing every problem, and no resource is touched.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from components.aws_budget import AwsBudget, AwsBudgetArgs
from components.cdn import CdnArgs, CdnSite
from components.cdn_monitoring import CdnMonitoring, CdnMonitoringArgs
from components.dns_failover import DnsFailover, DnsFailoverArgs
from components.docker_host import DockerHost, DockerHostArgs
from components.gcp_apis import ProjectApis, ProjectApisArgs
from components.gcp_budget import GcpBudget, GcpBudgetArgs
from components.gcp_channels import EmailChannels, EmailChannelsArgs
from components.replicated_bucket import ReplicatedBucket, ReplicatedBucketArgs
from components.replicated_secret import ReplicatedSecret, ReplicatedSecretArgs
from config.loader import PROJECT, ConfigError, load_stack_config
from config.models import Aws, Gcp, StackConfig


def load() -> StackConfig:
    """The stack's validated config; a bad one ends the program without a traceback."""
    stack = pulumi.get_stack()
    # preflight names the file it read; the Pulumi CLI reads Pulumi.<stack>.yaml.
    source = os.environ.get("ZIGGIE_STACK_FILE", f"Pulumi.{stack}.yaml")
    try:
        return load_stack_config(
            pulumi.runtime.get_config_env(),
            pulumi.runtime.get_config_secret_keys_env(),
            source=source,
            stack=stack,
        )
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None


def primary_output(primary: pulumi.StackReference, stack: str, output: str) -> pulumi.Output[Any]:
    """An output the primary exports; a missing one fails the run, naming it."""

    def present(value: Any) -> Any:
        if value is None or value == "":
            raise pulumi.RunError(f"primary stack {stack} exports no output {output}")
        return value

    return primary.get_output(output).apply(present)


def from_primary(primary: pulumi.StackReference, stack: str, output: str, key: str) -> pulumi.Output[Any]:
    """One entry of a mapping the primary exports; a missing one fails the run, naming both."""

    def pick(published: Mapping[str, Any]) -> Any:
        if key not in published:
            raise pulumi.RunError(f"primary stack {stack} exports no {output} entry for {key}")
        return published[key]

    return primary_output(primary, stack, output).apply(pick)


def image_inputs(cfg: StackConfig, primary: pulumi.StackReference | None) -> dict[str, pulumi.Input[str]]:
    """Each service's image: its own reference, or on a mirroring standby the one prod runs."""
    services = cfg.enabled_services()
    if primary is None or cfg.primary is None or not cfg.primary.mirror_images:
        return {name: str(s.image) for name, s in services.items()}
    return {name: from_primary(primary, cfg.primary.stack, "images", name) for name in services}


def secret_inputs(cfg: StackConfig, primary: pulumi.StackReference | None) -> dict[str, pulumi.Output[str]]:
    """Secret values by config key, each a Pulumi secret.

    A standby reading the primary's replicas fetches each value from Secrets Manager in the DR
    region, so it needs neither the primary region nor a copy of the secret in its own config.
    """
    config = pulumi.Config(PROJECT)
    secrets = {key: config.require_secret(key) for key in sorted(cfg.secrets_from_config())}
    if primary is not None and cfg.primary is not None and cfg.primary.secrets_from_replicas and cfg.aws:
        for key in sorted(cfg.secret_keys()):
            arn = from_primary(primary, cfg.primary.stack, "replicaSecretArns", key)
            version = aws.secretsmanager.get_secret_version_output(secret_id=arn, region=cfg.aws.dr_region)
            secrets[key] = pulumi.Output.secret(version.secret_string)
    return secrets


def aws_dr(
    cfg: StackConfig, aws_cfg: Aws, secrets: Mapping[str, pulumi.Output[str]], primary: pulumi.StackReference | None
) -> pulumi.Output[str] | None:
    """The AWS disaster-recovery parts: replicated buckets and secrets, and DNS failover.

    Returns the id of the Route 53 zone the stack's records go in, when it has one.
    """
    stack = pulumi.get_stack()
    tags = {"project": PROJECT, "stack": stack}
    prod = cfg.environment == "prod"
    buckets = {
        name: ReplicatedBucket(
            f"bucket-{name}",
            ReplicatedBucketArgs(
                bucket_name=f"ziggie-{stack}-{name}",
                replica_bucket_name=f"ziggie-{stack}-{name}-{aws_cfg.dr_region}",
                primary_region=aws_cfg.primary_region,
                dr_region=aws_cfg.dr_region,
                encryption=aws_cfg.encryption,
                noncurrent_version_days=aws_cfg.noncurrent_version_days,
                protect=prod,
                tags=tags,
            ),
        )
        for name in aws_cfg.buckets
    }
    replicated = {
        key: ReplicatedSecret(
            f"secret-{key}",
            ReplicatedSecretArgs(
                secret_name=f"ziggie/{stack}/{key}",
                value=secrets[key],
                primary_region=aws_cfg.primary_region,
                dr_region=aws_cfg.dr_region,
                recovery_window_days=aws_cfg.secret_recovery_window_days,
                protect=prod,
                tags=tags,
            ),
        )
        for key in aws_cfg.replicated_secrets
    }
    zone: pulumi.Output[str] | None = None
    if aws_cfg.dns is not None:
        dns = aws_cfg.dns
        check = dns.health_check
        zone_id: pulumi.Input[str] | None = dns.zone_id
        if zone_id is None and primary is not None and cfg.primary is not None:
            zone_id = primary_output(primary, cfg.primary.stack, "dnsZoneId")
        failover = DnsFailover(
            "dns",
            DnsFailoverArgs(
                zone_name=dns.zone_name,
                zone_id=zone_id,
                record_name=dns.record_name,
                record_type=dns.record_type,
                target=dns.target,
                role="SECONDARY" if cfg.environment == "dr" else "PRIMARY",
                set_identifier=f"{stack}-{'secondary' if cfg.environment == 'dr' else 'primary'}",
                health_check_path=check.path,
                port=check.port,
                request_interval=check.interval_seconds,
                failure_threshold=check.failure_threshold,
                regions=check.regions,
                alarm=check.alarm,
                protect_zone=prod,
                tags=tags,
            ),
        )
        pulumi.export("dnsZoneId", failover.zone_id)
        zone = failover.zone_id
        pulumi.export("healthCheckId", failover.health_check_id)
    if buckets:
        pulumi.export("replicaBuckets", {name: b.replica_bucket for name, b in buckets.items()})
    if replicated:
        # ARNs are not secret; the dr stack reads each value from its replica with its own credentials.
        pulumi.export("replicaSecretArns", {key: s.replica_arn for key, s in replicated.items()})
    return zone


def gcp_parts(cfg: StackConfig, gcp_cfg: Gcp, zone_id: pulumi.Output[str] | None) -> None:
    """The CDN, its monitoring and the GCP budget, all in the stack's own project."""
    stack = pulumi.get_stack()
    labels = {"project": PROJECT, "stack": stack}
    # An explicit provider: nothing depends on the workstation's gcloud settings. The billing
    # budget API bills its quota to a project, which user credentials do not carry by themselves.
    apis = ProjectApis(
        "gcp-apis",
        ProjectApisArgs(
            project=gcp_cfg.project,
            provider=gcp.Provider("gcp-apis", project=gcp_cfg.project, region=gcp_cfg.region),
        ),
    )
    # Every other GCP resource uses this provider, so it waits for the APIs to be on.
    provider = gcp.Provider(
        "gcp",
        project=gcp_cfg.project,
        region=gcp_cfg.region,
        billing_project=gcp_cfg.project,
        user_project_override=True,
        opts=pulumi.ResourceOptions(depends_on=apis.services),
    )
    # The project number names the Cloud CDN fill service account and a budget's project
    # filter; it is a fact of the project, so it is read from GCP rather than typed twice.
    number = gcp.organizations.get_project_output(
        project_id=gcp_cfg.project, opts=pulumi.InvokeOutputOptions(provider=provider)
    ).number
    emails = cfg.alerts.emails
    channels = (
        EmailChannels(
            "alert-channels",
            EmailChannelsArgs(project=gcp_cfg.project, emails=emails, provider=provider, labels=labels),
        )
        if emails
        else None
    )
    channel_ids: pulumi.Input[list[str]] = channels.ids if channels is not None else []
    if cfg.cloud.cdn and gcp_cfg.cdn is not None and zone_id is not None:
        site = CdnSite(
            "cdn",
            CdnArgs(
                bucket_name=f"ziggie-{stack}-cdn",
                project=gcp_cfg.project,
                project_number=number,
                settings=gcp_cfg.cdn,
                zone_id=zone_id,
                provider=provider,
                protect=cfg.environment == "prod",
                labels=labels,
            ),
        )
        CdnMonitoring(
            "cdn-monitoring",
            CdnMonitoringArgs(
                project=gcp_cfg.project,
                domain=gcp_cfg.cdn.domain,
                path="/" + gcp_cfg.cdn.health_object,
                https_rule_names=site.https_rule_names,
                channel_ids=channel_ids,
                provider=provider,
                labels=labels,
            ),
        )
        pulumi.export(
            "cdn",
            {
                "domain": gcp_cfg.cdn.domain,
                "bucket": site.bucket.name,
                "ipv4": site.ipv4.address,
                "ipv6": site.ipv6.address if site.ipv6 is not None else None,
            },
        )
    budget = cfg.budgets.gcp if cfg.cloud.budgets and cfg.budgets is not None else None
    if budget is not None and gcp_cfg.billing_account is not None:
        GcpBudget(
            "budget-gcp",
            GcpBudgetArgs(
                stack=stack,
                billing_account=gcp_cfg.billing_account,
                project_number=number,
                monthly_usd=budget.monthly_usd,
                channel_ids=channel_ids,
                channel_count=len(emails),
                default_iam_recipients=budget.default_iam_recipients,
                provider=provider,
            ),
        )


def aws_budget(cfg: StackConfig) -> None:
    """The stack's AWS budget over the resources tagged with it."""
    budget = cfg.budgets.aws if cfg.budgets is not None else None
    if not cfg.cloud.budgets or budget is None:
        return
    stack = pulumi.get_stack()
    AwsBudget(
        "budget-aws",
        AwsBudgetArgs(
            stack=stack,
            monthly_usd=budget.monthly_usd,
            emails=cfg.alerts.emails,
            activate_tag=budget.activate_stack_tag,
            tags={"project": PROJECT, "stack": stack},
        ),
    )


def main() -> None:
    """Compose the stack from its config."""
    cfg = load()
    # The standby reads the primary's outputs from the state backend only, so it deploys
    # while the primary region is down; the primary never reads the standby.
    primary = pulumi.StackReference("primary", stack_name=cfg.primary.stack) if cfg.primary else None
    secrets = secret_inputs(cfg, primary)
    images = image_inputs(cfg, primary)

    hosts: dict[str, DockerHost] = {}
    for host_name, host in cfg.hosts.items():
        services = {n: s for n, s in cfg.enabled_services().items() if cfg.host_of(n) == host_name}
        hosts[host_name] = DockerHost(
            host_name,
            DockerHostArgs(
                host=host,
                network=cfg.network,
                logging=cfg.logging,
                services=services,
                images={n: images[n] for n in services},
                secrets=secrets,
                features=cfg.features,
                protect_data=cfg.environment == "prod",
            ),
        )

    zone_id = aws_dr(cfg, cfg.aws, secrets, primary) if cfg.cloud.aws_dr and cfg.aws is not None else None
    if cfg.cloud.cdn and cfg.gcp is not None:
        gcp_parts(cfg, cfg.gcp, zone_id)
    aws_budget(cfg)

    pulumi.export("environment", cfg.environment)
    pulumi.export("images", {name: images[name] for name in cfg.enabled_services()})
    pulumi.export("placement", {name: cfg.host_of(name) for name in cfg.enabled_services()})
    pulumi.export(
        "hosts",
        {
            name: {
                "publicAddress": host.public_address,
                "containers": {svc: c.name for svc, c in hosts[name].containers.items()},
            }
            for name, host in cfg.hosts.items()
        },
    )


main()
