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

from components.docker_host import DockerHost, DockerHostArgs
from config.loader import PROJECT, ConfigError, load_stack_config
from config.models import StackConfig


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


def from_primary(primary: pulumi.StackReference, stack: str, output: str, key: str) -> pulumi.Output[Any]:
    """One entry of a mapping the primary exports; a missing one fails the run, naming both."""

    def pick(published: Mapping[str, Any]) -> Any:
        if key not in published:
            raise pulumi.RunError(f"primary stack {stack} exports no {output} entry for {key}")
        return published[key]

    return primary.require_output(output).apply(pick)


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
