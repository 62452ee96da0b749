"""ziggie-infra: load the typed stack config, build the components, export the outputs.

Nothing is registered before the whole configuration has validated: a bad stack file ends
the run with one message listing every problem, and no resource is touched.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import pulumi

from components.docker_host import DockerHost, DockerHostArgs
from config.loader import PROJECT, ConfigError, load_stack_config
from config.models import Aws, Dns, Gcp, Service, StackConfig
from generated import GeneratedFile, combine
from generated.certbot import certbot_files
from generated.monitoring import monitoring_files
from generated.nginx import nginx_files
from generated.prometheus import prometheus_files
from generated.scrape_targets import per_host_copies

# The cloud parts and the host bootstrap import their providers where a stack uses them: a
# provider SDK is the largest import there is (pulumi_gcp's compute module alone is most of a
# second), and dev uses none of the clouds.
if TYPE_CHECKING:
    from components.host_bootstrap import HostBootstrap


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
        import pulumi_aws as aws

        for key in sorted(cfg.secret_keys()):
            arn = from_primary(primary, cfg.primary.stack, "replicaSecretArns", key)
            version = aws.secretsmanager.get_secret_version_output(secret_id=arn, region=cfg.aws.dr_region)
            secrets[key] = pulumi.Output.secret(version.secret_string)
    return secrets


def dns_failover(
    cfg: StackConfig, dns: Dns, primary: pulumi.StackReference | None, tags: Mapping[str, str]
) -> pulumi.Output[str]:
    """Address records of this stack's hosts, its side of the failover pair and who is told."""
    from components.alarm_topic import AlarmTopic, AlarmTopicArgs
    from components.dns_failover import DnsFailover, DnsFailoverArgs, HostAddress

    stack = pulumi.get_stack()
    check = dns.health_check
    zone_id: pulumi.Input[str] | None = dns.zone_id
    if zone_id is None and primary is not None and cfg.primary is not None:
        # Route 53 is global: prod's zone stays writable while prod's region is down.
        zone_id = primary_output(primary, cfg.primary.stack, "dnsZoneId")
    actions: list[pulumi.Input[str]] = []
    if check.alarm and cfg.alerts.emails:
        # Each stack has its own topic: dr's alarm must reach someone without prod's state.
        topic = AlarmTopic(
            "alarms", AlarmTopicArgs(topic_name=f"ziggie-{stack}-alarms", emails=cfg.alerts.emails, tags=tags)
        )
        actions.append(topic.arn)
        pulumi.export("alarmTopicArn", topic.arn)
    serving = cfg.hosts[dns.host]
    secondary = cfg.environment == "dr"
    failover = DnsFailover(
        "dns",
        DnsFailoverArgs(
            zone_name=dns.zone_name,
            zone_id=zone_id,
            record_name=dns.record_name,
            target=str(serving.public_address),
            probe_ip=str(serving.ipv4),
            addresses=[
                HostAddress(
                    name=str(host.public_address),
                    ipv4=str(host.ipv4) if host.ipv4 else None,
                    ipv6=str(host.ipv6) if host.ipv6 else None,
                )
                for host in cfg.address_records().values()
            ],
            role="SECONDARY" if secondary else "PRIMARY",
            set_identifier=f"{stack}-{'secondary' if secondary else 'primary'}",
            health_check_path=check.path,
            port=check.port,
            request_interval=check.interval_seconds,
            failure_threshold=check.failure_threshold,
            regions=check.regions,
            alarm=check.alarm,
            alarm_actions=actions,
            protect_zone=cfg.environment == "prod",
            tags=tags,
        ),
    )
    pulumi.export("dnsZoneId", failover.zone_id)
    pulumi.export("healthCheckId", failover.health_check_id)
    if failover.name_servers is not None:
        pulumi.export("dnsNameServers", failover.name_servers)
    return failover.zone_id


