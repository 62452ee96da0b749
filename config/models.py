"""The typed stack configuration: hosts, services, network, logging, features and switches.

Every model is frozen and forbids unknown keys, so a typo in a stack file is an error that
names the key instead of a silently ignored setting. Keys are camelCase, as Pulumi stack
files spell them; the Python attributes are snake_case. Validators are pure: they look only
at the values in front of them.
"""

from __future__ import annotations

import posixpath
import re
from decimal import Decimal
from ipaddress import IPv4Address, IPv4Network, IPv6Address
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from config.images import ImageRef, ImageReference
from config.readback import cpus_readback, cpus_round_trips, nearest_round_tripping
from config.units import Cpus, DurationSeconds, MemoryBytes, format_duration, format_mem

MIB = 1024 * 1024
# Docker refuses a memory limit under 6 MiB (daemon: "Minimum memory limit allowed is 6MB").
DOCKER_MIN_MEMORY = 6 * MIB
# The same floor for a memory reservation, when one is set (moby/moby daemon/daemon_unix.go,
# verifyPlatformContainerResources: "Minimum memory reservation allowed is 6MB"; linuxMinMemory).
DOCKER_MIN_RESERVATION = DOCKER_MIN_MEMORY
# Health-check durations under a millisecond are refused (moby/moby daemon/container.go:
# "Interval in Healthcheck cannot be less than 1ms", the same for Timeout and StartPeriod;
# api/types/container/config.go MinimumDuration = 1 * time.Millisecond).
DOCKER_MIN_DURATION = 0.001
# The ulimit names Docker knows (docker/go-units ulimit.go, ulimitNameMapping; `as` is disabled there).
ULIMIT_NAMES = frozenset(
    {
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    }
)
# One `NAME=value` environment string, with its terminating NUL, must fit Linux's MAX_ARG_STRLEN
# (32 pages = 131072 bytes, include/uapi/linux/binfmts.h); a longer one makes execve fail with E2BIG,
# so the container would be created and never start. C strings also cannot carry a NUL.
MAX_ENV_STRING = 32 * 4096
# Where the host's Docker daemon listens; /var/run is a symlink to /run on current distributions, so
# both spellings (and every directory above the socket) hand the container the daemon.
DOCKER_SOCKETS = ("/run/docker.sock", "/var/run/docker.sock")
# Docker's CFS weight for one CPU; a CPU reservation of 0.5 vCPU becomes cpu_shares 512.
CPU_SHARES_PER_VCPU = 1024

Tier = Literal["critical", "workflow", "monitoring"]
Restart = Literal["no", "on-failure", "always", "unless-stopped"]
Environment = Literal["dev", "prod", "dr"]

_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_NAME = r"^[a-z0-9][a-z0-9-]*[a-z0-9]$|^[a-z0-9]$"
_CONFIG_KEY = r"^[A-Za-z][A-Za-z0-9_.-]*$"
# A fully qualified host name: dot-separated labels, the last one alphabetic.
_HOST_NAME = r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
# The same without the length look-ahead, for pydantic's regex engine (length checked apart).
_DNS_NAME = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
# `{service}` in a connectEnv value: the address of a needed service.
_NEED_REF = re.compile(r"\{([a-z0-9-]+)\}")

ServiceName = Annotated[str, Field(pattern=_NAME, max_length=63)]
HostName = Annotated[str, Field(pattern=_NAME, max_length=63)]
AbsolutePath = Annotated[str, Field(pattern=r"^/")]
# `uid:gid` a host directory is created with, as the image's own user reads and writes it.
Owner = Annotated[str, Field(pattern=r"^[0-9]{1,10}:[0-9]{1,10}$")]


class Problems(ValueError):
    """Several problems found by one cross-field rule, each with its key path below the model.

    pydantic keeps the raised error in the error's context, so the loader can list every
    problem under its own key path instead of one joined message.
    """

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


def _raise(problems: list[tuple[tuple[str | int, ...], str]]) -> None:
    if problems:
        raise Problems(problems)


class Model(BaseModel):
    """Base of every config model: frozen, closed to unknown keys, camelCase keys."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
    )


class Host(Model):
    """One Docker host: where its daemon answers, how big it is and what it costs."""

    docker_host: str = Field(
        pattern=r"^(ssh://[^/\s]+|unix:///\S+)$",
        description="Docker daemon address: `ssh://user@host[:port]` for a VPS, "
        "`unix:///var/run/docker.sock` for the local daemon.",
    )
    ssh_opts: tuple[str, ...] = Field(
        default=(),
        description="Extra `ssh` options for an `ssh://` host, after the ones that pin hostKey "
        "(e.g. `-o ConnectTimeout=10`).",
    )
    memory: MemoryBytes = Field(description="Physical memory of the host, Docker units (`16G`).")
    cpus: Cpus = Field(gt=0, description="vCPUs of the host.")
    os_reserve_memory: MemoryBytes = Field(
        description="Memory kept for the OS and Docker itself; the container pool is the rest."
    )
    os_reserve_cpus: Cpus = Field(description="vCPUs kept for the OS; the container pool is the rest.")
    monthly_price_usd: Decimal = Field(ge=0, description="What the host costs a month, in USD.")
    public_address: str | None = Field(
        default=None,
        description="Public DNS name of the host (`vps1.ziggie.example`): the name of its address records, "
        "what the failover record answers with.",
    )
    ipv4: IPv4Address | None = Field(
        default=None,
        description="The host's public IPv4 address: its A record, and what Route 53 health checks probe.",
    )
    ipv6: IPv6Address | None = Field(default=None, description="The host's public IPv6 address: its AAAA record.")
    host_key: str | None = Field(
        default=None,
        pattern=r"^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa) [A-Za-z0-9+/]+={0,3}$",
        description="The host's SSH public host key (`ssh-ed25519 AAAA...`, from `ssh-keyscan`); "
        "pinned for the bootstrap commands and the docker provider alike. Required for an ssh:// host.",
    )
    ssh_key_secret: Annotated[str, Field(pattern=_CONFIG_KEY)] = Field(
        default="deploySshKey",
        description="Secret config key holding the private SSH key the bootstrap commands log in with; "
        "the same key must be in the SSH agent for the docker provider.",
    )
    swarm: Literal["manager", "worker"] | None = Field(
        default=None,
        description="This host's role in the stack's Docker Swarm (one manager, any workers); "
        "unset = a standalone host.",
    )

    @model_validator(mode="after")
    def _reserve_fits(self) -> Self:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if self.os_reserve_memory >= self.memory:
            problems.append((("osReserveMemory",), "must be smaller than memory"))
        if self.os_reserve_cpus >= self.cpus:
            problems.append((("osReserveCpus",), "must be smaller than cpus"))
        if self.ssh_opts and not self.docker_host.startswith("ssh://"):
            problems.append((("sshOpts",), "only applies to an ssh:// dockerHost"))
        if (self.ipv4 is not None or self.ipv6 is not None) and not (
            self.public_address and re.match(_HOST_NAME, self.public_address)
        ):
            problems.append(
                (
                    ("publicAddress",),
                    "must be a DNS name (`vps1.ziggie.example`) when ipv4 or ipv6 is set: it names the address records",
                )
            )
        if self.over_ssh and self.host_key is None:
            problems.append((("hostKey",), "is required for an ssh:// dockerHost: the host key is pinned"))
        if not self.over_ssh and self.host_key is not None:
            problems.append((("hostKey",), "only applies to an ssh:// dockerHost"))
        if self.swarm is not None and not self.over_ssh:
            problems.append((("swarm",), "needs an ssh:// dockerHost: the local daemon is not bootstrapped"))
        elif self.swarm is not None:
            try:
                IPv4Address(self.ssh_address)
            except ValueError:
                problems.append(
                    (("dockerHost",), f"{self.ssh_address} is not an IPv4 address; a swarm advertises an IP")
                )
        _raise(problems)
        return self

    @property
    def over_ssh(self) -> bool:
        """True when the daemon is reached over SSH (a VPS), false for the local socket."""
        return self.docker_host.startswith("ssh://")

    @property
    def ssh_user(self) -> str:
        """The login user of an ssh:// dockerHost (`deploy` in `ssh://deploy@host`)."""
        authority = self.docker_host.removeprefix("ssh://")
        return authority.split("@", 1)[0] if "@" in authority else "root"

    @property
    def ssh_address(self) -> str:
        """The address of an ssh:// dockerHost, without user and port."""
        authority = self.docker_host.removeprefix("ssh://").rsplit("@", 1)[-1]
        return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority

    @property
    def ssh_port(self) -> int:
        """The SSH port of an ssh:// dockerHost (22 unless it names one)."""
        authority = self.docker_host.removeprefix("ssh://").rsplit("@", 1)[-1]
        return int(authority.rsplit(":", 1)[1]) if authority.count(":") == 1 else 22

    @property
    def pool_memory(self) -> int:
        """Bytes left for containers once the OS reserve is taken."""
        return self.memory - self.os_reserve_memory

    @property
    def pool_cpus(self) -> Decimal:
        """vCPUs left for containers once the OS reserve is taken."""
        return self.cpus - self.os_reserve_cpus


