"""Pulumi mocks for preflight: realistic ids, and a monitor that records every registration.

`RecordingMonitor` keeps each RegisterResource/ReadResource request whole (type, name, parent,
provider, dependencies, property dependencies, protect, retain-on-delete and the inputs in
wire form, secrets still wrapped), which is what the engine and the policy analyzer see.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import resource_pb2

from preflight.records import RecordedResource

STACK_REFERENCE = "pulumi:pulumi:StackReference"
# The account preflight pretends to deploy into; ARNs carry it like real ones do.
ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "eu-north-1"


def _hex(seed: str, length: int = 64) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _plain(value: Any) -> Any:
    """A protobuf Struct (or one of its values) as plain data, in one pass.

    What `json_format.MessageToDict` makes of it, except that a Struct carries every number as
    a double and whole numbers come back as int. Reading the Struct's own mapping and sequence
    views (C code) rather than going through MessageToDict's per-field reflection is what makes
    recording every registration cheap.
    """
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, struct_pb2.Struct):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, struct_pb2.ListValue):
        return [_plain(v) for v in value]
    return value


class PreflightMocks(Mocks):
    """Answers each resource with an id shaped like the real provider's."""

    def __init__(self, stack_outputs: Callable[[str], Mapping[str, Any]]) -> None:
        self._stack_outputs = stack_outputs

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        state = dict(args.inputs)
        if args.typ == STACK_REFERENCE:
            name = args.resource_id or args.inputs.get("name", args.name)
            outputs = dict(self._stack_outputs(name))
            return name, {"name": name, "outputs": outputs, "secretOutputNames": []}
        if args.typ == "docker:index/remoteImage:RemoteImage":
            digest = _hex(args.name)
            state.update(imageId=f"sha256:{digest}", repoDigest=f"{args.inputs.get('name')}@sha256:{digest}")
            return f"sha256:{digest}{args.inputs.get('name')}", state
        if args.typ == "docker:index/volume:Volume":
            return str(args.inputs.get("name", args.name)), state
        if args.typ.startswith("pulumi:providers:"):
            return _hex(args.name, 32), state
        if args.typ.startswith("aws:"):
            return _aws_resource(args.typ, args.name, state)
        if args.typ.startswith("gcp:"):
            return _gcp_resource(args.typ, args.name, state)
        return _hex(f"{args.typ}:{args.name}"), state

    def call(self, args: MockCallArgs) -> dict[Any, Any]:  # type: ignore[override]
        if args.token == "aws:secretsmanager/getSecretVersion:getSecretVersion":
            secret_id = str(args.args.get("secretId"))
            # A stand-in value: the program must treat it as the secret it would be.
            return {
                "arn": secret_id,
                "secretId": secret_id,
                "secretString": f"preflight-secret-from-{secret_id.rsplit(':', 1)[-1]}",
                "versionId": _hex(secret_id, 32),
                "versionStages": ["AWSCURRENT"],
                "region": args.args.get("region", DEFAULT_REGION),
            }
        if args.token == "docker:index/getRegistryImage:getRegistryImage":
            # The registry's current digest of a tag; a real preview asks the registry.
            name = str(args.args.get("name"))
            return {"id": name, "name": name, "sha256Digest": f"sha256:{_hex(f'registry:{name}')}"}
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/preflight",
                "userId": "AIDAPREFLIGHT",
                "id": ACCOUNT_ID,
            }
        if args.token == "gcp:organizations/getProject:getProject":
            project = str(args.args.get("projectId") or GCP_PROJECT)
            return {
                "projectId": project,
                "name": project,
                "number": _project_number(project),
                "id": f"projects/{project}",
                "labels": {},
            }
        raise NotImplementedError(f"preflight has no answer for the function {args.token}")


GCP_PROJECT = "preflight-project"
COMPUTE_API = "https://www.googleapis.com/compute/v1"


def _project_number(project: str) -> str:
    """A 12-digit project number, stable per project id, as GCP numbers projects."""
    return str(int(_hex(project, 12), 16) % 900_000_000_000 + 100_000_000_000)


