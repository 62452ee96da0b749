"""Hand-built resources in the program's wire shape, and the two ways tests run a policy on them.

``run_direct`` builds the SDK's own ``ResourceValidationArgs``/``StackValidationArgs`` the way
its gRPC servicer does (props through a protobuf Struct, ``deserialize_properties`` and the
unknown-checking proxy), then calls the policy; ``run_protocol`` sends the same records to the
running pack through ``preflight.analyzer``. Both return the messages of one policy.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from google.protobuf import json_format, struct_pb2  # type: ignore[import-untyped]
from pulumi.runtime.proto import analyzer_pb2
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

from preflight.analyzer import PolicyConfigError as ReaderConfigError
from preflight.analyzer import PolicyPackSession, load_policy_config
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
    )


def host(host_name: str) -> RecordedResource:
    """The ``ziggie:docker:Host`` component of one host."""
    return RecordedResource(
        urn=_urn(HOST_COMPONENT, host_name, None),
        type=HOST_COMPONENT,
        name=host_name,
        custom=False,
        parent=ROOT_URN,
    )


def provider(host_name: str, url: Any = None) -> RecordedResource:
    """The explicit docker provider of one host, ``<host>-docker``."""
    return RecordedResource(
        urn=_urn(PROVIDER, f"{host_name}-docker"),
        type=PROVIDER,
        name=f"{host_name}-docker",
        id=f"{host_name}-provider-id",
        parent=_urn(HOST_COMPONENT, host_name, None),
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
    # No swap beyond the memory limit unless a case says otherwise, as the program sends it.
    if "memorySwap" not in inputs:
        base["memorySwap"] = base["memory"]
    props = {k: v for k, v in base.items() if v is not None}
    return RecordedResource(
        urn=_urn(CONTAINER, f"{host_name}-{service}"),
        type=CONTAINER,
        name=f"{host_name}-{service}",
        parent=_urn(HOST_COMPONENT, host_name, None),
        provider=provider_ref(host_name),
        dependencies=(_urn(REMOTE_IMAGE, f"{host_name}-{service}-image"),),
        property_dependencies={"image": (_urn(REMOTE_IMAGE, f"{host_name}-{service}-image"),)},
        inputs=props,
    )


def remote_image(host_name: str, service: str, reference: Any) -> RecordedResource:
    return RecordedResource(
        urn=_urn(REMOTE_IMAGE, f"{host_name}-{service}-image"),
        type=REMOTE_IMAGE,
        name=f"{host_name}-{service}-image",
        parent=_urn(HOST_COMPONENT, host_name, None),
        provider=provider_ref(host_name),
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


# --- AWS (pulumi-aws v7: every resource carries its own region) ---

AWS_COMPONENT = "ziggie:aws:DisasterRecovery"
BUCKET = "aws:s3/bucket:Bucket"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
SM_SECRET = "aws:secretsmanager/secret:Secret"
RECORD = "aws:route53/record:Record"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
PRIMARY_REGION = "eu-north-1"
DR_REGION = "eu-west-1"
ACCOUNT_ID = "123456789012"
REPLICATION_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/ziggie-prod-replication"
REPLICA_KEY_ARN = f"arn:aws:kms:{DR_REGION}:{ACCOUNT_ID}:key/3f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
HEALTH_CHECK_ID = "0b5f2c3e-7c1d-4f5e-9a1b-2c3d4e5f6a7b"
ZONE_ID = "Z0123456789ABCDEFGHIJ"


def _owned(
    component: str,
    owner: str,
    type_: str,
    name: str,
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Any] | None,
    property_dependencies: Mapping[str, Sequence[str]] | None,
) -> RecordedResource:
    """A resource under a component, on the default provider; deps from its property deps."""
    pdeps = {key: tuple(urns) for key, urns in (property_dependencies or {}).items()}
    return RecordedResource(
        urn=_urn(type_, name, component),
        type=type_,
        name=name,
        parent=_urn(component, owner, None),
        dependencies=tuple(dict.fromkeys(u for urns in pdeps.values() for u in urns)),
        property_dependencies=pdeps,
        inputs={k: v for k, v in inputs.items() if v is not None},
        outputs=dict(outputs or {}),
    )


def aws(
    type_: str,
    name: str,
    inputs: Mapping[str, Any],
    *,
    outputs: Mapping[str, Any] | None = None,
    property_dependencies: Mapping[str, Sequence[str]] | None = None,
) -> RecordedResource:
    """An AWS resource under the DR component."""
    return _owned(AWS_COMPONENT, "dr", type_, name, inputs, outputs, property_dependencies)


def bucket(name: str, region: Any = PRIMARY_REGION, *, resource_name: str | None = None) -> RecordedResource:
    """An ``aws.s3.Bucket`` with an explicit name, recorded with the outputs preflight's mocks give it."""
    return aws(
        BUCKET,
        resource_name or name,
        {"bucket": name, "region": region, "forceDestroy": False, "tags": {"stack": STACK}},
        outputs={"arn": f"arn:aws:s3:::{name}", "bucketDomainName": f"{name}.s3.amazonaws.com"},
    )