class HealthCheck(Model):
    """A Docker health check, as `docker run --health-*` takes it."""

    test: tuple[str, ...] = Field(
        min_length=2,
        description='The check: `["CMD", "curl", "-f", "http://..."]` or `["CMD-SHELL", "pg_isready ..."]`.',
    )
    interval: DurationSeconds = Field(description="Time between checks (`10s`, `1m30s`).")
    timeout: DurationSeconds = Field(description="Time one check may take.")
    retries: int = Field(ge=1, description="Consecutive failures that make the container unhealthy.")
    start_period: DurationSeconds = Field(
        default=0.0, description="Grace time after start during which failures do not count."
    )

    @model_validator(mode="after")
    def _form(self) -> Self:
        if self.test[0] not in ("CMD", "CMD-SHELL"):
            raise ValueError("test must start with CMD or CMD-SHELL")
        if self.interval <= 0:
            raise ValueError("interval must be positive")
        if self.timeout <= 0 or self.timeout > self.interval:
            raise ValueError("timeout must be positive and not longer than interval")
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for key, value in (("interval", self.interval), ("timeout", self.timeout), ("startPeriod", self.start_period)):
            # 0 is Docker's "use the default" (startPeriod's default here); anything else counts.
            if 0 < value < DOCKER_MIN_DURATION:
                problems.append(((key,), f"{format_duration(value)} is below Docker's 1ms minimum"))
        _raise(problems)
        return self


class Ulimit(Model):
    """One ulimit; -1 means unlimited, as Docker reads it."""

    soft: int = Field(ge=-1, description="Soft limit (-1 = unlimited).")
    hard: int = Field(ge=-1, description="Hard limit (-1 = unlimited).")

    @model_validator(mode="after")
    def _soft_within_hard(self) -> Self:
        if self.hard != -1 and (self.soft == -1 or self.soft > self.hard):
            raise ValueError("soft must not exceed hard")
        return self


class Volume(Model):
    """A named Docker volume mounted into the container, optionally bound to a host path."""

    name: str = Field(pattern=_NAME, description="Volume name, unique per host.")
    target: AbsolutePath = Field(description="Mount point inside the container.")
    bind_path: AbsolutePath | None = Field(
        default=None,
        description="Host directory the volume binds to (the NVMe data paths); none = Docker's own storage.",
    )
    owner: Owner | None = Field(
        default=None,
        description="`uid:gid` the host bootstrap creates bindPath with: the user the image runs as.",
    )
    read_only: bool = Field(default=False, description="Mount read-only.")

    @model_validator(mode="after")
    def _owner_with_bind(self) -> Self:
        if self.bind_path is not None and self.owner is None:
            raise Problems([(("owner",), "is required with bindPath: the host bootstrap creates the directory")])
        if self.bind_path is None and self.owner is not None:
            raise Problems([(("owner",), "only applies with bindPath")])
        return self


def host_path(path: str) -> str:
    """A host path as the kernel resolves it, lexically: `//var/run/./docker.sock` is `/var/run/docker.sock`.

    posixpath.normpath keeps a leading `//` (POSIX leaves it implementation-defined); Linux reads
    it as `/`, so it is collapsed here.
    """
    return "/" + posixpath.normpath(path).lstrip("/")


def _within(path: str, directory: str) -> bool:
    """True when `path` is `directory` or lies below it (both normalised)."""
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def host_access_of(path: str) -> Literal["root", "dockerSocket"] | None:
    """What binding this host path hands the container: the whole host (`/`), the Docker daemon, or neither."""
    normal = host_path(path)
    if normal == "/":
        return "root"
    if any(_within(socket, normal) for socket in DOCKER_SOCKETS):
        return "dockerSocket"
    return None


class HostAccess(Model):
    """An explicit grant to bind the host's `/` or its Docker socket, valid for one image only."""

    image: str = Field(
        min_length=1,
        description="The image repository the grant is for (`gcr.io/cadvisor/cadvisor`); the service's image "
        "must be this repository (compared as Docker normalises names), or the grant does not apply.",
    )
    root: bool = Field(default=False, description="May bind the host's `/`.")
    docker_socket: bool = Field(
        default=False,
        description="May bind the Docker socket (`/var/run/docker.sock`, `/run/docker.sock` or a directory "
        "above it): control of every container on the host.",
    )
    reason: str = Field(min_length=10, description="Why this image needs the access.")

    @model_validator(mode="after")
    def _grants_something(self) -> Self:
        if not (self.root or self.docker_socket):
            raise Problems([((), "grants nothing: set root or dockerSocket")])
        return self

    @property
    def repository(self) -> str | None:
        """The granted repository, normalised as Docker does; None when `image` is not a repository name."""
        try:
            ref = ImageRef.parse(self.image)
        except ValueError:
            return None
        return ref.repository if ref.tag is None and ref.digest is None else None


class BindMount(Model):
    """A host path mounted into the container (host files the service reads)."""

    source: AbsolutePath = Field(description="Path on the host.")
    target: AbsolutePath = Field(description="Path inside the container.")
    read_only: bool = Field(default=True, description="Mount read-only (the default).")
    owner: Owner | None = Field(
        default=None,
        description="`uid:gid` the host bootstrap creates the source directory with; "
        "unset = a path every host already has (`/sys`, the Docker socket).",
    )


class Port(Model):
    """A published port."""

    internal: int = Field(ge=1, le=65535, description="Port inside the container.")
    external: int = Field(ge=1, le=65535, description="Port on the host.")
    ip: IPv4Address = Field(
        default=IPv4Address("127.0.0.1"),
        description="Host address to bind; loopback unless the port must face the internet.",
    )
    protocol: Literal["tcp", "udp"] = Field(default="tcp", description="tcp or udp.")


class MetricsEndpoint(Model):
    """Where a service serves Prometheus metrics, inside its container."""

    port: int = Field(ge=1, le=65535, description="Container port of the metrics endpoint.")
    path: str = Field(default="/metrics", pattern=r"^/", description="HTTP path of the metrics endpoint.")


