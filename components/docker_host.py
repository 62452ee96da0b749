"""One Docker host and everything the stack runs on it.

Per host: a docker Provider bound to the host's daemon, the bridge network with the seed's
IPAM and options, the named volumes (bound to the NVMe data paths where configured), a
RemoteImage per service and the bounded containers themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from config.models import MIB, Host, Logging, Network, Service
from config.units import format_duration
from generated import GeneratedFile

LABEL_PREFIX = "ziggie"


@dataclass(frozen=True)
class DockerHostArgs:
    """What one host needs: its config, its services and the values resolved for them."""

    host: Host
    network: Network
    logging: Logging
    services: Mapping[str, Service]
    images: Mapping[str, pulumi.Input[str]]
    """Image reference per service: from config, or the primary's export on a standby."""
    secrets: Mapping[str, pulumi.Output[str]]
    """Secret config values by config key, already Pulumi secrets."""
    features: Mapping[str, bool | str] = field(default_factory=dict)
    protect_data: bool = False
    """Protect volumes bound to host data paths, so a refactor cannot drop them (prod)."""
    files: Mapping[str, Sequence[GeneratedFile]] = field(default_factory=dict)
    """Generated files per service, uploaded into its container before it starts."""


def _env_value(value: bool | str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _wait_timeout(service: Service) -> int:
    """Seconds `pulumi up` waits for a new container to report healthy."""
    check = service.healthcheck
    if check is None:
        return 60
    return int(check.start_period + check.retries * (check.interval + check.timeout)) + 30


class DockerHost(pulumi.ComponentResource):
    """The containers of one Docker host, each bounded, checked and pinned."""

    provider: docker.Provider
    network: docker.Network
    volumes: dict[str, docker.Volume]
    images: dict[str, docker.RemoteImage]
    containers: dict[str, docker.Container]

    def __init__(self, name: str, args: DockerHostArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ziggie:docker:Host", name, None, opts)
        host = args.host

        self.provider = docker.Provider(
            f"{name}-docker",
            host=host.docker_host,
            ssh_opts=list(host.ssh_opts) or None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Every resource below talks to this host's daemon, never the ambient default one.
        on_host = pulumi.ResourceOptions(parent=self, provider=self.provider)

        net = args.network
        self.network = docker.Network(
            f"{name}-network",
            name=net.name,
            driver="bridge",
            ipam_configs=[
                docker.NetworkIpamConfigArgs(
                    subnet=str(net.subnet), ip_range=str(net.ip_range), gateway=str(net.gateway)
                )
            ],
            options={
                "com.docker.network.bridge.name": net.bridge_name,
                "com.docker.network.driver.mtu": str(net.mtu),
            },
            labels=[docker.NetworkLabelArgs(label=f"{LABEL_PREFIX}.host", value=name)],
            opts=on_host,
        )

        self.volumes = {}
        for service in args.services.values():
            for volume in service.volumes:
                bound = volume.bind_path is not None
                driver_opts = {"type": "none", "o": "bind", "device": volume.bind_path} if volume.bind_path else None
                self.volumes[volume.name] = docker.Volume(
                    f"{name}-{volume.name}",
                    name=volume.name,
                    driver="local",
                    driver_opts=driver_opts,
                    opts=pulumi.ResourceOptions(
                        parent=self, provider=self.provider, protect=args.protect_data and bound
                    ),
                )

        self.images = {}
        self.containers = {}
        for svc, service in args.services.items():
            image = docker.RemoteImage(
                f"{name}-{svc}-image",
                name=args.images[svc],
                # A replaced container can roll back to the old image without a pull.
                keep_locally=True,
                opts=on_host,
            )
            self.images[svc] = image
            self.containers[svc] = self._container(name, svc, service, image, args)

        self.register_outputs(
            {
                "provider": self.provider,
                "network": self.network,
                "volumes": self.volumes,
                "images": self.images,
                "containers": self.containers,
            }
        )

    def _container(
        self, name: str, svc: str, service: Service, image: docker.RemoteImage, args: DockerHostArgs
    ) -> docker.Container:
        envs: list[pulumi.Input[str]] = [f"{k}={v}" for k, v in sorted(service.env.items())]
        if service.feature_flags:
            envs += [f"FEATURE_{k}={_env_value(v)}" for k, v in sorted(args.features.items())]
        # Each secret entry stays its own secret element, so the rest of env remains readable
        # in a plan while the value never appears in it.
        envs += [
            pulumi.Output.secret(pulumi.Output.concat(f"{variable}=", args.secrets[key]))
            for variable, key in sorted(service.secret_env.items())
        ]
        check = service.healthcheck
        healthcheck = (
            docker.ContainerHealthcheckArgs(
                tests=list(check.test),
                interval=format_duration(check.interval),
                timeout=format_duration(check.timeout),
                retries=check.retries,
                start_period=format_duration(check.start_period),
            )
            if check is not None
            else None
        )
        labels = {
            f"{LABEL_PREFIX}.service": svc,
            f"{LABEL_PREFIX}.tier": service.tier,
            f"{LABEL_PREFIX}.host": name,
            **service.labels,
        }
        return docker.Container(
            f"{name}-{svc}",
            name=svc,
            image=image.name,
            memory=service.memory // MIB,
            memory_reservation=service.memory_reservation // MIB if service.memory_reservation else None,
            cpus=str(service.cpus),
            cpu_shares=service.cpu_shares,
            healthcheck=healthcheck,
            # `pulumi up` holds until the new container is healthy, so a bad release stops there.
            wait=check is not None,
            wait_timeout=_wait_timeout(service) if check is not None else None,
            ulimits=[
                docker.ContainerUlimitArgs(name=ulimit, soft=limit.soft, hard=limit.hard)
                for ulimit, limit in sorted(service.ulimits.items())
            ],
            restart=service.restart,
            log_driver="json-file",
            log_opts={"max-size": args.logging.max_size, "max-file": str(args.logging.max_file)},
            labels=[docker.ContainerLabelArgs(label=k, value=v) for k, v in sorted(labels.items())],
            envs=envs,
            command=list(service.command) if service.command is not None else None,
            entrypoints=list(service.entrypoint) if service.entrypoint is not None else None,
            volumes=[
                docker.ContainerVolumeArgs(
                    volume_name=self.volumes[v.name].name, container_path=v.target, read_only=v.read_only
                )
                for v in service.volumes
            ],
            mounts=[
                docker.ContainerMountArgs(type="bind", source=m.source, target=m.target, read_only=m.read_only)
                for m in service.mounts
            ],
            ports=[
                docker.ContainerPortArgs(internal=p.internal, external=p.external, ip=str(p.ip), protocol=p.protocol)
                for p in service.ports
            ],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=self.network.name, aliases=[svc])],
            # The provider copies each file in before the container starts; a changed file is a
            # changed input, so the plan shows it and the container is recreated with it.
            uploads=[
                docker.ContainerUploadArgs(file=f.path, content=f.content, executable=f.executable or None)
                for f in sorted(args.files.get(svc, ()), key=lambda f: f.path)
            ]
            or None,
            privileged=service.privileged or None,
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider),
        )