def _bucket_input(target: RecordedResource, known: bool) -> Any:
    return target.inputs["bucket"] if known else UNKNOWN


def versioning(target: RecordedResource, status: Any = "Enabled", *, known: bool = True) -> RecordedResource:
    """``<bucket>-versioning``; ``known=False`` sends the bucket name unknown, as a generated name is."""
    return aws(
        VERSIONING,
        f"{target.name}-versioning",
        {
            "bucket": _bucket_input(target, known),
            "region": target.inputs.get("region"),
            "versioningConfiguration": {"status": status},
        },
        property_dependencies={"bucket": [target.urn]},
    )


def encryption(target: RecordedResource, algorithm: Any = "aws:kms", *, known: bool = True) -> RecordedResource:
    rule: dict[str, Any] = {"bucketKeyEnabled": True}
    if algorithm is not None:
        rule["applyServerSideEncryptionByDefault"] = {"sseAlgorithm": algorithm}
    return aws(
        ENCRYPTION,
        f"{target.name}-encryption",
        {"bucket": _bucket_input(target, known), "region": target.inputs.get("region"), "rules": [rule]},
        property_dependencies={"bucket": [target.urn]},
    )


def public_access_block(target: RecordedResource, *, known: bool = True, **flags: Any) -> RecordedResource:
    """All four flags true unless ``flags`` override them (None drops one)."""
    inputs: dict[str, Any] = {
        "bucket": _bucket_input(target, known),
        "region": target.inputs.get("region"),
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }
    inputs.update(flags)
    return aws(
        PUBLIC_ACCESS_BLOCK,
        f"{target.name}-public-access",
        inputs,
        property_dependencies={"bucket": [target.urn]},
    )


def protected(target: RecordedResource) -> list[RecordedResource]:
    """A bucket with its versioning, encryption and public access block, as the program declares them."""
    return [target, versioning(target), encryption(target), public_access_block(target)]


def replication_rule(
    destination: Any,
    *,
    rule_id: str | None = "to-dr",
    status: Any = "Enabled",
    rtc: Any = "Enabled",
    minutes: Any = 15,
    metrics: Any = "Enabled",
    delete_markers: Any = "Enabled",
    sse_kms: Any = "Enabled",
    replica_key: Any = REPLICA_KEY_ARN,
) -> dict[str, Any]:
    """A rule to ``destination`` (a bucket record, an ARN or UNKNOWN); a None setting drops its block."""
    arn = f"arn:aws:s3:::{destination.inputs['bucket']}" if isinstance(destination, RecordedResource) else destination
    target: dict[str, Any] = {"bucket": arn, "storageClass": "STANDARD"}
    if rtc is not None:
        target["replicationTime"] = {"status": rtc, "time": {"minutes": minutes}}
    if metrics is not None:
        target["metrics"] = {"status": metrics, "eventThreshold": {"minutes": 15}}
    if replica_key is not None:
        target["encryptionConfiguration"] = {"replicaKmsKeyId": replica_key}
    rule: dict[str, Any] = {"id": rule_id, "status": status, "filter": {}, "destination": target}
    if sse_kms is not None:
        rule["sourceSelectionCriteria"] = {"sseKmsEncryptedObjects": {"status": sse_kms}}
    if delete_markers is not None:
        rule["deleteMarkerReplication"] = {"status": delete_markers}
    return {k: v for k, v in rule.items() if v is not None}