def _gcp_resource(typ: str, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Ids, self links and addresses shaped like GCP's own for the resources the program uses."""
    project = str(state.get("project") or GCP_PROJECT)
    resource_name = str(state.get("name") or name)
    seed = int(_hex(f"{typ}:{name}", 8), 16)
    global_kinds = {
        "gcp:compute/globalAddress:GlobalAddress": "addresses",
        "gcp:compute/backendBucket:BackendBucket": "backendBuckets",
        "gcp:compute/managedSslCertificate:ManagedSslCertificate": "sslCertificates",
        "gcp:compute/uRLMap:URLMap": "urlMaps",
        "gcp:compute/targetHttpsProxy:TargetHttpsProxy": "targetHttpsProxies",
        "gcp:compute/targetHttpProxy:TargetHttpProxy": "targetHttpProxies",
        "gcp:compute/globalForwardingRule:GlobalForwardingRule": "forwardingRules",
    }
    if typ in global_kinds:
        path = f"projects/{project}/global/{global_kinds[typ]}/{resource_name}"
        state.update(name=resource_name, project=project, selfLink=f"{COMPUTE_API}/{path}")
        if typ == "gcp:compute/globalAddress:GlobalAddress":
            # Documentation ranges (RFC 5737, RFC 3849) in place of Google's anycast addresses.
            ipv6 = state.get("ipVersion") == "IPV6"
            state["address"] = f"2001:db8::{seed % 0xFFFF:x}" if ipv6 else f"198.51.100.{seed % 254 + 1}"
        if typ == "gcp:compute/managedSslCertificate:ManagedSslCertificate":
            state.update(certificateId=seed, subjectAlternativeNames=state.get("managed", {}).get("domains", []))
        return path, state
    if typ == "gcp:storage/bucket:Bucket":
        state.update(name=resource_name, project=project, url=f"gs://{resource_name}")
        state["selfLink"] = f"https://www.googleapis.com/storage/v1/b/{resource_name}"
        return resource_name, state
    if typ == "gcp:storage/bucketIAMMember:BucketIAMMember":
        return f"b/{state['bucket']}/{state['role']}/{state['member']}", state
    if typ == "gcp:storage/bucketObject:BucketObject":
        state.update(mediaLink=f"https://storage.googleapis.com/{state['bucket']}/{resource_name}")
        return f"{state['bucket']}-{resource_name}", state
    if typ == "gcp:monitoring/notificationChannel:NotificationChannel":
        channel = f"projects/{project}/notificationChannels/{seed}"
        state.update(name=channel, project=project)
        return channel, state
    if typ == "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig":
        check_id = f"cdn-{_hex(name, 12)}"
        state.update(uptimeCheckId=check_id, name=f"projects/{project}/uptimeCheckConfigs/{check_id}", project=project)
        return state["name"], state
    if typ == "gcp:monitoring/alertPolicy:AlertPolicy":
        policy = f"projects/{project}/alertPolicies/{seed}"
        state.update(name=policy, project=project)
        return policy, state
    if typ == "gcp:billing/budget:Budget":
        budget = f"billingAccounts/{state['billingAccount']}/budgets/{_uuid(name)}"
        state.update(name=budget)
        return budget, state
    return _hex(f"{typ}:{name}", 20), state


def _uuid(seed: str) -> str:
    h = _hex(seed, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# S3 settings resources are addressed by their bucket: AWS (and the provider) use its name as their id.
_S3_BUCKET_SETTINGS = frozenset(
    {
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
    }
)


def _aws_resource(typ: str, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Ids and ARNs shaped like AWS's own, per region, for the resources the program uses."""
    region = str(state.get("region") or DEFAULT_REGION)
    if typ.startswith(("aws:iam/", "aws:route53/", "aws:budgets/", "aws:costexplorer/")):
        return _aws_global_resource(typ, name, state)
    state.setdefault("region", region)
    if typ in _S3_BUCKET_SETTINGS:
        return str(state["bucket"]), state
    if typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
        alarm = str(state.get("name") or name)
        state.update(name=alarm, arn=f"arn:aws:cloudwatch:{region}:{ACCOUNT_ID}:alarm:{alarm}")
        return alarm, state
    if typ == "aws:secretsmanager/secretVersion:SecretVersion":
        version = _uuid(f"{typ}:{name}")
        secret_arn = str(state["secretId"])
        state.update(arn=secret_arn, versionId=version)
        return f"{secret_arn}|{version}", state
    if typ == "aws:s3/bucket:Bucket":
        bucket = str(state.get("bucket") or f"{name}-{_hex(name, 7)}")
        state.update(bucket=bucket, arn=f"arn:aws:s3:::{bucket}", bucketDomainName=f"{bucket}.s3.amazonaws.com")
        return bucket, state
    if typ == "aws:kms/key:Key":
        key_id = _uuid(f"{typ}:{name}")
        state.update(keyId=key_id, arn=f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{key_id}")
        return key_id, state
    if typ == "aws:kms/alias:Alias":
        alias = str(state.get("name") or f"alias/{name}")
        state.update(name=alias, arn=f"arn:aws:kms:{region}:{ACCOUNT_ID}:{alias}")
        return alias, state
    if typ == "aws:secretsmanager/secret:Secret":
        secret = str(state.get("name") or name)
        arn = f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:{secret}-{_hex(secret, 6)}"
        # As DescribeSecret reports a replica that took: InSync, no message.
        replicas = [
            {**r, "status": "InSync", "statusMessage": "Replication succeeded"}
            for r in state.get("replicas") or []
            if isinstance(r, dict)
        ]
        state.update(name=secret, arn=arn, replicas=replicas)
        return arn, state
    if typ == "aws:sns/topic:Topic":
        topic = str(state.get("name") or f"{name}-{_hex(name, 7)}")
        arn = f"arn:aws:sns:{region}:{ACCOUNT_ID}:{topic}"
        state.update(name=topic, arn=arn)
        return arn, state
    if typ == "aws:sns/topicSubscription:TopicSubscription":
        # An email subscription's ARN reads "pending confirmation" until its recipient confirms.
        arn = f"{state.get('topic')}:{_uuid(f'{typ}:{name}')}"
        state.update(arn=arn, pendingConfirmation=state.get("protocol") == "email")
        return arn, state
    resource_id = _hex(f"{typ}:{name}", 20)
    service = typ.split(":")[1].split("/")[0]
    state.setdefault("arn", f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{name}")
    return resource_id, state


def _aws_global_resource(typ: str, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """IAM, Route 53, Budgets and Cost Explorer: global services, so no region in their ids, ARNs or state."""
    if typ == "aws:iam/rolePolicy:RolePolicy":
        policy_name = str(state.get("name") or f"{name}-policy")
        state.update(name=policy_name)
        return f"{state['role']}:{policy_name}", state
    if typ == "aws:iam/role:Role":
        role = str(state.get("name") or f"{name}-{_hex(name, 7)}")
        state.update(name=role, arn=f"arn:aws:iam::{ACCOUNT_ID}:role/{role}", uniqueId="AROA" + _hex(name, 16).upper())
        return role, state
    if typ == "aws:route53/zone:Zone":
        zone_id = "Z" + _hex(name, 20).upper()
        state.update(zoneId=zone_id, nameServers=[f"ns-{i}.awsdns-{i:02d}.org" for i in range(1, 5)])
        return zone_id, state
    if typ == "aws:route53/healthCheck:HealthCheck":
        check_id = _uuid(f"{typ}:{name}")
        state.update(arn=f"arn:aws:route53:::healthcheck/{check_id}")
        return check_id, state
    if typ == "aws:route53/record:Record":
        record_id = "_".join(str(state.get(k, "")) for k in ("zoneId", "name", "type", "setIdentifier"))
        state.update(fqdn=state.get("name"))
        return record_id, state
    if typ == "aws:budgets/budget:Budget":
        budget = str(state.get("name") or name)
        state.update(name=budget, arn=f"arn:aws:budgets::{ACCOUNT_ID}:budget/{budget}", accountId=ACCOUNT_ID)
        return f"{ACCOUNT_ID}:{budget}", state
    if typ == "aws:costexplorer/costAllocationTag:CostAllocationTag":
        state.update(type="UserDefined")
        return str(state["tagKey"]), state
    return _hex(f"{typ}:{name}", 20), state


class RecordingMonitor(MockMonitor):
    """A MockMonitor that keeps every resource registration whole."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.records: list[RecordedResource] = []
        self.invokes: list[tuple[str, dict[str, Any]]] = []
        """Every function the program called (a data source read), as (token, arguments)."""

    def _record(self, request: Any, urn: str, id_: str | None, custom: bool, outputs: Any) -> None:
        property_dependencies = {
            key: tuple(sorted(deps.urns)) for key, deps in sorted(getattr(request, "propertyDependencies", {}).items())
        }
        self.records.append(
            RecordedResource(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=custom,
                id=id_ or None,
                parent=request.parent or None,
                provider=request.provider or None,
                # The SDK sends dependencies in set order; they are a set, so keep them sorted.
                dependencies=tuple(sorted(getattr(request, "dependencies", ()))),
                property_dependencies=property_dependencies,
                protect=bool(getattr(request, "protect", False)),
                retain_on_delete=bool(getattr(request, "retainOnDelete", False)),
                ignore_changes=tuple(getattr(request, "ignoreChanges", ())),
                additional_secret_outputs=tuple(getattr(request, "additionalSecretOutputs", ())),
                inputs=_plain(request.object if hasattr(request, "object") else request.properties),
                outputs=_plain(outputs) if outputs is not None else {},
            )
        )

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        has_object = request.type != "pulumi:pulumi:Stack"
        self._record(request, response.urn, response.id, bool(request.custom), response.object if has_object else None)
        return response

    def GetDeploymentInfo(self, request: Any) -> Any:
        """Also gate invokes on their dependencies, as the Pulumi engine does."""
        info = super().GetDeploymentInfo(request)  # type: ignore[no-untyped-call]
        info.supportedFeatures.append(resource_pb2.RESOURCE_MONITOR_FEATURE_INVOKE_DEPENDS_ON)
        return info

    def Invoke(self, request: Any) -> Any:
        self.invokes.append((request.tok, _plain(request.args)))
        # In a preview the engine answers an invoke only once what it depends on exists: a
        # resource that is only planned for creation makes the result unknown, while a read
        # resource (a StackReference) is there already.
        read = {r.urn for r in self.records if r.id is not None and r.type == STACK_REFERENCE}
        if any(urn not in read for urn in getattr(request, "dependsOn", ())):
            return resource_pb2.ResourceInvokeResponse(unknown=True)
        return super().Invoke(request)  # type: ignore[no-untyped-call]

    def ReadResource(self, request: Any) -> Any:
        response = super().ReadResource(request)  # type: ignore[no-untyped-call]
        self._record(request, response.urn, request.id, True, response.properties)
        return response
