"""Hand-built resources in the program's wire shape, and the two ways tests run a policy on them.

``run_direct`` builds the SDK's own ``ResourceValidationArgs``/``StackValidationArgs`` the way
its gRPC servicer does (props through a protobuf Struct, ``deserialize_properties`` and the
unknown-checking proxy), then calls the policy; ``run_protocol`` sends the same records to the
running pack through ``preflight.analyzer``. Both return the messages of one policy.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from google.protobuf import json_format, struct_pb2  # type: ignore[import-untyped]
from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

from preflight.analyzer import PolicyPackSession
from preflight.records import (
    SECRET_SIG_KEY,
    SECRET_SIG_VALUE,
    UNKNOWN_VALUE,
    RecordedResource,
)

STACK = "prod"
PROJECT = "ziggie-infra"
CONTAINER = "docker:index/container:Container"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
PROVIDER = "pulumi:providers:docker"
HOST_COMPONENT = "ziggie:docker:Host"
ROOT_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{STACK}"
DIGEST = "sha256:0296f0d1ca5c7e3a23bd0c5a2a3f5c1e4d6b8a9c7e5f3d1b2a4c6e8f0a1b3c5d"
UNKNOWN = UNKNOWN_VALUE
HOSTS = {
    "vps1": "ssh://deploy@203.0.113.10",
    "vps2": "ssh://deploy@203.0.113.11",
    "dr1": "ssh://deploy@198.51.100.20",
    "workstation": "unix:///var/run/docker.sock",
}


def secret(value: Any) -> dict[str, Any]:
    """A value in the wire form of a Pulumi secret."""
    return {SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": value}


def _urn(type_: str, name: str, parent_type: str | None = HOST_COMPONENT) -> str:
    qualified = f"{parent_type}${type_}" if parent_type else type_
    return f"urn:pulumi:{STACK}::{PROJECT}::{qualified}::{name}"


def root() -> RecordedResource:
    return RecordedResource(
        urn=ROOT_URN,
        type="pulumi:pulumi:Stack",
        name=f"{PROJECT}-{STACK}",
        custom=False,
        id=None,
        parent=None,
        provider=None,
        dependencies=(),
        property_dependencies={},
        protect=False,
        retain_on_delete=False,
        inputs={},
    )


def host(host_name: str) -> RecordedResource:
    """The ``ziggie:docker:Host`` component of one host."""
    return RecordedResource(
        urn=_urn(HOST_COMPONENT, host_name, None),
        type=HOST_COMPONENT,
        name=host_name,
        custom=False,
        id=None,
        parent=ROOT_URN,
        provider=None,
        dependencies=(),
        property_dependencies={},
        protect=False,
        retain_on_delete=False,
        inputs={},
    )


def provider(host_name: str, url: Any = None) -> RecordedResource:
    """The explicit docker provider of one host, ``<host>-docker``."""
    return RecordedResource(
        urn=_urn(PROVIDER, f"{host_name}-docker"),
        type=PROVIDER,
        name=f"{host_name}-docker",
        custom=True,
        id=f"{host_name}-provider-id",
        parent=_urn(HOST_COMPONENT, host_name, None),
        provider=None,
        dependencies=(),
        property_dependencies={},
        protect=False,
        retain_on_delete=False,
        inputs={"host": HOSTS.get(host_name, "") if url is None else url},
    )


def provider_ref(host_name: str) -> str:
    return f"{_urn(PROVIDER, f'{host_name}-docker')}::{host_name}-provider-id"


def container(host_name: str, service: str, **inputs: Any) -> RecordedResource:
    """A bounded, checked, pinned container ``<host>-<service>``; ``inputs`` override (None drops)."""
    base: dict[str, Any] = {
        "name": service,
        "image": f"docker.io/library/{service}:1.0.0@{DIGEST}",
        "memory": 512,
        "memoryReservation": 256,
        "cpus": "0.2",
        "cpuShares": 102,
        "healthcheck": {
            "tests": ["CMD-SHELL", "true"],
            "interval": "10s",
            "timeout": "3s",
            "retries": 3,
            "startPeriod": "10s",
        },
        "ulimits": [{"name": "nofile", "soft": 1024, "hard": 2048}],
        "restart": "unless-stopped",
        "logDriver": "json-file",
        "logOpts": {"max-size": "10m", "max-file": "3"},
        "labels": [{"label": "ziggie.service", "value": service}],
        "envs": [f"SERVICE={service}"],
        "networksAdvanced": [{"name": "ziggie-network", "aliases": [service]}],
    }
    base.update(inputs)
    props = {k: v for k, v in base.items() if v is not None}
    return RecordedResource(
        urn=_urn(CONTAINER, f"{host_name}-{service}"),
        type=CONTAINER,
        name=f"{host_name}-{service}",
        custom=True,
        id=None,
        parent=_urn(HOST_COMPONENT, host_name, None),
        provider=provider_ref(host_name),
        dependencies=(_urn(REMOTE_IMAGE, f"{host_name}-{service}-image"),),
        property_dependencies={"image": (_urn(REMOTE_IMAGE, f"{host_name}-{service}-image"),)},
        protect=False,
        retain_on_delete=False,
        inputs=props,
    )


def remote_image(host_name: str, service: str, reference: Any) -> RecordedResource:
    return RecordedResource(
        urn=_urn(REMOTE_IMAGE, f"{host_name}-{service}-image"),
        type=REMOTE_IMAGE,
        name=f"{host_name}-{service}-image",
        custom=True,
        id=None,
        parent=_urn(HOST_COMPONENT, host_name, None),
        provider=provider_ref(host_name),
        dependencies=(),
        property_dependencies={},
        protect=False,
        retain_on_delete=False,
        inputs={"name": reference, "keepLocally": True},
    )


def on_host(host_name: str, *resources: RecordedResource) -> list[RecordedResource]:
    """The records of one host as the program registers them: component, provider, then the rest."""
    return [host(host_name), provider(host_name), *resources]


# The seed's "11 services = 13.8 GB, 3.5 vCPU" table: (service, memory MiB, cpus).
SEED_TABLE: tuple[tuple[str, int, str], ...] = (
    ("ziggie-api", 2048, "1.0"),
    ("mcp-gateway", 1536, "0.8"),
    ("postgres", 3072, "0.8"),
    ("redis", 512, "0.3"),
    ("nginx", 256, "0.2"),
    ("n8n", 1536, "0.5"),
    ("ollama", 4096, "0.8"),
    ("flowise", 512, "0.2"),
    ("mongodb", 1536, "0.3"),
    ("prometheus", 1024, "0.2"),
    ("grafana", 512, "0.1"),
)


def seed_containers(host_name: str) -> list[RecordedResource]:
    """The seed table on one host, reservations at half the limits (as the seed has them)."""
    return [
        container(
            host_name,
            service,
            memory=memory,
            memoryReservation=memory // 2,
            cpus=cpus,
            cpuShares=int(float(cpus) * 1024) // 2,
        )
        for service, memory, cpus in SEED_TABLE
    ]


# --- running a policy ---


def _wire(properties: Mapping[str, Any]) -> dict[str, Any]:
    """Properties as the pack's servicer sees them after the trip through a protobuf Struct."""
    struct = struct_pb2.Struct()
    struct.update(dict(properties))
    result: dict[str, Any] = json_format.MessageToDict(struct)
    return result