def replication(
    source: RecordedResource,
    rules: Any,
    *,
    destinations: Sequence[RecordedResource] = (),
    known: bool = True,
) -> RecordedResource:
    """``<source>-replication``; ``destinations`` are the buckets its rules were computed from."""
    return aws(
        REPLICATION,
        f"{source.name}-replication",
        {
            "bucket": _bucket_input(source, known),
            "region": source.inputs.get("region"),
            "role": REPLICATION_ROLE_ARN,
            "rules": rules,
        },
        property_dependencies={"bucket": [source.urn], "rules": [d.urn for d in destinations]},
    )


def replicated_pair(source_name: str, replica_name: str, **rule: Any) -> list[RecordedResource]:
    """A protected bucket in the primary region replicating to a protected one in the DR region."""
    source, replica = bucket(source_name), bucket(replica_name, DR_REGION)
    return [
        *protected(source),
        *protected(replica),
        replication(source, [replication_rule(replica, **rule)], destinations=[replica]),
    ]


def sm_secret(name: str, region: Any = PRIMARY_REGION, replicas: Any = (DR_REGION,)) -> RecordedResource:
    """An ``aws.secretsmanager.Secret``; ``replicas`` are regions (or a whole value, e.g. UNKNOWN)."""
    given = [{"region": r} for r in replicas] if isinstance(replicas, (tuple, list)) else replicas
    return aws(
        SM_SECRET,
        name.replace("/", "-"),
        {"name": name, "region": region, "replicas": given, "recoveryWindowInDays": 7},
    )


def health_check(name: str = "primary", **inputs: Any) -> RecordedResource:
    """A Route 53 HTTPS health check probing vps1's IP with the record's name for SNI."""
    values: dict[str, Any] = {
        "type": "HTTPS",
        "ipAddress": "203.0.113.10",
        "fqdn": "api.ziggie.example",
        "enableSni": True,
        "port": 443,
        "resourcePath": "/health",
        "requestInterval": 30,
        "failureThreshold": 3,
    }
    values.update(inputs)
    return aws(HEALTH_CHECK, f"{name}-health", values)


def address_record(name: str, ip: Any, record_type: str = "A") -> RecordedResource:
    """A simple A/AAAA record of the zone."""
    return aws(
        RECORD,
        f"{name.split('.')[0]}-{record_type.lower()}",
        {"zoneId": ZONE_ID, "name": name, "type": record_type, "ttl": 60, "records": [ip]},
    )


def failover_record(
    set_identifier: str,
    role: Any,
    health_check_id: Any = HEALTH_CHECK_ID,
    *,
    name: Any = "api.ziggie.example",
    record_type: str = "A",
    records: Any = ("203.0.113.10",),
    check: RecordedResource | None = None,
) -> RecordedResource:
    """A Route 53 failover record (global: the v7 Record has no region input); with ``check``, its
    healthCheckId was computed from that health check."""
    return aws(
        RECORD,
        f"{set_identifier}-record",
        {
            "zoneId": ZONE_ID,
            "name": name,
            "type": record_type,
            "ttl": 60,
            "records": list(records),
            "setIdentifier": set_identifier,
            "failoverRoutingPolicies": [{"type": role}],
            "healthCheckId": health_check_id,
        },
        property_dependencies={"healthCheckId": [check.urn]} if check is not None else None,
    )


# --- GCP (pulumi-gcp: the CDN chain and budgets) ---

GCP_COMPONENT = "ziggie:gcp:Cdn"


