"""One Docker host and everything the stack runs on it.

Per host: a docker Provider bound to the host's daemon (host key pinned), the network (the
bridge with the seed's IPAM, or on a swarm the encrypted overlay that the manager creates and
the workers only join), the named volumes (bound to the NVMe data paths where configured), a
RemoteImage per service and the bounded containers themselves, each started after what it needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_docker as docker

from config.images import ImageRef
from config.models import MIB, Host, Logging, Network, Service
from config.units import format_duration
from generated import GeneratedFile

LABEL_PREFIX = "ziggie"
NEEDS_LABEL = f"{LABEL_PREFIX}.needs"
# libnetwork's overlay driver encrypts (IPsec ESP) when this option key is present at all
# (moby libnetwork drivers/overlay/ov_network.go: `if _, ok := optMap[secureOption]; ok`).
ENCRYPTED_OPTION = "encrypted"


def ssh_options(host: Host) -> list[str]:
    """`ssh` options that pin the host key for the docker provider's system `ssh`.

    Only the configured key is trusted: the known_hosts files are ignored and OpenSSH's
    KnownHostsCommand (OpenSSH 8.5+) prints the one line `<host> <key>`, `%H` being the name
    ssh looks up. The same key is remote.Command's `host_key`, so both SSH users pin it.
    """
    if host.host_key is None:
        return list(host.ssh_opts)
    return [
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        f"KnownHostsCommand=/bin/echo %H {host.host_key}",
        *host.ssh_opts,
    ]


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
    """Protect every named volume, bound to a host data path or Docker-managed, so a refactor
    cannot drop the data in it (prod)."""
    files: Mapping[str, Sequence[GeneratedFile]] = field(default_factory=dict)
    """Generated files per service, uploaded into its container before it starts."""
    container_names: Mapping[str, str] = field(default_factory=dict)
    """Docker name per service where it is not the service name (per-host copies)."""
    connect_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Environment derived from each service's needs (addresses of what it needs)."""
    needs: Mapping[str, Sequence[pulumi.Input[pulumi.Resource]]] = field(default_factory=dict)
    """Per service, the containers it needs: it is created only once each is healthy."""
    overlay: Literal["create", "join"] | None = None
    """On a swarm: "create" on the manager (it creates the overlay), "join" on a worker."""
    overlay_network: pulumi.Input[str] | None = None
    """A worker's overlay network name, the manager's network output (so it exists first)."""
    prepared_by: Sequence[pulumi.Resource] = ()
    """The host bootstrap: directories and cluster membership exist before any volume or container."""


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
    network: docker.Network | None
    """The network this host creates; None on a swarm worker, which only joins the overlay."""
    network_name: pulumi.Input[str]
    """The network every container here joins: the host's own, or on a worker the overlay."""
    volumes: dict[str, docker.Volume]
    images: dict[str, docker.RemoteImage]
    containers: dict[str, docker.Container]

    def __init__(self, name: str, args: DockerHostArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ziggie:docker:Host", name, None, opts)
        host = args.host

        self.provider = docker.Provider(
            f"{name}-docker",
            host=host.docker_host,
            ssh_opts=ssh_options(host) or None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Every resource below talks to this host's daemon, never the ambient default one, and
        # waits for the host bootstrap (directories, swarm membership).
        on_host = pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=list(args.prepared_by))

        self.network = self._network(name, args, on_host)
        self.network_name = self.network.name if self.network is not None else args.overlay_network or args.network.name

        self.volumes = {}
        for service in args.services.values():
            for volume in service.volumes:
                driver_opts = {"type": "none", "o": "bind", "device": volume.bind_path} if volume.bind_path else None
                self.volumes[volume.name] = docker.Volume(
                    f"{name}-{volume.name}",
                    name=volume.name,
                    driver="local",
                    driver_opts=driver_opts,
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        provider=self.provider,
                        # A Docker-managed volume (grafana's dashboards and users, prometheus'
                        # TSDB, promtail's read positions) holds data as a bound one does.
                        protect=args.protect_data,
                        depends_on=list(args.prepared_by),
                    ),
                )

        self.images = {}
        self.containers = {}
        for svc, service in args.services.items():
            image, runs = self._image(name, svc, args.images[svc], on_host)
            self.images[svc] = image
            self.containers[svc] = self._container(name, svc, service, image, runs, args)

        self.register_outputs(
            {
                "provider": self.provider,
                "network": self.network,
                "volumes": self.volumes,
                "images": self.images,
                "containers": self.containers,
            }
        )

    def _image(
        self, name: str, svc: str, reference: pulumi.Input[str], on_host: pulumi.ResourceOptions
    ) -> tuple[docker.RemoteImage, pulumi.Input[str]]:
        """The host's copy of a service's image, and what its container references.

        A RemoteImage pulls once; the provider pulls a tag again only when `pull_triggers`
        change. For a tag (no digest), the registry's current digest is that trigger and the
        container runs the pulled image's ID, so a re-pushed tag rolls the container on the next
        `up`. The provider reads a container's image back as Docker's image ID when the plan
        gave one (`resource_docker_container_funcs.go`: `strings.HasPrefix(imageValue,
        "sha256:")`), so the ID is a stable input. A digest-pinned reference is run as written.
        """
        if isinstance(reference, str) and ImageRef.parse(reference).digest is None:
            registry = docker.get_registry_image_output(
                name=reference, opts=pulumi.InvokeOutputOptions(parent=self, provider=self.provider)
            )
            tracked = docker.RemoteImage(
                f"{name}-{svc}-image",
                name=reference,
                pull_triggers=[registry.sha256_digest],
                keep_locally=True,
                opts=on_host,
            )
            return tracked, tracked.image_id
        image = docker.RemoteImage(
            f"{name}-{svc}-image",
            name=reference,
            # A replaced container can roll back to the old image without a pull.
            keep_locally=True,
            opts=on_host,
        )
        return image, image.name

    def _network(self, name: str, args: DockerHostArgs, on_host: pulumi.ResourceOptions) -> docker.Network | None:
        net = args.network
        labels = [docker.NetworkLabelArgs(label=f"{LABEL_PREFIX}.host", value=name)]
        if args.overlay == "join":
            # A worker never looks the overlay up or creates it: Docker knows a swarm network on
            # a worker only once a container there joins it, and connecting a created container
            # to a network the daemon does not know yet keeps it by name until start attaches it
            # (moby daemon/container_operations.go, ConnectToNetwork).
            return None
        if args.overlay == "create":
            return docker.Network(
                f"{name}-network",
                name=net.name,
                driver="overlay",
                attachable=True,
                ipam_configs=[
                    docker.NetworkIpamConfigArgs(
                        subnet=str(net.subnet), ip_range=str(net.ip_range), gateway=str(net.gateway)
                    )
                ],
                options={ENCRYPTED_OPTION: "true"},
                labels=labels,
                # `options` is ForceNew and the provider stores it as Docker reports it
                # (resource_docker_network_funcs.go: `d.Set("options", retNetwork.Options)`), and
                # the swarm adds `com.docker.network.driver.overlay.vxlanid_list`, a VNI it
                # allocates at creation that no program can know beforehand. Ignoring the
                # read-back keeps the second `up` from replacing the network; the one option
                # sent (encryption) is fixed here and cannot change in place anyway.
                opts=pulumi.ResourceOptions.merge(on_host, pulumi.ResourceOptions(ignore_changes=["options"])),
            )
        return docker.Network(
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
            labels=labels,
            opts=on_host,
        )

    def _container(
        self,
        name: str,
        svc: str,
        service: Service,
        image: docker.RemoteImage,
        runs: pulumi.Input[str],
        args: DockerHostArgs,
    ) -> docker.Container:
        plain = {**service.env, **args.connect_env.get(svc, {})}
        envs: list[pulumi.Input[str]] = [f"{k}={v}" for k, v in sorted(plain.items())]
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
        if service.needs:
            # The plan alone shows who needs whom, so the service-reachability policy can check it.
            labels[NEEDS_LABEL] = ",".join(service.needs)
        return docker.Container(
            f"{name}-{svc}",
            name=args.container_names.get(svc, svc),
            image=runs,
            memory=service.memory // MIB,
            memory_reservation=service.memory_reservation // MIB if service.memory_reservation else None,
            # Memory plus swap: by default the memory limit itself, so the container cannot
            # swap and the limit the policies check is the one the kernel enforces.
            memory_swap=service.memory_swap_mib,
            # The exact string the provider reads back (config.readback): cpus is ForceNew.
            cpus=service.cpus_wire,
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
            # A per-host copy answers to its own name only: a shared alias on the overlay would
            # resolve to every host's copy.
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(
                    name=self.network_name, aliases=[args.container_names.get(svc, svc)]
                )
            ],
            # The provider copies each file in before the container starts; a changed file is a
            # changed input, so the plan shows it and the container is recreated with it.
            uploads=[
                docker.ContainerUploadArgs(file=f.path, content=f.content, executable=f.executable or None)
                for f in sorted(args.files.get(svc, ()), key=lambda f: f.path)
            ]
            or None,
            privileged=service.privileged or None,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=self.provider,
                # What it needs is healthy first: each needed container is created with `wait`.
                depends_on=[*args.prepared_by, *args.needs.get(svc, ())],
            ),
        )