class Service(Model):
    """One containerised service: image, placement, bounds, health and runtime settings."""

    enabled: bool = Field(default=True, description="Deploy this service on this stack.")
    image: ImageReference | None = Field(
        default=None,
        description="Image reference by the Docker/OCI grammar, pinned by tag or digest. "
        "Required, except on a stack that mirrors the primary's images.",
    )
    tier: Tier = Field(description="critical, workflow or monitoring: which tier the service belongs to.")
    host: HostName | None = Field(
        default=None, description="Host the service runs on; defaults to the stack's defaultHost."
    )
    every_host: bool = Field(
        default=False,
        description="Run one copy on every host of the stack (per-host agents), each named "
        "`<service>-<host>`; excludes host.",
    )
    needs: tuple[ServiceName, ...] = Field(
        default=(),
        description="Services this one talks to: it starts after each is healthy, and the "
        "service-reachability policy checks it can reach them.",
    )
    connect_env: dict[Annotated[str, Field(pattern=_ENV_NAME)], str] = Field(
        default_factory=dict,
        description="Environment derived from needs: variable -> value in which `{service}` stands for "
        "that needed service's address (`http://{ollama}:11434`).",
    )
    memory: MemoryBytes = Field(description="Memory limit (`docker run --memory`), whole MiB.")
    memory_reservation: MemoryBytes | None = Field(
        default=None, description="Memory soft limit (`--memory-reservation`), whole MiB."
    )
    memory_swap: MemoryBytes | None = Field(
        default=None,
        description="Memory plus swap limit (`--memory-swap`), whole MiB; unset = the memory limit, "
        "so the container cannot swap.",
    )
    cpus: Cpus = Field(gt=0, description="CPU limit in vCPUs (`--cpus`).")
    cpu_reservation: Cpus | None = Field(
        default=None,
        description="vCPUs reserved under contention; sent as cpu_shares, 1024 per vCPU.",
    )
    healthcheck: HealthCheck | None = Field(default=None, description="Container health check; none = no check.")
    ulimits: dict[str, Ulimit] = Field(
        default_factory=dict, description="ulimits by name (`nofile`, `memlock`, `stack`)."
    )
    restart: Restart = Field(default="unless-stopped", description="Docker restart policy.")
    env: dict[Annotated[str, Field(pattern=_ENV_NAME)], str] = Field(
        default_factory=dict, description="Plain environment variables."
    )
    secret_env: dict[Annotated[str, Field(pattern=_ENV_NAME)], Annotated[str, Field(pattern=_CONFIG_KEY)]] = Field(
        default_factory=dict,
        description="Secret environment: variable name -> config key set with `pulumi config set --secret`.",
    )
    feature_flags: bool = Field(
        default=False, description="Pass the stack's feature flags to this service as FEATURE_* variables."
    )
    command: tuple[str, ...] | None = Field(default=None, description="Command override, exec form.")
    entrypoint: tuple[str, ...] | None = Field(
        default=None, description="Entrypoint override, exec form (the image's own when unset)."
    )
    volumes: tuple[Volume, ...] = Field(default=(), description="Named volumes.")
    mounts: tuple[BindMount, ...] = Field(default=(), description="Host bind mounts.")
    ports: tuple[Port, ...] = Field(default=(), description="Published ports.")
    labels: dict[str, str] = Field(default_factory=dict, description="Extra container labels.")
    privileged: bool = Field(default=False, description="Run privileged; needs privilegedReason.")
    privileged_reason: str | None = Field(
        default=None, min_length=10, description="Why this service must run privileged."
    )
    metrics: MetricsEndpoint | None = Field(
        default=None, description="The service's Prometheus metrics endpoint; Prometheus scrapes it."
    )
    host_access: HostAccess | None = Field(
        default=None,
        description="The grant to bind the host's `/` or the Docker socket, for this service and its image; "
        "without it such a bind is refused.",
    )

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for key, value in (("memory", self.memory), ("memoryReservation", self.memory_reservation)):
            if value is not None and value % MIB:
                problems.append(((key,), f"{value} bytes is not a whole number of MiB (Docker takes it in MB)"))
        if self.memory < DOCKER_MIN_MEMORY:
            problems.append((("memory",), f"{self.memory} bytes is below Docker's 6M minimum"))
        if self.memory_swap is not None and self.memory_swap % MIB:
            problems.append(
                (("memorySwap",), f"{self.memory_swap} bytes is not a whole number of MiB (Docker takes it in MB)")
            )
        if self.memory_swap is not None and self.memory_swap < self.memory:
            problems.append(
                (
                    ("memorySwap",),
                    f"{format_mem(self.memory_swap)} is below the memory limit {format_mem(self.memory)} "
                    "(it counts memory plus swap)",
                )
            )
        if not cpus_round_trips(self.cpus):
            below, above = nearest_round_tripping(self.cpus)
            nearest = " or ".join(str(v) for v in (below, above) if v is not None)
            problems.append(
                (
                    ("cpus",),
                    f"{self.cpus} cannot be sent as the docker provider reads it back "  # noqa: S608 - no SQL
                    f"(NanoCPUs read back as {cpus_readback(self.cpus)!r}, so every `pulumi up` would replace "
                    f"the container); nearest values that round-trip: {nearest}",
                )
            )
        if self.every_host and self.host is not None:
            problems.append((("host",), "cannot be set with everyHost: the service runs on every host"))
        for variable, template in sorted(self.connect_env.items()):
            for ref in _NEED_REF.findall(template):
                if ref not in self.needs:
                    problems.append((("connectEnv", variable), f"{{{ref}}} is not one of needs"))
            if variable in self.env or variable in self.secret_env:
                problems.append((("connectEnv", variable), "is also set in env or secretEnv"))
        if self.memory_reservation is not None and self.memory_reservation > self.memory:
            problems.append(
                (
                    ("memoryReservation",),
                    f"{format_mem(self.memory_reservation)} exceeds the memory limit {format_mem(self.memory)}",
                )
            )
        if self.cpu_reservation is not None and self.cpu_reservation > self.cpus:
            problems.append((("cpuReservation",), f"{self.cpu_reservation} exceeds the cpus limit {self.cpus}"))
        if self.privileged and not self.privileged_reason:
            problems.append((("privilegedReason",), "is required when privileged is true"))
        if self.privileged_reason and not self.privileged:
            problems.append((("privilegedReason",), "is set but privileged is false"))
        for name in sorted(set(self.env) & set(self.secret_env)):
            problems.append((("secretEnv", name), "is also set in env"))
        # An entry repeated word for word is reported as such, not again as a reused mount target.
        volumes, mounts = list(dict.fromkeys(self.volumes)), list(dict.fromkeys(self.mounts))
        targets = [posixpath.normpath(t) for t in [v.target for v in volumes] + [m.target for m in mounts]]
        for target in sorted({t for t in targets if targets.count(t) > 1}):
            problems.append((("volumes",), f"mount target {target} is used twice"))
        problems += self._engine_problems()
        _raise(problems)
        return self

    def _engine_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """What the Docker daemon, the kernel or the host's safety would refuse, found before any resource."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if self.memory_reservation is not None and 0 < self.memory_reservation < DOCKER_MIN_RESERVATION:
            problems.append(
                (("memoryReservation",), f"{format_mem(self.memory_reservation)} is below Docker's 6M minimum")
            )
        for name in sorted(set(self.ulimits) - ULIMIT_NAMES):
            problems.append((("ulimits", name), f"is not a ulimit Docker knows ({', '.join(sorted(ULIMIT_NAMES))})"))
        for key, variables in (("env", self.env), ("connectEnv", self.connect_env)):
            for variable, value in sorted(variables.items()):
                size = len(f"{variable}={value}".encode()) + 1
                if "\x00" in value:
                    problems.append(
                        ((key, variable), "contains a NUL character, which no process environment can hold")
                    )
                elif size > MAX_ENV_STRING:
                    problems.append(
                        (
                            (key, variable),
                            f"`{variable}=...` is {size} bytes; one environment string must fit Linux's "
                            f"{MAX_ENV_STRING}-byte MAX_ARG_STRLEN or the container cannot start",
                        )
                    )
        lists: tuple[tuple[str, tuple[object, ...]], ...] = (
            ("volumes", self.volumes),
            ("mounts", self.mounts),
            ("ports", self.ports),
            ("needs", self.needs),
        )
        for key, entries in lists:
            for i, entry in enumerate(entries):
                first = entries.index(entry)
                if first != i:
                    problems.append(((key, i), f"repeats {key}[{first}]"))
        return problems + self._host_access_problems()

    def _host_access_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Binds of the host's `/` or Docker socket, each needing this service's grant for its image."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        binds: list[tuple[tuple[str | int, ...], str]] = [
            (("volumes", i, "bindPath"), v.bind_path) for i, v in enumerate(self.volumes) if v.bind_path is not None
        ]
        binds += [(("mounts", i, "source"), m.source) for i, m in enumerate(self.mounts)]
        grant = self.host_access
        used: set[str] = set()
        for where, path in binds:
            access = host_access_of(path)
            if access is None:
                continue
            used.add(access)
            what = "the host's /" if access == "root" else "the Docker socket"
            if grant is None or not (grant.root if access == "root" else grant.docker_socket):
                problems.append((where, f"{path} binds {what}; only a service with hostAccess.{access} may"))
        if grant is not None:
            granted = grant.repository
            if granted is None:
                problems.append(
                    (("hostAccess", "image"), f"{grant.image!r} is not an image repository (no tag or digest)")
                )
            elif self.image is not None and self.image.repository != granted:
                problems.append(
                    (
                        ("hostAccess", "image"),
                        f"the grant is for {granted}, but the service runs {self.image.repository}",
                    )
                )
            for kind, on in (("root", grant.root), ("dockerSocket", grant.docker_socket)):
                if on and kind not in used:
                    problems.append((("hostAccess", kind), "is granted but nothing binds it"))
        return problems

    def host_directories(self) -> list[tuple[str, str]]:
        """(host path, `uid:gid`) of each directory this service needs created on its host."""
        found = [(v.bind_path, v.owner) for v in self.volumes if v.bind_path is not None and v.owner is not None]
        found += [(m.source, m.owner) for m in self.mounts if m.owner is not None]
        return found

    @property
    def cpus_wire(self) -> str:
        """The cpus string sent to the provider: the exact form it reads back."""
        return cpus_readback(self.cpus)

    @property
    def memory_swap_mib(self) -> int:
        """memory_swap sent to Docker, MiB: the service's own, else the memory limit (no swap)."""
        return (self.memory_swap or self.memory) // MIB

    @property
    def cpu_shares(self) -> int | None:
        """The CPU reservation as Docker CFS weight (1024 per vCPU)."""
        if self.cpu_reservation is None:
            return None
        return max(2, int((self.cpu_reservation * CPU_SHARES_PER_VCPU).to_integral_value()))