def aws_dr(
    cfg: StackConfig, aws_cfg: Aws, secrets: Mapping[str, pulumi.Output[str]], primary: pulumi.StackReference | None
) -> pulumi.Output[str] | None:
    """The AWS disaster-recovery parts: replicated buckets and secrets, and DNS failover.

    Returns the hosted zone's id when the stack has DNS failover.
    """
    from components.replicated_bucket import ReplicatedBucket, ReplicatedBucketArgs
    from components.replicated_secret import ReplicatedSecret, ReplicatedSecretArgs

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
                two_way=aws_cfg.settings_of(name).two_way,
                replicate_deletes=aws_cfg.settings_of(name).replicate_deletes,
                object_lock_days=aws_cfg.settings_of(name).object_lock_days,
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
    zone_id = dns_failover(cfg, aws_cfg.dns, primary, tags) if aws_cfg.dns is not None else None
    if buckets:
        pulumi.export("replicaBuckets", {name: b.replica_bucket for name, b in buckets.items()})
    if replicated:
        # ARNs are not secret; the dr stack reads each value from its replica with its own credentials.
        pulumi.export("replicaSecretArns", {key: s.replica_arn for key, s in replicated.items()})
    return zone_id


def gcp_parts(cfg: StackConfig, gcp_cfg: Gcp, zone_id: pulumi.Output[str] | None) -> None:
    """The CDN, its monitoring and the GCP budget, all in the stack's own project."""
    import pulumi_gcp as gcp

    from components.cdn import CdnArgs, CdnSite
    from components.cdn_monitoring import CdnMonitoring, CdnMonitoringArgs
    from components.gcp_apis import ProjectApis, ProjectApisArgs
    from components.gcp_budget import GcpBudget, GcpBudgetArgs
    from components.gcp_channels import EmailChannels, EmailChannelsArgs

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
    from components.aws_budget import AwsBudget, AwsBudgetArgs

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


def edge_files(cfg: StackConfig, zone_id: pulumi.Output[str] | None) -> dict[str, list[GeneratedFile]]:
    """nginx's configuration and certbot's scripts, with the DNS-01 identity where there is a zone."""
    services = cfg.enabled_services()
    files: dict[str, list[GeneratedFile]] = {}
    if "nginx" in services:
        files["nginx"] = nginx_files(cfg)
    if "certbot" in services:
        identity = None
        if zone_id is not None and cfg.acme_names():
            from components.certbot_identity import CertbotIdentity, CertbotIdentityArgs

            # Each stack its own identity (IAM is global): dr renews without prod's state.
            identity = CertbotIdentity(
                "certbot",
                CertbotIdentityArgs(
                    zone_id=zone_id,
                    names=cfg.acme_names(),
                    user_name=f"ziggie-{pulumi.get_stack()}-certbot",
                    tags={"project": PROJECT, "stack": pulumi.get_stack()},
                ),
            )
        files["certbot"] = certbot_files(
            cfg,
            identity.access_key_id if identity else None,
            identity.secret_access_key if identity else None,
        )
    return files


def services_by_host(cfg: StackConfig) -> dict[str, dict[str, Service]]:
    """Each host's enabled services in the stack's stable order, from one pass over the services."""
    placed: dict[str, dict[str, Service]] = {name: {} for name in cfg.hosts}
    for name, service in cfg.enabled_services().items():
        for host in cfg.hosts_of(name):
            placed.setdefault(host, {})[name] = service
    return placed


def bootstraps(cfg: StackConfig, by_host: Mapping[str, Mapping[str, Service]]) -> dict[str, HostBootstrap]:
    """Per ssh:// host, its bootstrap; the swarm manager's first, as its workers need its token."""
    if not any(host.over_ssh for host in cfg.hosts.values()):
        return {}  # local daemons only: nothing to prepare, and no pulumi_command to load
    from components.host_bootstrap import HostBootstrap, HostBootstrapArgs

    config = pulumi.Config(PROJECT)
    manager = cfg.swarm_manager()
    order = sorted(cfg.hosts, key=lambda name: name != manager)
    done: dict[str, HostBootstrap] = {}
    for name in order:
        host = cfg.hosts[name]
        if not host.over_ssh:
            continue  # the local daemon is the workstation's own: nothing to prepare
        directories = [d for service in by_host[name].values() for d in service.host_directories()]
        worker = host.swarm == "worker" and manager is not None
        done[name] = HostBootstrap(
            f"{name}-bootstrap",
            HostBootstrapArgs(
                host=host,
                private_key=config.require_secret(host.ssh_key_secret),
                directories=directories,
                swarm=host.swarm,
                manager_address=cfg.hosts[manager].ssh_address if worker and manager else None,
                join_token=done[manager].join_token if worker and manager else None,
            ),
        )
    return done