def _options(resource: RecordedResource) -> PolicyResourceOptions:
    return PolicyResourceOptions(resource.protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], resource.parent)


def _provider(resource: RecordedResource, by_urn: Mapping[str, RecordedResource]) -> PolicyProviderResource | None:
    found = by_urn.get(resource.provider_urn or "")
    if found is None:
        return None
    props = unknown_checking_proxy(deserialize_properties(_wire(found.inputs)))
    return PolicyProviderResource(found.type, props, found.urn, found.name)


def run_direct(
    policy: Policy, resources: Sequence[RecordedResource], config: Mapping[str, Any], *, remediate: bool = True
) -> list[str]:
    """Call ``policy`` on ``resources`` with SDK-built args: remediation, validation, stack validation.

    ``remediate=False`` leaves out the remediation pass the engine runs before Analyze.
    """
    by_urn = {r.urn: r for r in resources}
    given = _wire(config)
    messages: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        messages.append(message)

    if isinstance(policy, ResourceValidationPolicy):
        for resource in resources:
            if remediate and policy.has_remediation():
                # As the servicer's Remediate: the secret-preserving view of the props.
                secret_props = unknown_checking_proxy(deserialize_properties(_wire(resource.inputs), True))
                policy.remediate(
                    ResourceValidationArgs(
                        resource.type,
                        secret_props,
                        resource.urn,
                        resource.name,
                        _options(resource),
                        _provider(resource, by_urn),
                        given,
                    )
                )
            props = unknown_checking_proxy(deserialize_properties(_wire(resource.inputs)))
            args = ResourceValidationArgs(
                resource.type,
                props,
                resource.urn,
                resource.name,
                _options(resource),
                _provider(resource, by_urn),
                given,
            )
            policy.validate(args, report)
    elif isinstance(policy, StackValidationPolicy):
        stack = [
            PolicyResource(
                r.type,
                unknown_checking_proxy(deserialize_properties(_wire({**r.inputs, **r.outputs}))),
                r.urn,
                r.name,
                _options(r),
                _provider(r, by_urn),
                None,
                [],
                {},
            )
            for r in resources
        ]
        policy.validate(StackValidationArgs(stack, given), report)
    return sorted(messages)


def run_protocol(
    session: PolicyPackSession,
    tmp_path: Path,
    policy_name: str,
    resources: Sequence[RecordedResource],
    config: Mapping[str, Any],
) -> list[str]:
    """Configure the running pack with ``config`` for ``policy_name`` and analyze ``resources``."""
    config_file = tmp_path / "policy-config.json"
    config_file.write_text(json.dumps({policy_name: dict(config)}), encoding="utf-8")
    session.configure(config_file)
    return sorted(v.message for v in session.run(resources) if v.policy == policy_name)


Runner = Callable[[Policy, str, Sequence[RecordedResource], Mapping[str, Any]], list[str]]