class Network(Model):
    """The bridge network every container joins."""

    name: str = Field(default="ziggie-network", pattern=_NAME, description="Docker network name.")
    bridge_name: str = Field(
        default="br-ziggie", pattern=r"^[a-z0-9-]{1,15}$", description="Linux bridge interface name."
    )
    subnet: IPv4Network = Field(default=IPv4Network("172.28.0.0/16"), description="IPAM subnet.")
    ip_range: IPv4Network = Field(
        default=IPv4Network("172.28.5.0/24"), description="Range containers get addresses from."
    )
    gateway: IPv4Address = Field(default=IPv4Address("172.28.5.254"), description="Bridge gateway address.")
    mtu: int = Field(default=1500, ge=576, le=9000, description="Bridge MTU.")

    @model_validator(mode="after")
    def _inside_subnet(self) -> Self:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if not self.ip_range.subnet_of(self.subnet):
            problems.append((("ipRange",), f"{self.ip_range} is not inside subnet {self.subnet}"))
        if self.gateway not in self.subnet:
            problems.append((("gateway",), f"{self.gateway} is not inside subnet {self.subnet}"))
        _raise(problems)
        return self


class Logging(Model):
    """json-file log rotation applied to every container."""

    max_size: str = Field(
        default="10m", pattern=r"^[1-9][0-9]*[kmg]$", description="Rotate a log file at this size (`10m`)."
    )
    max_file: int = Field(default=3, ge=1, le=100, description="Rotated files kept per container.")


# A practical address check (local@domain.tld); the recipient's confirmation is the real test.
_EMAIL = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"


class Alerts(Model):
    """Who is told when something needs a person: one list every alerting part reads."""

    emails: tuple[Annotated[str, Field(pattern=_EMAIL, max_length=254)], ...] = Field(
        default=(),
        max_length=10,
        description="Email addresses told of health-check alarms, budget thresholds and monitoring alerts "
        "(at most 10: an AWS budget notification takes 10 subscribers).",
    )

    @model_validator(mode="after")
    def _unique(self) -> Self:
        seen: set[str] = set()
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for i, email in enumerate(self.emails):
            if email.lower() in seen:
                problems.append((("emails", i), f"{email} is listed twice"))
            seen.add(email.lower())
        _raise(problems)
        return self


# The config key Alertmanager's SMTP password is read from, set with `pulumi config set --secret`.
SMTP_PASSWORD_KEY = "smtpPassword"  # noqa: S105 - a config key name, not a value


class Smtp(Model):
    """The mail server Alertmanager sends alerts through."""

    smarthost: str = Field(
        pattern=r"^[A-Za-z0-9.-]+:[0-9]{1,5}$", description="SMTP server as `host:port` (`smtp.example.com:587`)."
    )
    from_address: str = Field(alias="from", pattern=_EMAIL, max_length=254, description="Sender address of alert mail.")
    auth_username: str = Field(
        min_length=1, description="SMTP login; its password is the secret config key `smtpPassword`."
    )
    require_tls: bool = Field(default=True, description="Refuse to send unless the server offers STARTTLS.")


class Thresholds(Model):
    """When an alert fires, in percent of the limit the catalog or the host sets."""

    host_cpu_percent: int = Field(default=90, ge=1, le=100, description="Host CPU busy, averaged over 5 minutes.")
    host_memory_percent: int = Field(default=90, ge=1, le=100, description="Host memory in use.")
    container_memory_percent: int = Field(
        default=90, ge=1, le=100, description="A container's working set against its memory limit."
    )
    postgres_connections_percent: int = Field(
        default=80, ge=1, le=100, description="postgres connections against the catalog's `max_connections`."
    )
    redis_memory_percent: int = Field(
        default=90, ge=1, le=100, description="redis memory against the catalog's `--maxmemory`."
    )
    disk_free_percent: int = Field(
        default=10, ge=1, le=99, description="Free space left on the filesystem holding the data paths."
    )


class Monitoring(Model):
    """How alerts are delivered and when they fire."""

    smtp: Smtp | None = Field(default=None, description="Mail server for Alertmanager; required when it runs.")
    thresholds: Thresholds = Field(default_factory=Thresholds, description="Alert thresholds.")
    log_retention_days: int = Field(
        default=14, ge=1, le=365, description="Days Loki keeps container logs before its compactor deletes them."
    )


class Route(Model):
    """One path the edge proxies to a service."""

    path: str = Field(pattern=r"^/[A-Za-z0-9._~/-]*$", description="URL path prefix (`/`, `/mcp/`).")
    service: ServiceName = Field(description="The service that answers it, by its container name.")
    port: int = Field(ge=1, le=65535, description="The port the service listens on inside its container.")


class Edge(Model):
    """What nginx serves: the routes to services, the health endpoint, TLS and its renewal."""

    routes: tuple[Route, ...] = Field(
        default=(
            Route(path="/", service="ziggie-api", port=8000),
            Route(path="/mcp/", service="mcp-gateway", port=8080),
        ),
        min_length=1,
        description="Paths proxied over HTTPS, each to a service's port; the request path is passed on unchanged.",
    )
    health_service: ServiceName = Field(
        default="ziggie-api", description="The service `/health` is proxied to (what Route 53 checks)."
    )
    health_port: int = Field(default=8000, ge=1, le=65535, description="Its port.")
    health_path: str = Field(default="/health", pattern=r"^/", description="Its health endpoint.")
    server_names: tuple[Annotated[str, Field(pattern=_DNS_NAME, max_length=253)], ...] = Field(
        default=(),
        description="Names served besides aws.dns.recordName; the certificate covers them all. With neither, "
        "`localhost` (a self-signed certificate only).",
    )
    hsts: bool | None = Field(
        default=None,
        description="Send Strict-Transport-Security; unset means on in prod and dr (one name, served by both).",
    )
    reload_hours: int = Field(
        default=6,
        ge=1,
        le=24 * 7,
        description="nginx reloads itself this often to pick up a renewed certificate (certbot renews 30 days "
        "before expiry).",
    )

    @model_validator(mode="after")
    def _unique_paths(self) -> Self:
        paths = [r.path for r in self.routes]
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for i, path in enumerate(paths):
            if paths.index(path) != i:
                problems.append((("routes", i, "path"), f"{path} is routed twice"))
        _raise(problems)
        return self


class Cloud(Model):
    """Switches for the cloud parts; all off unless a stack turns them on."""

    aws_dr: bool = Field(default=False, description="AWS DR region: Route 53 failover, S3 and secret replication.")
    cdn: bool = Field(default=False, description="GCP Cloud CDN in front of the assets bucket.")
    budgets: bool = Field(default=False, description="Billing budgets with alerts on GCP and AWS.")


