"""prod protects everything that holds data: every resource type in its plan is classified as
stateful or stateless, and every stateful resource is `protect`ed, so `pulumi destroy` or a
refactor that drops it from the program cannot delete it.

The classification is explicit and complete: a new resource type in prod's plan fails
`test_every_type_in_prod_is_classified` until someone decides which side it is on.
"""

from __future__ import annotations

import pytest

from preflight.runner import PlanResult, run_stack

# Types whose deletion loses something a second `pulumi up` cannot bring back.
STATEFUL_TYPES = frozenset(
    {
        # Docker volumes, bound to a host data path or Docker-managed: database files, grafana's
        # users and dashboards, prometheus' TSDB, Alertmanager's silences, promtail's positions.
        "docker:index/volume:Volume",
        # Objects and their versions; the replica is the disaster-recovery copy.
        "aws:s3/bucket:Bucket",
        # Object Lock retention cannot be put back on objects written while it was gone.
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
        # Without its key, everything encrypted under it is unreadable.
        "aws:kms/key:Key",
        # The secret and its replica, with their version history.
        "aws:secretsmanager/secret:Secret",
        # A new zone gets new name servers: the delegation at the registrar would point nowhere.
        "aws:route53/zone:Zone",
        # The CDN's origin objects.
        "gcp:storage/bucket:Bucket",
    }
)

# Types a second `pulumi up` recreates as they were: configuration, compute, wiring, components.
STATELESS_TYPES = frozenset(
    {
        "pulumi:pulumi:Stack",
        "pulumi:providers:docker",
        "pulumi:providers:gcp",
        # Components only group their children.
        "ziggie:aws:AlarmTopic",
        "ziggie:aws:Budget",
        "ziggie:aws:CertbotIdentity",
        "ziggie:aws:DnsFailover",
        "ziggie:aws:ReplicatedBucket",
        "ziggie:aws:ReplicatedSecret",
        "ziggie:docker:Host",
        "ziggie:docker:HostBootstrap",
        "ziggie:gcp:Budget",
        "ziggie:gcp:Cdn",
        "ziggie:gcp:CdnMonitoring",
        "ziggie:gcp:EmailChannels",
        "ziggie:gcp:ProjectApis",
        # Containers keep their data in the volumes above; images are pulled again.
        "docker:index/container:Container",
        "docker:index/network:Network",
        "docker:index/remoteImage:RemoteImage",
        # The host bootstrap is idempotent and reruns on a fresh host.
        "command:remote:Command",
        # Bucket settings the program declares in full.
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketVersioning:BucketVersioning",
        # A version's value comes from the stack's secret config; the secret above keeps the history.
        "aws:secretsmanager/secretVersion:SecretVersion",
        "aws:kms/alias:Alias",
        # IAM: a new access key reaches certbot's container from the program on the next `up`.
        "aws:iam/accessKey:AccessKey",
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/user:User",
        "aws:iam/userPolicy:UserPolicy",
        # DNS records and health checks the program writes from config.
        "aws:route53/healthCheck:HealthCheck",
        "aws:route53/record:Record",
        # Alerting and cost wiring.
        "aws:budgets/budget:Budget",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:costexplorer/costAllocationTag:CostAllocationTag",
        "aws:sns/topic:Topic",
        "aws:sns/topicSubscription:TopicSubscription",
        "gcp:billing/budget:Budget",
        "gcp:monitoring/alertPolicy:AlertPolicy",
        "gcp:monitoring/notificationChannel:NotificationChannel",
        "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig",
        "gcp:projects/service:Service",
        # The CDN's front: a new address gets its new A/AAAA records in the zone from the program.
        "gcp:compute/backendBucket:BackendBucket",
        "gcp:compute/globalAddress:GlobalAddress",
        "gcp:compute/globalForwardingRule:GlobalForwardingRule",
        "gcp:compute/managedSslCertificate:ManagedSslCertificate",
        "gcp:compute/targetHttpProxy:TargetHttpProxy",
        "gcp:compute/targetHttpsProxy:TargetHttpsProxy",
        "gcp:compute/uRLMap:URLMap",
        # The uptime check's health object, whose content the program declares.
        "gcp:storage/bucketIAMMember:BucketIAMMember",
        "gcp:storage/bucketObject:BucketObject",
    }
)


# dr reads prod's outputs through it; it holds nothing of its own.
STACK_REFERENCE = "pulumi:pulumi:StackReference"


@pytest.fixture(scope="module")
def prod() -> PlanResult:
    return run_stack("prod")


def test_classification_is_disjoint() -> None:
    assert not STATEFUL_TYPES & STATELESS_TYPES


def test_every_type_in_prod_is_classified(prod: PlanResult) -> None:
    unclassified = {r.type for r in prod.resources} - STATEFUL_TYPES - STATELESS_TYPES
    assert not unclassified, f"classify as stateful or stateless in {__file__}: {sorted(unclassified)}"


def test_every_stateful_resource_in_prod_is_protected(prod: PlanResult) -> None:
    stateful = [r for r in prod.resources if r.type in STATEFUL_TYPES]
    # Every stateful type is present, so a type that vanished from the plan is noticed here.
    assert {r.type for r in stateful} == STATEFUL_TYPES
    unprotected = [r.urn for r in stateful if not r.protect]
    assert not unprotected, f"{len(unprotected)} of {len(stateful)} stateful resources unprotected: {unprotected}"


def test_prod_protects_only_what_holds_data(prod: PlanResult) -> None:
    # Protecting a stateless resource would make every replacement of it fail.
    protected = [r.urn for r in prod.resources if r.protect and r.type in STATELESS_TYPES]
    assert not protected, protected


def test_dr_protects_its_data_volumes() -> None:
    # On the day of a failover dr holds the live data (postgres, redis, its monitoring).
    plan = run_stack("dr")
    unclassified = {r.type for r in plan.resources} - STATEFUL_TYPES - STATELESS_TYPES - {STACK_REFERENCE}
    assert not unclassified, f"classify as stateful or stateless in {__file__}: {sorted(unclassified)}"
    stateful = [r for r in plan.resources if r.type in STATEFUL_TYPES]
    assert {r.name for r in stateful} >= {"dr1-postgres-data", "dr1-redis-data"}
    unprotected = [r.urn for r in stateful if not r.protect]
    assert not unprotected, unprotected


def test_dev_protects_nothing() -> None:
    # dev is torn down and rebuilt freely.
    protected = [r.urn for r in run_stack("dev").resources if r.protect]
    assert not protected, protected
