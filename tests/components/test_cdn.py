"""CdnSite and CdnMonitoring under Pulumi mocks: the private bucket, the Cloud CDN policy, the
HTTPS chain and the HTTP redirect, the records in the zone, and what watches them."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp
import pytest
from aws_mocks import install, run

from components.cdn import LOAD_BALANCING_SCHEME, CdnArgs, CdnSite, cdn_fill_member
from components.cdn_monitoring import CdnMonitoring, CdnMonitoringArgs
from components.gcp_channels import EmailChannels, EmailChannelsArgs
from config.models import Cdn
from preflight.mocks import RecordingMonitor, _project_number
from preflight.records import RecordedResource

PROJECT = "ziggie-prod-placeholder"
ZONE_ID = "Z0123456789ABCDEFGHIJ"
NUMBER = _project_number(PROJECT)


@pytest.fixture(autouse=True)
def mocks() -> RecordingMonitor:
    return install()


def build(mocks: RecordingMonitor, **settings: Any) -> dict[str, RecordedResource]:
    cdn = Cdn.model_validate({"domain": "cdn.ziggie.example", **settings})

    def program() -> None:
        provider = gcp.Provider("gcp", project=PROJECT)
        number = gcp.organizations.get_project_output(
            project_id=PROJECT, opts=pulumi.InvokeOutputOptions(provider=provider)
        ).number
        channels = EmailChannels(
            "alert-channels",
            EmailChannelsArgs(project=PROJECT, emails=["ops@ziggie.example", "cto@ziggie.example"], provider=provider),
        )
        site = CdnSite(
            "cdn",
            CdnArgs(
                bucket_name="ziggie-prod-cdn",
                project=PROJECT,
                project_number=number,
                settings=cdn,
                zone_id=ZONE_ID,
                provider=provider,
                protect=True,
                labels={"stack": "prod"},
            ),
        )
        CdnMonitoring(
            "cdn-monitoring",
            CdnMonitoringArgs(
                project=PROJECT,
                domain=cdn.domain,
                path="/" + cdn.health_object,
                https_rule_names=site.https_rule_names,
                channel_ids=channels.ids,
                provider=provider,
            ),
        )

    return run(mocks, program)


@pytest.fixture
def site(mocks: RecordingMonitor) -> dict[str, RecordedResource]:
    return build(mocks, bucket={"cors": [{"origins": ["https://app.ziggie.example"]}]})


def test_every_part_of_the_chain_is_registered_once_on_the_explicit_provider(
    site: dict[str, RecordedResource],
) -> None:
    kinds = sorted(r.type for r in site.values() if r.parent and r.parent.endswith("ziggie:gcp:Cdn::cdn"))
    assert kinds == sorted(
        [
            "gcp:storage/bucket:Bucket",
            "gcp:storage/bucketIAMMember:BucketIAMMember",
            "gcp:storage/bucketObject:BucketObject",
            "gcp:compute/backendBucket:BackendBucket",
            "gcp:compute/globalAddress:GlobalAddress",
            "gcp:compute/globalAddress:GlobalAddress",
            "gcp:compute/managedSslCertificate:ManagedSslCertificate",
            "gcp:compute/uRLMap:URLMap",
            "gcp:compute/uRLMap:URLMap",
            "gcp:compute/targetHttpsProxy:TargetHttpsProxy",
            "gcp:compute/targetHttpProxy:TargetHttpProxy",
            "gcp:compute/globalForwardingRule:GlobalForwardingRule",
            "gcp:compute/globalForwardingRule:GlobalForwardingRule",
            "gcp:compute/globalForwardingRule:GlobalForwardingRule",
            "gcp:compute/globalForwardingRule:GlobalForwardingRule",
            "aws:route53/record:Record",
            "aws:route53/record:Record",
        ]
    )
    for record in site.values():
        if record.type.startswith("gcp:") and record.custom:
            assert record.provider_urn is not None and record.provider_urn.endswith("pulumi:providers:gcp::gcp"), (
                record.urn
            )


def test_bucket_is_private_versioned_with_lifecycle_and_cors(site: dict[str, RecordedResource]) -> None:
    bucket = site["cdn-bucket"]
    assert bucket.protect, bucket.urn
    inputs = bucket.inputs
    assert (inputs["uniformBucketLevelAccess"], inputs["publicAccessPrevention"]) == (True, "enforced"), bucket.urn
    assert inputs["versioning"] == {"enabled": True}, bucket.urn
    assert inputs["lifecycleRules"] == [
        {"action": {"type": "Delete"}, "condition": {"daysSinceNoncurrentTime": 30, "withState": "ARCHIVED"}}
    ], bucket.urn
    assert inputs["cors"] == [
        {
            "origins": ["https://app.ziggie.example"],
            "methods": ["GET", "HEAD"],
            "responseHeaders": ["Content-Type"],
            "maxAgeSeconds": 3600,
        }
    ], bucket.urn


def test_only_the_cloud_cdn_fill_account_reads_the_bucket_after_cdn_is_on(site: dict[str, RecordedResource]) -> None:
    grants = [r for r in site.values() if "IAM" in r.type]
    assert [(g.inputs["role"], g.inputs["member"]) for g in grants] == [
        ("roles/storage.objectViewer", f"serviceAccount:service-{NUMBER}@cloud-cdn-fill.iam.gserviceaccount.com")
    ]
    assert cdn_fill_member("123") == "serviceAccount:service-123@cloud-cdn-fill.iam.gserviceaccount.com"
    assert site["cdn-backend"].urn in grants[0].dependencies, grants[0].urn
    assert not any("allUsers" in str(r.inputs) for r in site.values())


def test_backend_bucket_caches_as_the_seed_says(site: dict[str, RecordedResource]) -> None:
    backend = site["cdn-backend"]
    assert backend.inputs["enableCdn"] is True, backend.urn
    assert backend.inputs["compressionMode"] == "AUTOMATIC", backend.urn
    assert backend.inputs["bucketName"] == "ziggie-prod-cdn", backend.urn
    assert backend.inputs["cdnPolicy"] == {
        "cacheMode": "CACHE_ALL_STATIC",
        "defaultTtl": 86400,
        "maxTtl": 2592000,
        "clientTtl": 3600,
        "negativeCaching": True,
        "negativeCachingPolicies": [{"code": 404, "ttl": 120}, {"code": 410, "ttl": 1800}],
        "serveWhileStale": 86400,
        "requestCoalescing": True,
    }, backend.urn
    assert site["cdn-bucket"].urn in backend.dependencies, backend.urn


def test_https_chain_serves_the_backend_with_the_managed_certificate(site: dict[str, RecordedResource]) -> None:
    cert = site["cdn-certificate"]
    assert cert.inputs["managed"] == {"domains": ["cdn.ziggie.example"]}, cert.urn
    # Auto-named, so a new domain can create its certificate before the old one goes.
    assert "name" not in cert.inputs, cert.urn
    url_map = site["cdn-url-map"]
    assert url_map.inputs["defaultService"] == site["cdn-backend"].outputs["selfLink"], url_map.urn
    proxy = site["cdn-https-proxy"]
    assert proxy.inputs["urlMap"] == url_map.outputs["selfLink"], proxy.urn
    assert proxy.inputs["sslCertificates"] == [cert.outputs["selfLink"]], proxy.urn
    for family in ("ipv4", "ipv6"):
        rule = site[f"cdn-https-{family}"]
        assert {k: rule.inputs[k] for k in ("portRange", "target", "loadBalancingScheme", "ipAddress")} == {
            "portRange": "443",
            "target": proxy.outputs["selfLink"],
            "loadBalancingScheme": "EXTERNAL_MANAGED",
            "ipAddress": site[f"cdn-{family}"].outputs["address"],
        }, rule.urn
    assert LOAD_BALANCING_SCHEME == "EXTERNAL_MANAGED"


def test_port_80_only_redirects_to_https(site: dict[str, RecordedResource]) -> None:
    redirect = site["cdn-redirect-map"]
    assert "defaultService" not in redirect.inputs, redirect.urn
    assert redirect.inputs["defaultUrlRedirect"] == {
        "httpsRedirect": True,
        "stripQuery": False,
        "redirectResponseCode": "MOVED_PERMANENTLY_DEFAULT",
    }, redirect.urn
    proxy = site["cdn-http-proxy"]
    assert proxy.inputs["urlMap"] == redirect.outputs["selfLink"], proxy.urn
    for family in ("ipv4", "ipv6"):
        rule = site[f"cdn-http-{family}"]
        assert (rule.inputs["portRange"], rule.inputs["target"]) == ("80", proxy.outputs["selfLink"]), rule.urn
        assert rule.inputs["loadBalancingScheme"] == "EXTERNAL_MANAGED", rule.urn


def test_domain_records_point_at_the_global_addresses_in_the_zone(site: dict[str, RecordedResource]) -> None:
    ipv4, ipv6 = site["cdn-ipv4"], site["cdn-ipv6"]
    assert (ipv4.inputs["ipVersion"], ipv6.inputs["ipVersion"]) == ("IPV4", "IPV6")
    for name, address, record_type in (("cdn-record-a", ipv4, "A"), ("cdn-record-aaaa", ipv6, "AAAA")):
        record = site[name]
        assert {k: record.inputs[k] for k in ("zoneId", "name", "type", "records")} == {
            "zoneId": ZONE_ID,
            "name": "cdn.ziggie.example",
            "type": record_type,
            "records": [address.outputs["address"]],
        }, record.urn
        assert address.urn in record.dependencies, record.urn


def test_without_ipv6_there_is_one_address_one_rule_per_port_and_no_aaaa(mocks: RecordingMonitor) -> None:
    site = build(mocks, ipv6=False)
    assert sorted(n for n in site if n.startswith(("cdn-ipv", "cdn-http-", "cdn-https-", "cdn-record"))) == [
        "cdn-http-ipv4",
        "cdn-http-proxy",
        "cdn-https-ipv4",
        "cdn-https-proxy",
        "cdn-ipv4",
        "cdn-record-a",
    ]


def test_uptime_check_fetches_the_health_object_over_validated_https(site: dict[str, RecordedResource]) -> None:
    health = site["cdn-health-object"]
    assert (health.inputs["name"], health.inputs["bucket"]) == ("healthz.txt", "ziggie-prod-cdn"), health.urn
    check = site["cdn-monitoring-uptime"]
    assert check.inputs["httpCheck"] == {
        "path": "/healthz.txt",
        "port": 443,
        "useSsl": True,
        "validateSsl": True,
        "requestMethod": "GET",
    }, check.urn
    assert check.inputs["monitoredResource"] == {
        "type": "uptime_url",
        "labels": {"project_id": PROJECT, "host": "cdn.ziggie.example"},
    }, check.urn


def test_alert_policies_tell_every_channel(site: dict[str, RecordedResource]) -> None:
    channels = [site["alert-channels-0"], site["alert-channels-1"]]
    assert [c.inputs["labels"] for c in channels] == [
        {"email_address": "ops@ziggie.example"},
        {"email_address": "cto@ziggie.example"},
    ]
    assert all(c.inputs["type"] == "email" for c in channels)
    ids = [c.id for c in channels]
    uptime, errors = site["cdn-monitoring-uptime-alert"], site["cdn-monitoring-5xx-alert"]
    for policy in (uptime, errors):
        assert policy.inputs["notificationChannels"] == ids, policy.urn
    check_id = site["cdn-monitoring-uptime"].outputs["uptimeCheckId"]
    condition = uptime.inputs["conditions"][0]["conditionThreshold"]
    assert f'metric.label.check_id="{check_id}"' in condition["filter"], uptime.urn
    ratio = errors.inputs["conditions"][0]["conditionThreshold"]
    rules = (
        'resource.label.forwarding_rule_name="cdn-https-ipv4" OR resource.label.forwarding_rule_name="cdn-https-ipv6"'
    )
    assert ratio["denominatorFilter"] == (
        'metric.type="loadbalancing.googleapis.com/https/request_count" AND resource.type="https_lb_rule" '
        f"AND ({rules})"
    ), errors.urn
    assert ratio["filter"] == ratio["denominatorFilter"] + ' AND metric.label.response_code_class="500"', errors.urn
    assert (ratio["comparison"], ratio["thresholdValue"], ratio["duration"]) == ("COMPARISON_GT", 0.05, "300s")