AwsRegion = Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")]


class HealthCheckSettings(Model):
    """The Route 53 health check on this stack's host."""

    path: str = Field(default="/health", pattern=r"^/", description="HTTPS path probed.")
    port: int = Field(default=443, ge=1, le=65535, description="HTTPS port probed.")
    interval_seconds: Literal[10, 30] = Field(
        default=30, description="Seconds between probes (Route 53 takes 10 or 30)."
    )
    failure_threshold: int = Field(
        default=3, ge=1, le=10, description="Failed probes before the endpoint is unhealthy."
    )
    regions: tuple[AwsRegion, ...] = Field(
        default=("eu-west-1", "us-east-1", "us-west-2"),
        min_length=3,
        description="Route 53 checker regions (at least three).",
    )
    alarm: bool = Field(default=True, description="A CloudWatch alarm on the health check's status.")


class Dns(Model):
    """The failover record this stack owns, and the address records of its hosts."""

    zone_name: str = Field(pattern=r"^[a-z0-9.-]+\.[a-z]{2,}$", description="Hosted zone name (`ziggie.example`).")
    zone_id: str | None = Field(
        default=None,
        pattern=r"^Z[A-Z0-9]{1,32}$",
        description="An existing hosted zone's id; none on prod creates the zone, none on dr uses prod's.",
    )
    record_name: str = Field(pattern=r"^[a-z0-9.-]+$", description="The name users resolve (`app.ziggie.example`).")
    host: HostName = Field(
        description="The host this stack's failover record answers with (a CNAME to its publicAddress) and whose "
        "ipv4 the health check probes."
    )
    health_check: HealthCheckSettings = Field(
        default_factory=HealthCheckSettings, description="The health check on the host."
    )

    @model_validator(mode="after")
    def _record_in_zone(self) -> Self:
        if not in_zone(self.record_name, self.zone_name):
            raise Problems([(("recordName",), f"{self.record_name} is not inside the zone {self.zone_name}")])
        if self.record_name == self.zone_name:
            raise Problems([(("recordName",), f"a CNAME cannot sit at the zone apex {self.zone_name}")])
        return self


def in_zone(name: str, zone: str) -> bool:
    """Whether DNS name `name` is `zone` or below it."""
    return name == zone or name.endswith("." + zone)


class BucketSettings(Model):
    """How one replicated bucket's DR copy behaves."""

    two_way: bool = Field(
        default=True,
        description="Replicate back from the DR replica too, so objects written there during a failover return.",
    )
    replicate_deletes: bool = Field(
        default=True,
        description="Replicate delete markers: a deletion in one bucket hides the object in the other.",
    )
    object_lock_days: int | None = Field(
        default=None,
        ge=1,
        le=36500,
        description="Protect every object version in the DR replica for this many days (S3 Object Lock, "
        "governance mode). Cannot be turned off once on.",
    )


class Aws(Model):
    """The AWS disaster-recovery parts: replicated buckets and secrets, DNS failover."""

    primary_region: AwsRegion = Field(default="eu-north-1", description="Region of the primary's AWS resources.")
    dr_region: AwsRegion = Field(default="eu-west-1", description="Region the replicas live in.")
    buckets: tuple[Annotated[str, Field(pattern=_NAME)], ...] = Field(
        default=(), description="Data buckets by short name; each is `ziggie-<stack>-<name>` with a DR replica."
    )
    encryption: Literal["aws:kms", "AES256"] = Field(
        default="aws:kms", description="Bucket encryption: SSE-KMS with a key per region, or AES256."
    )
    noncurrent_version_days: int = Field(
        default=30, ge=1, description="Days a replaced object version is kept before it expires."
    )
    replicated_secrets: tuple[Annotated[str, Field(pattern=_CONFIG_KEY)], ...] = Field(
        default=(), description="Secret config keys stored in Secrets Manager with a DR-region replica."
    )
    secret_recovery_window_days: int = Field(
        default=7, ge=7, le=30, description="Days a deleted secret can still be restored."
    )
    bucket_settings: dict[Annotated[str, Field(pattern=_NAME)], BucketSettings] = Field(
        default_factory=dict,
        description="Per-bucket replication settings by short name; a bucket not named here replicates both "
        "ways with delete markers and no Object Lock.",
    )
    dns: Dns | None = Field(default=None, description="The failover record and health check.")

    @model_validator(mode="after")
    def _two_regions(self) -> Self:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if self.primary_region == self.dr_region:
            problems.append((("drRegion",), f"must differ from primaryRegion {self.primary_region}"))
        for name in sorted(set(self.bucket_settings) - set(self.buckets)):
            problems.append((("bucketSettings", name), f"is not one of the buckets ({', '.join(self.buckets)})"))
        _raise(problems)
        return self

    def settings_of(self, bucket: str) -> BucketSettings:
        """A bucket's replication settings, the defaults when it names none."""
        return self.bucket_settings.get(bucket, BucketSettings())


GcpRegion = Annotated[str, Field(pattern=r"^[a-z]+-[a-z]+[0-9]+$")]

# Cloud CDN's limits, as the Compute API checks a backend bucket's cdnPolicy (and pulumi-gcp's
# BackendBucketCdnPolicy docstrings repeat): a TTL is at most a year, a negative-caching TTL
# at most 1,800 s, only these status codes take one, and each at most once.
MAX_CDN_TTL = 31_622_400
MAX_NEGATIVE_TTL = 1_800
NEGATIVE_CACHING_CODES = frozenset({300, 301, 308, 404, 405, 410, 421, 451, 501})
# A GCP budget takes at most 5 monitoring notification channels (Billing Budget API,
# NotificationsRule.monitoringNotificationChannels).
MAX_GCP_BUDGET_CHANNELS = 5
# The design's budget alerts: 50, 75, 90 and 100 % of actual spend and 100 % of forecast.
BUDGET_THRESHOLDS: tuple[tuple[Decimal, Literal["ACTUAL", "FORECASTED"]], ...] = (
    (Decimal("0.5"), "ACTUAL"),
    (Decimal("0.75"), "ACTUAL"),
    (Decimal("0.9"), "ACTUAL"),
    (Decimal("1.0"), "ACTUAL"),
    (Decimal("1.0"), "FORECASTED"),
)


class NegativeCachingPolicy(Model):
    """How long Cloud CDN keeps one error status cached."""

    code: int = Field(description="HTTP status code: 300, 301, 308, 404, 405, 410, 421, 451 or 501.")
    ttl: int = Field(ge=0, description="Seconds the status is cached (at most 1800).")

    @model_validator(mode="after")
    def _limits(self) -> Self:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if self.code not in NEGATIVE_CACHING_CODES:
            codes = ", ".join(str(c) for c in sorted(NEGATIVE_CACHING_CODES))
            problems.append((("code",), f"{self.code} takes no negative-caching TTL; Cloud CDN allows {codes}"))
        if self.ttl > MAX_NEGATIVE_TTL:
            problems.append(
                (("ttl",), f"{self.ttl} s exceeds Cloud CDN's {MAX_NEGATIVE_TTL} s negative-caching maximum")
            )
        _raise(problems)
        return self


