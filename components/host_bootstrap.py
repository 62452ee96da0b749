"""What a fresh VPS needs before its containers: checks, directories and swarm membership.

A VPS arrives with Docker and an SSH user, nothing else. Over the same SSH login the docker
provider uses, with the host key pinned, this component checks that Docker can bound swap,
creates the bind-mount directories with the owner each image runs as, and joins the host to
the stack's Docker Swarm (the manager initialises it; each worker joins with a token read from
the manager as a secret). Every command is idempotent: on a prepared host it changes nothing.
remote.Command runs `create` when created and, with no `update` command, again whenever an
input changes (pulumi/pulumi-command provider/pkg/provider/remote/commandController.go,
Update), so a second `pulumi up` with nothing changed runs none of them, and a changed list
of directories or a rotated key re-runs a command that is safe to re-run.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
from pulumi_command import remote

from config.models import Host

SWARM_PORT = 2377
# `docker info` fields read by the commands (Go templates of the docker CLI).
_SWARM_STATE = "docker info --format '{{.Swarm.LocalNodeState}}'"
_SWAP_LIMIT = "docker info --format '{{.SwapLimit}}'"


@dataclass(frozen=True)
class HostBootstrapArgs:
    """One host's bootstrap: how to log in and what to prepare."""

    host: Host
    private_key: pulumi.Input[str]
    """The SSH private key, a Pulumi secret from config."""
    directories: Sequence[tuple[str, str]] = ()
    """(host path, `uid:gid`) of each bind-mount directory to create."""
    swarm: Literal["manager", "worker"] | None = None
    manager_address: str | None = None
    """A worker's manager, the address it joins at (port 2377)."""
    join_token: pulumi.Input[str] | None = None
    """A worker's join token, read from the manager; a Pulumi secret."""


def directories_command(directories: Sequence[tuple[str, str]]) -> str:
    """Create each missing directory with its owner; an existing one is left as it is.

    Leaving existing directories alone keeps what the images did to them (postgres tightens its
    data directory to 0700) and makes a re-run on a prepared host change nothing.
    """
    lines = ["set -eu"]
    for path, owner in sorted(set(directories)):
        uid, gid = owner.split(":")
        quoted = shlex.quote(path)
        lines.append(f"[ -d {quoted} ] || sudo -n install -d -o {uid} -g {gid} -m 0750 {quoted}")
    return "\n".join(lines)


def swap_check_command() -> str:
    """Fail unless Docker can limit swap on this host.

    Without swap accounting the daemon stores MemorySwap -1, the provider reads that back
    (`resource_docker_container_funcs.go`: memory_swap is set as Docker reports it when not
    positive), and every `pulumi up` would show a diff while the kernel lets containers swap
    without bound. Refusing the host says so before any container is created.
    """
    return (
        f'[ "$({_SWAP_LIMIT})" = true ] || {{ echo "Docker reports no swap limit support on this host: '
        'enable swap accounting (cgroup v2, or swapaccount=1) before deploying" >&2; exit 1; }'
    )


def swarm_init_command(advertise_address: str) -> str:
    """Initialise the swarm unless this host is already in one; the output (it holds a join
    token) is discarded."""
    return (
        f'[ "$({_SWARM_STATE})" = active ] || '
        f"docker swarm init --advertise-addr {shlex.quote(advertise_address)} >/dev/null"
    )


def swarm_join_command(manager_address: str) -> str:
    """Join the swarm unless already in one; the token arrives on stdin, never in the command line."""
    manager = shlex.quote(f"{manager_address}:{SWARM_PORT}")
    return (
        f'[ "$({_SWARM_STATE})" = active ] || '
        f'{{ read -r token; docker swarm join --token "$token" {manager} >/dev/null; }}'
    )


JOIN_TOKEN_COMMAND = "docker swarm join-token -q worker"  # noqa: S105 - prints it, holds none


class HostBootstrap(pulumi.ComponentResource):
    """Prepares one fresh VPS for its containers over SSH, idempotently."""

    checks: remote.Command
    directories: remote.Command | None
    swarm: remote.Command | None
    join_token: pulumi.Output[str] | None
    """On the manager: the worker join token, a secret, never logged."""
    ready: list[pulumi.Resource]
    """What the host's volumes and containers wait for."""

    def __init__(self, name: str, args: HostBootstrapArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ziggie:docker:HostBootstrap", name, None, opts)
        host = args.host
        connection = remote.ConnectionArgs(
            host=host.ssh_address,
            port=host.ssh_port,
            user=host.ssh_user,
            private_key=pulumi.Output.secret(args.private_key),
            # The same key the docker provider's ssh pins (components.docker_host.ssh_options).
            host_key=host.host_key,
        )
        child = pulumi.ResourceOptions(parent=self)

        self.checks = remote.Command(f"{name}-checks", connection=connection, create=swap_check_command(), opts=child)
        self.ready = [self.checks]
        self.directories = None
        if args.directories:
            self.directories = remote.Command(
                f"{name}-directories",
                connection=connection,
                create=directories_command(args.directories),
                opts=child,
            )
            self.ready.append(self.directories)

        self.swarm = None
        self.join_token = None
        if args.swarm == "manager":
            self.swarm = remote.Command(
                f"{name}-swarm-init",
                connection=connection,
                create=swarm_init_command(host.ssh_address),
                logging=remote.Logging.NONE,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.checks]),
            )
            token = remote.Command(
                f"{name}-swarm-join-token",
                connection=connection,
                create=JOIN_TOKEN_COMMAND,
                # The token lets any machine join the cluster: secret in state, never logged.
                logging=remote.Logging.NONE,
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[self.swarm], additional_secret_outputs=["stdout", "stderr"]
                ),
            )
            self.join_token = pulumi.Output.secret(token.stdout.apply(str.strip))
            self.ready += [self.swarm, token]
        elif args.swarm == "worker":
            if args.manager_address is None or args.join_token is None:
                raise ValueError(f"{name}: a swarm worker needs its manager's address and join token")
            self.swarm = remote.Command(
                f"{name}-swarm-join",
                connection=connection,
                create=swarm_join_command(args.manager_address),
                stdin=pulumi.Output.secret(args.join_token),
                logging=remote.Logging.NONE,
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[self.checks], additional_secret_outputs=["stdout", "stderr"]
                ),
            )
            self.ready.append(self.swarm)

        self.register_outputs(
            {
                "checks": self.checks,
                "directories": self.directories,
                "swarm": self.swarm,
                "joinToken": self.join_token,
            }
        )