def gcp(
    type_: str,
    name: str,
    inputs: Mapping[str, Any],
    *,
    outputs: Mapping[str, Any] | None = None,
    property_dependencies: Mapping[str, Sequence[str]] | None = None,
) -> RecordedResource:
    """A GCP resource under the CDN component."""
    return _owned(GCP_COMPONENT, "cdn", type_, name, inputs, outputs, property_dependencies)


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
    return sorted(message for message, _ in run_direct_located(policy, resources, config, remediate=remediate))


def run_direct_located(
    policy: Policy, resources: Sequence[RecordedResource], config: Mapping[str, Any], *, remediate: bool = True
) -> list[tuple[str, str | None]]:
    """As ``run_direct``, each message with the URN it is reported against (None: the stack or
    the resource validated), sorted."""
    by_urn = {r.urn: r for r in resources}
    given = _wire(config)
    messages: list[tuple[str, str | None]] = []

    def report(message: str, urn: str | None = None) -> None:
        messages.append((message, urn))

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
        # As the servicer's AnalyzeStack: parent and dependencies become the resources themselves,
        # and a URN outside the stack is dropped.
        built = {r.urn: r for r in stack}
        for record, resource in zip(resources, stack, strict=True):
            resource.parent = built.get(record.parent or "")
            resource.dependencies = [built[u] for u in record.dependencies if u in built]
            resource.property_dependencies = {
                key: [built[u] for u in urns if u in built]
                for key, urns in record.property_dependencies.items()
                if urns
            }
        policy.validate(StackValidationArgs(stack, given), report)
    return sorted(messages, key=lambda pair: (pair[0], pair[1] or ""))


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


def configure_leniently(session: PolicyPackSession, policy_name: str, properties: Mapping[str, Any]) -> None:
    """Send Configure as the Pulumi CLI would: it checks only declared properties, so a misspelt
    top-level key reaches the pack (preflight's own reader refuses it before that)."""
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    request.policyConfig[policy_name].enforcementLevel = analyzer_pb2.MANDATORY
    request.policyConfig[policy_name].properties.update(dict(properties))
    session._call("Configure", request)


def reader_errors(session: PolicyPackSession, tmp_path: Path, document: Mapping[str, Any]) -> tuple[str, ...]:
    """What preflight's config reader says about ``document``, each line without the file name."""
    path = tmp_path / "policy-config.json"
    path.write_text(json.dumps(dict(document)), encoding="utf-8")
    try:
        load_policy_config(path, session.info.policies)
    except ReaderConfigError as error:
        return tuple(e.removeprefix(f"{path}: ") for e in error.errors)
    return ()


Runner = Callable[[Policy, str, Sequence[RecordedResource], Mapping[str, Any]], list[str]]


class _UnreadProps(Mapping[str, Any]):
    """Props of which reading any (a key, the keys, how many) fails the test."""

    def __init__(self, resource_type: str) -> None:
        self._resource_type = resource_type

    def _read(self) -> AssertionError:
        return AssertionError(f"{self._resource_type}'s props were read")

    def __getitem__(self, key: str) -> Any:
        raise self._read()

    def __iter__(self) -> Iterator[str]:
        raise self._read()

    def __len__(self) -> int:
        raise self._read()


class _Unread(PolicyResource):
    """A stack resource whose props must not be read: reading any of them fails the test.

    Reaching the props is not reading them: the pack's view converts each prop when it is read.
    """

    @property  # type: ignore[override]
    def props(self) -> Any:
        return _UnreadProps(self.resource_type)

    @props.setter
    def props(self, value: Any) -> None:
        pass


def unread(resource_type: str, urn: str, provider: PolicyProviderResource | None = None) -> PolicyResource:
    """A stack resource of `resource_type` whose props fail the test if a policy reads them.

    The pack converts each of a stack resource's props when it is first read
    (ziggie_policies/_shared_views.py); a stack policy reads only the props it needs.
    """
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    return _Unread(resource_type, {}, urn, urn.rsplit(":", 1)[-1], options, provider, None, [], {})