class CdnCache(Model):
    """The backend bucket's Cloud CDN policy; the defaults are the seed's."""

    cache_mode: Literal["CACHE_ALL_STATIC", "USE_ORIGIN_HEADERS", "FORCE_CACHE_ALL"] = Field(
        default="CACHE_ALL_STATIC",
        description="What Cloud CDN caches: static content (CACHE_ALL_STATIC), what the origin's headers say, or all.",
    )
    default_ttl: int | None = Field(
        default=86_400, ge=0, description="Seconds a response without max-age is cached (seed: 24 h)."
    )
    max_ttl: int | None = Field(
        default=2_592_000, ge=0, description="Longest TTL Cloud CDN grants, CACHE_ALL_STATIC only (seed: 30 d)."
    )
    client_ttl: int | None = Field(default=3_600, ge=0, description="Longest max-age sent on to browsers.")
    negative_caching: bool = Field(default=True, description="Cache error responses for the TTLs below.")
    negative_caching_policy: tuple[NegativeCachingPolicy, ...] = Field(
        default=(NegativeCachingPolicy(code=404, ttl=120), NegativeCachingPolicy(code=410, ttl=1_800)),
        description="Per-status negative-caching TTLs (seed: 404 and 410).",
    )
    serve_while_stale: int = Field(
        default=86_400, ge=0, le=MAX_CDN_TTL, description="Seconds stale content is served while revalidating (24 h)."
    )
    request_coalescing: bool = Field(default=True, description="Combine concurrent cache fills into one.")
    compression: Literal["AUTOMATIC", "DISABLED"] = Field(
        default="AUTOMATIC", description="Compress text responses at the edge."
    )

    @model_validator(mode="after")
    def _valid_together(self) -> Self:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        ttls = {"defaultTtl": self.default_ttl, "maxTtl": self.max_ttl, "clientTtl": self.client_ttl}
        for key, value in ttls.items():
            if value is not None and value > MAX_CDN_TTL:
                problems.append(((key,), f"{value} s exceeds Cloud CDN's one-year maximum ({MAX_CDN_TTL} s)"))
        if self.cache_mode == "USE_ORIGIN_HEADERS":
            for key, value in ttls.items():
                if value is not None:
                    problems.append(
                        ((key,), "must be null with cacheMode USE_ORIGIN_HEADERS: the origin's headers rule")
                    )
        elif self.cache_mode != "CACHE_ALL_STATIC" and self.max_ttl is not None:
            problems.append((("maxTtl",), f"applies to cacheMode CACHE_ALL_STATIC only, not {self.cache_mode}"))
        if self.cache_mode == "CACHE_ALL_STATIC" and self.max_ttl is not None:
            for key, value in (("defaultTtl", self.default_ttl), ("clientTtl", self.client_ttl)):
                if value is not None and value > self.max_ttl:
                    problems.append(((key,), f"{value} s exceeds maxTtl {self.max_ttl} s"))
        if self.negative_caching_policy and not self.negative_caching:
            problems.append((("negativeCachingPolicy",), "needs negativeCaching true"))
        codes = [p.code for p in self.negative_caching_policy]
        for code in sorted({c for c in codes if codes.count(c) > 1}):
            problems.append((("negativeCachingPolicy",), f"status {code} is listed twice"))
        _raise(problems)
        return self


class CorsRule(Model):
    """One CORS rule of the CDN's bucket."""

    origins: tuple[str, ...] = Field(min_length=1, description="Origins allowed (`https://app.ziggie.example`).")
    methods: tuple[Literal["GET", "HEAD", "OPTIONS"], ...] = Field(
        default=("GET", "HEAD"), min_length=1, description="Methods allowed: the CDN only reads."
    )
    response_headers: tuple[str, ...] = Field(default=("Content-Type",), description="Headers browsers may read.")
    max_age_seconds: int = Field(default=3_600, ge=0, description="Seconds a browser caches the preflight answer.")


class CdnBucket(Model):
    """The private GCS bucket the CDN serves."""

    location: str = Field(default="EU", pattern=r"^[A-Z0-9-]+$", description="GCS location (`EU`, `EUROPE-NORTH1`).")
    versioning: bool = Field(default=True, description="Keep replaced and deleted object versions.")
    noncurrent_version_days: int = Field(
        default=30, ge=1, description="Days a replaced object version is kept before the lifecycle deletes it."
    )
    cors: tuple[CorsRule, ...] = Field(default=(), description="CORS rules for browsers fetching assets.")


class Cdn(Model):
    """The CDN: a private bucket behind a backend bucket with Cloud CDN and an HTTPS load balancer."""

    domain: str = Field(
        pattern=_DNS_NAME,
        max_length=253,
        description="Name the CDN serves (`cdn.ziggie.example`); its A/AAAA records go in the zone.",
    )
    ipv6: bool = Field(default=True, description="Also reserve a global IPv6 address and publish an AAAA record.")
    health_object: str = Field(
        default="healthz.txt",
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Object the program puts in the bucket for the uptime check to fetch.",
    )
    bucket: CdnBucket = Field(default_factory=CdnBucket, description="The private bucket behind the CDN.")
    cache: CdnCache = Field(default_factory=CdnCache, description="Cloud CDN cache policy.")


class Gcp(Model):
    """The stack's GCP project: where the CDN lives and what its budget covers."""

    project: str = Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$", description="GCP project id.")
    billing_account: str | None = Field(
        default=None,
        pattern=r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$",
        description="Billing account the project is billed to (`XXXXXX-XXXXXX-XXXXXX`); needed for a budget.",
    )
    region: GcpRegion = Field(default="europe-north1", description="Default region of the GCP provider.")
    cdn: Cdn | None = Field(default=None, description="The CDN; needs cloud.cdn.")


class AwsBudget(Model):
    """This stack's monthly AWS budget."""

    monthly_usd: Decimal = Field(gt=0, description="Monthly budget in USD for AWS resources tagged with this stack.")
    activate_stack_tag: bool = Field(
        default=False,
        description="Activate the `stack` cost-allocation tag; the account has one such switch: one stack owns it.",
    )


class GcpBudget(Model):
    """This stack's monthly GCP budget."""

    monthly_usd: Decimal = Field(gt=0, description="Monthly budget in USD for this stack's GCP project.")
    default_iam_recipients: bool = Field(
        default=True, description="Also email the billing account's admins and users (GCP's default recipients)."
    )


class Budgets(Model):
    """Monthly budgets per cloud; alerts at 50/75/90/100 % actual and 100 % forecast to alerts.emails."""

    aws: AwsBudget | None = Field(default=None, description="The AWS budget; required when the stack uses AWS.")
    gcp: GcpBudget | None = Field(default=None, description="The GCP budget; required when the stack uses GCP.")


class Primary(Model):
    """How a standby stack reads the primary stack's outputs."""

    stack: str = Field(
        pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+){0,2}$",
        description="The primary stack's name as a StackReference takes it (`org/ziggie-infra/prod`).",
    )
    mirror_images: bool = Field(
        default=True,
        description="Run the exact image references the primary exports, so the standby matches prod.",
    )
    secrets_from_replicas: bool = Field(
        default=False,
        description="Read secret env from the primary's Secrets Manager replicas in the DR region "
        "instead of this stack's own config.",
    )