def docker_hosts(
    cfg: StackConfig,
    images: Mapping[str, pulumi.Input[str]],
    secrets: Mapping[str, pulumi.Output[str]],
    files: Mapping[str, Sequence[GeneratedFile]],
) -> dict[str, DockerHost]:
    """Every Docker host of the stack, bootstrapped first, each container after what it needs.

    Needs cross hosts in both directions (the API on vps1 needs ollama on vps2, promtail on
    vps2 needs loki on vps1), so a container's dependencies are handed over as futures that
    resolve once the needed container is declared; the config refuses cycles.
    """
    # Computed once: per host and per need, the stack's services would otherwise be sorted and
    # filtered again, which grows with the square of the catalog.
    enabled = cfg.enabled_services()
    by_host = services_by_host(cfg)
    prepared = bootstraps(cfg, by_host)
    manager = cfg.swarm_manager()
    loop = asyncio.get_event_loop()
    declared: dict[tuple[str, str], asyncio.Future[pulumi.Resource]] = {
        (host, svc): loop.create_future() for host, services in by_host.items() for svc in services
    }
    hosts: dict[str, DockerHost] = {}
    for host_name in sorted(cfg.hosts, key=lambda name: name != manager):
        host = cfg.hosts[host_name]
        services = by_host[host_name]
        needs: dict[str, list[pulumi.Input[pulumi.Resource]]] = {
            svc: [
                pulumi.Output.from_input(declared[(h, need)])
                for need in service.needs
                if need in enabled
                for h in ([host_name] if cfg.services[need].every_host else cfg.hosts_of(need))
            ]
            for svc, service in services.items()
        }
        overlay: Literal["create", "join"] | None = None
        if manager is not None and host.swarm is not None:
            overlay = "create" if host_name == manager else "join"
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
                # On the day of a failover dr holds the live data: its volumes are as precious as prod's.
                protect_data=cfg.environment in ("prod", "dr"),
                files={svc: files[svc] for svc in services if svc in files},
                container_names={svc: cfg.container_name(svc, host_name) for svc in services},
                connect_env={svc: cfg.connect_env(svc, host_name) for svc in services},
                needs=needs,
                overlay=overlay,
                overlay_network=hosts[manager].network_name if overlay == "join" and manager else None,
                prepared_by=prepared[host_name].ready if host_name in prepared else (),
            ),
        )
        for svc, container in hosts[host_name].containers.items():
            declared[(host_name, svc)].set_result(container)
    return hosts


def main() -> None:
    """Compose the stack from its config."""
    cfg = load()
    # The standby reads the primary's outputs from the state backend only, so it deploys
    # while the primary region is down; the primary never reads the standby.
    primary = pulumi.StackReference("primary", stack_name=cfg.primary.stack) if cfg.primary else None
    secrets = secret_inputs(cfg, primary)
    images = image_inputs(cfg, primary)

    zone_id = aws_dr(cfg, cfg.aws, secrets, primary) if cfg.cloud.aws_dr and cfg.aws is not None else None
    if cfg.cloud.cdn and cfg.gcp is not None:
        gcp_parts(cfg, cfg.gcp, zone_id)
    aws_budget(cfg)
    files = combine(edge_files(cfg, zone_id), prometheus_files(cfg), monitoring_files(cfg, secrets, per_host_copies))
    hosts = docker_hosts(cfg, images, secrets, files)

    pulumi.export("environment", cfg.environment)
    pulumi.export("images", {name: images[name] for name in cfg.enabled_services()})
    pulumi.export(
        "placement",
        {name: ["*"] if s.every_host else [cfg.host_of(name)] for name, s in cfg.enabled_services().items()},
    )
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