class StackConfig(Model):
    """The whole configuration of one stack, after the default catalog is merged in."""

    environment: Environment = Field(description="dev, prod or dr: what this stack is.")
    hosts: dict[HostName, Host] = Field(min_length=1, description="Docker hosts by name.")
    default_host: HostName | None = Field(
        default=None, description="Host for services that name none; may be left out when there is one host."
    )
    services: dict[ServiceName, Service] = Field(description="Services by name, the catalog merged with overrides.")
    network: Network = Field(default_factory=Network, description="The bridge network.")
    logging: Logging = Field(default_factory=Logging, description="Container log rotation.")
    features: dict[Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")], bool | str] = Field(
        default_factory=dict, description="Feature flags, passed as FEATURE_<NAME> to services that take them."
    )
    cloud: Cloud = Field(default_factory=Cloud, description="Switches for the cloud parts.")
    alerts: Alerts = Field(default_factory=Alerts, description="Who is told when something needs a person.")
    monitoring: Monitoring = Field(
        default_factory=Monitoring, description="Alert delivery (SMTP) and alert thresholds."
    )
    edge: Edge = Field(default_factory=Edge, description="What nginx serves, and its certificates.")
    primary: Primary | None = Field(default=None, description="The primary stack a standby reads; dr only.")
    aws: Aws | None = Field(default=None, description="The AWS disaster-recovery parts; needs cloud.awsDr.")
    gcp: Gcp | None = Field(
        default=None, description="The GCP project, and the CDN in it; needs cloud.cdn or a GCP budget."
    )
    budgets: Budgets | None = Field(default=None, description="Monthly budgets per cloud; needs cloud.budgets.")

    @model_validator(mode="after")
    def _placement(self) -> Self:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        hosts = ", ".join(self.hosts)
        if self.default_host is not None and self.default_host not in self.hosts:
            problems.append((("defaultHost",), f"{self.default_host!r} is not one of the hosts ({hosts})"))
        seen: dict[str, str] = {}
        for name, host in self.hosts.items():
            if host.docker_host in seen:
                problems.append(
                    (("hosts", name, "dockerHost"), f"is the same Docker host as hosts.{seen[host.docker_host]}")
                )
            seen.setdefault(host.docker_host, name)
        for name, service in self.services.items():
            if not service.enabled:
                continue
            if service.host is not None and service.host not in self.hosts:
                problems.append((("services", name, "host"), f"{service.host!r} is not one of the hosts ({hosts})"))
            elif service.host is None and self.default_host is None and len(self.hosts) > 1 and not service.every_host:
                problems.append((("services", name, "host"), "is required: there are several hosts and no defaultHost"))
            if service.image is None and not (self.primary and self.primary.mirror_images):
                problems.append(
                    (("services", name, "image"), "is required: set the release tag or digest for this stack")
                )
        volumes: dict[tuple[str, str], str] = {}
        owners: dict[tuple[str, str], tuple[str, str]] = {}
        for name, service in self.enabled_services().items():
            if service.host is not None and service.host not in self.hosts:
                continue
            for host_name in self.hosts_of(name):
                for volume in service.volumes:
                    key = (host_name, volume.name)
                    if key in volumes:
                        problems.append(
                            (("services", name, "volumes"), f"volume {volume.name!r} is already used by {volumes[key]}")
                        )
                    volumes[key] = name
                for path, owner in service.host_directories():
                    seen_owner = owners.setdefault((host_name, path), (owner, name))
                    if seen_owner[0] != owner:
                        problems.append(
                            (
                                ("services", name),
                                f"host directory {path} is owned {owner} here but {seen_owner[0]} by {seen_owner[1]}",
                            )
                        )
        problems += self._per_host_problems()
        problems += self._needs_problems()
        problems += self._swarm_problems()
        if self.cloud.aws_dr and self.aws is None:
            problems.append((("aws",), "is required when cloud.awsDr is true"))
        if self.aws is not None and not self.cloud.aws_dr:
            problems.append((("cloud", "awsDr"), "must be true for the aws settings to apply"))
        problems += self._cloud_problems()
        if self.primary is not None and self.primary.secrets_from_replicas and not self.cloud.aws_dr:
            problems.append((("primary", "secretsFromReplicas"), "needs cloud.awsDr: the replicas live in AWS"))
        problems += self._dns_problems()
        problems += self._edge_problems()
        if self.environment == "dr" and self.primary is None:
            problems.append((("primary",), "is required on a dr stack: it reads the primary's outputs"))
        if self.environment != "dr" and self.primary is not None:
            problems.append(
                (("primary",), f"is only for a dr stack; a {self.environment} stack must not depend on another")
            )
        alertmanager = self.services.get("alertmanager")
        if alertmanager is not None and alertmanager.enabled:
            # Alertmanager with nowhere to send is an alerting system that tells no one.
            if self.monitoring.smtp is None:
                problems.append((("monitoring", "smtp"), "is required: alertmanager runs and mails alerts through it"))
            if not self.alerts.emails:
                problems.append((("alerts", "emails"), "must name at least one address: alertmanager mails them"))
        _raise(problems)
        return self

    def _per_host_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """What one host can give only once, and what no container may ask of its host.

        Docker refuses a second container on a host port already bound on the same address, and
        0.0.0.0 binds every address (the second `docker run` fails with "port is already allocated").
        Two services writing one host directory would corrupt each other's data; readers may share
        (nginx reads the certificates certbot writes). A CPU limit above the host's CPUs is refused
        by the daemon (moby/moby daemon/daemon_unix.go verifyPlatformContainerResources: "range of
        CPUs is from 0.01 to N.00, as there are only N CPUs available").
        """
        problems: list[tuple[tuple[str | int, ...], str]] = []
        ports: dict[tuple[str, str, int], list[tuple[IPv4Address, str, int]]] = {}
        writers: dict[str, list[tuple[str, str]]] = {}
        for name, service in self.enabled_services().items():
            if service.host is not None and service.host not in self.hosts:
                continue
            for host_name in self.hosts_of(name):
                host = self.hosts.get(host_name)
                if host is None:
                    continue  # an unknown host is reported by the placement rule
                if service.cpus > host.cpus:
                    problems.append(
                        (("services", name, "cpus"), f"{service.cpus} exceeds the {host.cpus} CPUs of host {host_name}")
                    )
                for i, port in enumerate(service.ports):
                    bound = ports.setdefault((host_name, port.protocol, port.external), [])
                    for ip, other, j in bound:
                        if ip == port.ip or IPv4Address("0.0.0.0") in (ip, port.ip):  # noqa: S104 - the any-address
                            problems.append(
                                (
                                    ("services", name, "ports", i),
                                    f"{port.ip}:{port.external}/{port.protocol} on host {host_name} collides with "
                                    f"services.{other}.ports[{j}] ({ip}:{port.external})",
                                )
                            )
                            break
                    bound.append((port.ip, name, i))
                data_paths = [
                    (("volumes", i, "bindPath"), v.bind_path)
                    for i, v in enumerate(service.volumes)
                    if v.bind_path is not None and not v.read_only
                ]
                data_paths += [
                    (("mounts", i, "source"), m.source) for i, m in enumerate(service.mounts) if not m.read_only
                ]
                for where, path in data_paths:
                    normal = host_path(path)
                    seen = writers.setdefault(host_name, [])
                    clash = next(
                        ((p, o) for p, o in seen if o != name and (_within(normal, p) or _within(p, normal))), None
                    )
                    if clash is not None:
                        problems.append(
                            (
                                ("services", name, *where),
                                f"host directory {normal} on host {host_name} overlaps {clash[0]}, "
                                f"which {clash[1]} writes",
                            )
                        )
                    seen.append((normal, name))
        return problems

    def _dns_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Address records and the failover record's host, checked against the hosts."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        dns = self.aws.dns if self.aws is not None and self.cloud.aws_dr else None
        if dns is None:
            return problems
        for name, host in self.hosts.items():
            has_ip = host.ipv4 is not None or host.ipv6 is not None
            if has_ip and host.public_address and not in_zone(host.public_address, dns.zone_name):
                problems.append(
                    (
                        ("hosts", name, "publicAddress"),
                        f"{host.public_address} is not inside the zone {dns.zone_name}, so it gets no address record",
                    )
                )
        target = self.hosts.get(dns.host)
        where = ("aws", "dns", "host")
        if target is None:
            problems.append((where, f"{dns.host!r} is not one of the hosts ({', '.join(self.hosts)})"))
        elif target.ipv4 is None or target.public_address is None:
            problems.append(
                (
                    where,
                    f"host {dns.host} needs publicAddress and ipv4: the failover record answers with its address "
                    "record and the health check probes its IP",
                )
            )
        if self.environment == "prod" and dns.health_check.alarm and not self.alerts.emails:
            problems.append(
                (
                    ("alerts", "emails"),
                    "is empty, but aws.dns.healthCheck.alarm is on: list who is told when the primary fails",
                )
            )
        return problems

    def _edge_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """The services nginx routes to must run on this stack, and certbot needs someone to register."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        enabled = self.enabled_services()
        if "nginx" not in enabled:
            return problems
        targets: list[tuple[tuple[str | int, ...], str]] = [
            (("edge", "routes", i, "service"), r.service) for i, r in enumerate(self.edge.routes)
        ]
        targets.append((("edge", "healthService"), self.edge.health_service))
        for where, service in targets:
            if service not in enabled:
                problems.append((where, f"{service!r} is not a service this stack runs"))
        if "certbot" in enabled and self.acme_names() and not self.alerts.emails:
            problems.append(
                (("alerts", "emails"), "is empty, but certbot needs an address to register with Let's Encrypt")
            )
        return problems

    def acme_names(self) -> tuple[str, ...]:
        """Names the edge gets a Let's Encrypt certificate for: DNS-01 needs the stack's Route 53 zone."""
        dns = self.aws.dns if self.aws is not None and self.cloud.aws_dr else None
        if dns is None:
            return ()
        return tuple(dict.fromkeys((dns.record_name, *self.edge.server_names)))

    def edge_names(self) -> tuple[str, ...]:
        """Names nginx serves: the certificate's, or `localhost` on a stack without a zone."""
        return self.acme_names() or tuple(self.edge.server_names) or ("localhost",)

    def hsts(self) -> bool:
        """Whether the edge sends Strict-Transport-Security."""
        return self.edge.hsts if self.edge.hsts is not None else self.environment in ("prod", "dr")

    def address_records(self) -> dict[str, Host]:
        """Hosts that get address records in the zone: those with a public name and an IP."""
        return {
            name: host
            for name, host in self.hosts.items()
            if host.public_address and (host.ipv4 is not None or host.ipv6 is not None)
        }

    def _cloud_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """What the CDN and budget switches need, and what they must not be given without."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        cdn = self.gcp.cdn if self.gcp is not None else None
        if self.cloud.cdn:
            if self.gcp is None:
                problems.append((("gcp",), "is required when cloud.cdn is true: set gcp.project and gcp.cdn"))
            elif cdn is None:
                problems.append((("gcp", "cdn"), "is required when cloud.cdn is true: set at least gcp.cdn.domain"))
            dns = self.aws.dns if self.aws is not None and self.cloud.aws_dr else None
            if dns is None:
                problems.append(
                    (("cloud", "cdn"), "needs aws.dns (cloud.awsDr): the CDN domain's records go in its Route 53 zone")
                )
            elif cdn is not None and not cdn.domain.endswith("." + dns.zone_name):
                problems.append((("gcp", "cdn", "domain"), f"{cdn.domain} is not inside the zone {dns.zone_name}"))
        elif self.gcp is not None:
            problems.append((("cloud", "cdn"), "must be true for the gcp settings to apply"))
        if self.budgets is not None and not self.cloud.budgets:
            problems.append((("cloud", "budgets"), "must be true for the budgets settings to apply"))
        if self.cloud.budgets:
            budgets = self.budgets or Budgets()
            if not self.cloud.aws_dr and not self.cloud.cdn:
                problems.append(
                    (("cloud", "budgets"), "has no cloud to budget: neither cloud.awsDr nor cloud.cdn is on")
                )
            if self.cloud.aws_dr and budgets.aws is None:
                problems.append(
                    (("budgets", "aws"), "is required: cloud.budgets is on and the stack uses AWS (cloud.awsDr)")
                )
            if self.cloud.cdn and budgets.gcp is None:
                problems.append(
                    (("budgets", "gcp"), "is required: cloud.budgets is on and the stack uses GCP (cloud.cdn)")
                )
            if budgets.aws is not None and not self.cloud.aws_dr:
                problems.append((("budgets", "aws"), "is set but the stack uses no AWS (cloud.awsDr is off)"))
            if budgets.gcp is not None and not self.cloud.cdn:
                problems.append((("budgets", "gcp"), "is set but the stack uses no GCP (cloud.cdn is off)"))
            if budgets.gcp is not None and self.gcp is not None and self.gcp.billing_account is None:
                problems.append((("gcp", "billingAccount"), "is required for budgets.gcp"))
            if budgets.gcp is not None and len(self.alerts.emails) > MAX_GCP_BUDGET_CHANNELS:
                problems.append(
                    (
                        ("alerts", "emails"),
                        f"{len(self.alerts.emails)} addresses: a GCP budget takes at most "
                        f"{MAX_GCP_BUDGET_CHANNELS} notification channels",
                    )
                )
            if not self.alerts.emails:
                problems.append(
                    (("alerts", "emails"), "is required when cloud.budgets is true: budgets alert by email")
                )
        return problems

    def enabled_services(self) -> dict[str, Service]:
        """The services this stack deploys, in a stable order."""
        return {name: s for name, s in sorted(self.services.items()) if s.enabled}

    def host_of(self, service: str) -> str:
        """The host a single-copy service is placed on."""
        placed = self.services[service].host or self.default_host
        if placed is None:
            return next(iter(self.hosts))
        return placed

    def hosts_of(self, service: str) -> list[str]:
        """Every host a service runs on: all of them for an everyHost service, else its one host."""
        if self.services[service].every_host:
            return list(self.hosts)
        return [self.host_of(service)]

    def container_name(self, service: str, host: str) -> str:
        """The Docker name of a service's container on a host; per-host copies carry the host.

        Names resolve across the swarm's overlay network, so they must be unique across hosts.
        """
        return f"{service}-{host}" if self.services[service].every_host else service

    def address_of(self, service: str, from_host: str) -> str:
        """How a container on `from_host` names `service`: its copy on the same host, if per-host."""
        if self.services[service].every_host:
            return self.container_name(service, from_host)
        return self.container_name(service, self.host_of(service))

    def connect_env(self, service: str, host: str) -> dict[str, str]:
        """The service's connectEnv with each `{need}` replaced by that need's address."""
        return {
            variable: _NEED_REF.sub(lambda m: self.address_of(m.group(1), host), value)
            for variable, value in sorted(self.services[service].connect_env.items())
        }

    def swarm_manager(self) -> str | None:
        """The host that manages the stack's Docker Swarm, if the stack has one."""
        return next((name for name, host in self.hosts.items() if host.swarm == "manager"), None)

    def ssh_key_secrets(self) -> set[str]:
        """Secret config keys holding the SSH keys the ssh:// hosts are bootstrapped with."""
        return {host.ssh_key_secret for host in self.hosts.values() if host.over_ssh}

    def _needs_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Needs that name no catalog service, the service itself, or close a cycle."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for name, service in self.services.items():
            for i, need in enumerate(service.needs):
                if need == name:
                    problems.append((("services", name, "needs", i), f"{name} cannot need itself"))
                elif need not in self.services:
                    problems.append((("services", name, "needs", i), f"{need!r} is not a service of this stack"))
                elif self.services[need].healthcheck is None:
                    problems.append(
                        (
                            ("services", name, "needs", i),
                            f"{need} has no health check, so {name} cannot wait until it is healthy",
                        )
                    )
        # A cycle would deadlock the start order: each waits for the other to be healthy.
        graph = {n: [d for d in s.needs if d in self.services and d != n] for n, s in self.services.items()}
        reported: set[frozenset[str]] = set()
        for start in sorted(graph):
            cycle = _cycle_from(start, graph)
            if cycle is not None and frozenset(cycle) not in reported:
                reported.add(frozenset(cycle))
                problems.append((("services", start, "needs"), "cycle: " + " -> ".join([*cycle, cycle[0]])))
        return problems

    def _swarm_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        roles = {name: host.swarm for name, host in self.hosts.items() if host.swarm is not None}
        managers = [name for name, role in roles.items() if role == "manager"]
        if roles and len(managers) != 1:
            found = ", ".join(managers) or "none"
            return [(("hosts",), f"a swarm needs exactly one manager host (found: {found})")]
        return []

    def secret_keys(self) -> set[str]:
        """Config keys the enabled services read as secrets."""
        keys = {key for s in self.enabled_services().values() for key in s.secret_env.values()}
        if self.sends_alert_mail():
            keys.add(SMTP_PASSWORD_KEY)
        return keys

    def sends_alert_mail(self) -> bool:
        """Alertmanager runs and mails through the configured SMTP server."""
        alertmanager = self.services.get("alertmanager")
        return alertmanager is not None and alertmanager.enabled and self.monitoring.smtp is not None

    def secrets_from_config(self) -> set[str]:
        """Secret keys this stack reads from its own config (the rest come from replicas)."""
        if self.primary is not None and self.primary.secrets_from_replicas:
            return self.ssh_key_secrets()
        return self.secret_keys() | set(self.aws.replicated_secrets if self.aws else ()) | self.ssh_key_secrets()


def _cycle_from(start: str, graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle through `start` in the needs graph, as the list of services on it, or None."""
    path: list[str] = []

    def walk(node: str, seen: set[str]) -> list[str] | None:
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                return list(path)
            if nxt not in seen:
                seen.add(nxt)
                found = walk(nxt, seen)
                if found is not None:
                    return found
        path.pop()
        return None

    return walk(start, {start})
