"""The CDN: a private GCS bucket served by Cloud CDN behind a global external Application Load Balancer.

The chain is bucket -> backend bucket (Cloud CDN on) -> URL map -> target HTTPS proxy (a
Google-managed certificate) -> global forwarding rule on 443, and beside it a URL map that
only redirects, a target HTTP proxy and a forwarding rule on 80. Both rules share the global
addresses, whose A/AAAA records go in the stack's Route 53 zone: Google provisions the managed
certificate only once the domain resolves to the load balancer.

The bucket stays private (uniform bucket-level access, public access prevention enforced):
Cloud CDN reads it through an IAM grant to the Cloud CDN fill service account,
`service-PROJECT_NUMBER@cloud-cdn-fill.iam.gserviceaccount.com`, as Google's "Configure
private bucket access" (docs.cloud.google.com/cdn/docs/configure-private-bucket-access)
describes. No allUsers binding exists anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
from pulumi_gcp.compute import (
    BackendBucket,
    GlobalAddress,
    GlobalForwardingRule,
    ManagedSslCertificate,
    TargetHttpProxy,
    TargetHttpsProxy,
    URLMap,
)

# Named imports load these lazily imported pulumi_gcp modules here, at import: the SDK evaluates a
# component's annotations while registering it, and Python 3.11's LazyLoader is not thread-safe.
from pulumi_gcp.storage import Bucket, BucketIAMMember, BucketObject

from config.models import Cdn

# The current global external Application Load Balancer; "EXTERNAL" is the classic one.
LOAD_BALANCING_SCHEME = "EXTERNAL_MANAGED"
# Cloud CDN reads objects of a private bucket as this Google-managed service account.
CDN_FILL_ACCOUNT = "service-{number}@cloud-cdn-fill.iam.gserviceaccount.com"
RECORD_TTL = 300


def cdn_fill_member(project_number: str) -> str:
    """The IAM member Cloud CDN fills a private backend bucket's cache as."""
    return "serviceAccount:" + CDN_FILL_ACCOUNT.format(number=project_number)


@dataclass(frozen=True)
class CdnArgs:
    """What the CDN serves, where, and where its name is published."""

    bucket_name: str
    """Globally unique GCS bucket name."""
    project: str
    project_number: pulumi.Input[str]
    """The project's number: the Cloud CDN fill service account is named after it."""
    settings: Cdn
    zone_id: pulumi.Input[str]
    """The Route 53 zone the CDN domain's records go in."""
    provider: gcp.Provider
    protect: bool = False
    """Protect the bucket (prod): deleting it deletes every asset."""
    labels: Mapping[str, str] = field(default_factory=dict)


class CdnSite(pulumi.ComponentResource):
    """A private bucket served over HTTPS by Cloud CDN, with HTTP redirected to HTTPS."""

    bucket: Bucket
    reader: BucketIAMMember
    health_object: BucketObject
    backend: BackendBucket
    ipv4: GlobalAddress
    ipv6: GlobalAddress | None
    certificate: ManagedSslCertificate
    url_map: URLMap
    https_proxy: TargetHttpsProxy
    https_rules: list[GlobalForwardingRule]
    redirect_map: URLMap
    http_proxy: TargetHttpProxy
    http_rules: list[GlobalForwardingRule]
    records: list[aws.route53.Record]
    https_rule_names: pulumi.Output[list[str]]

    def __init__(self, name: str, args: CdnArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ziggie:gcp:Cdn", name, None, opts)
        settings, cache = args.settings, args.settings.cache
        on_gcp = pulumi.ResourceOptions(parent=self, provider=args.provider)
        labels = dict(args.labels)

        self.bucket = gcp.storage.Bucket(
            f"{name}-bucket",
            name=args.bucket_name,
            project=args.project,
            location=settings.bucket.location,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning=gcp.storage.BucketVersioningArgs(enabled=settings.bucket.versioning),
            lifecycle_rules=[
                gcp.storage.BucketLifecycleRuleArgs(
                    action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                    condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                        days_since_noncurrent_time=settings.bucket.noncurrent_version_days,
                        with_state="ARCHIVED",
                    ),
                )
            ],
            cors=[
                gcp.storage.BucketCorArgs(
                    origins=list(rule.origins),
                    methods=list(rule.methods),
                    response_headers=list(rule.response_headers),
                    max_age_seconds=rule.max_age_seconds,
                )
                for rule in settings.bucket.cors
            ],
            force_destroy=False,
            labels=labels,
            opts=pulumi.ResourceOptions.merge(on_gcp, pulumi.ResourceOptions(protect=args.protect)),
        )

        cache_policy = gcp.compute.BackendBucketCdnPolicyArgs(
            cache_mode=cache.cache_mode,
            default_ttl=cache.default_ttl,
            max_ttl=cache.max_ttl,
            client_ttl=cache.client_ttl,
            negative_caching=cache.negative_caching,
            negative_caching_policies=[
                gcp.compute.BackendBucketCdnPolicyNegativeCachingPolicyArgs(code=p.code, ttl=p.ttl)
                for p in cache.negative_caching_policy
            ]
            or None,
            serve_while_stale=cache.serve_while_stale,
            request_coalescing=cache.request_coalescing,
        )
        self.backend = gcp.compute.BackendBucket(
            f"{name}-backend",
            name=f"{name}-backend",
            project=args.project,
            bucket_name=self.bucket.name,
            enable_cdn=True,
            compression_mode=cache.compression,
            cdn_policy=cache_policy,
            opts=on_gcp,
        )
        # Google creates the fill service account once Cloud CDN is in use in the project, so
        # the grant waits for the backend bucket that turns it on.
        self.reader = gcp.storage.BucketIAMMember(
            f"{name}-cdn-reader",
            bucket=self.bucket.name,
            role="roles/storage.objectViewer",
            member=pulumi.Output.from_input(args.project_number).apply(cdn_fill_member),
            opts=pulumi.ResourceOptions.merge(on_gcp, pulumi.ResourceOptions(depends_on=[self.backend])),
        )
        self.health_object = gcp.storage.BucketObject(
            f"{name}-health-object",
            bucket=self.bucket.name,
            name=settings.health_object,
            content="ok\n",
            content_type="text/plain",
            cache_control="no-store",
            opts=on_gcp,
        )

        self.ipv4 = self._address(f"{name}-ipv4", "IPV4", args, labels, on_gcp)
        self.ipv6 = self._address(f"{name}-ipv6", "IPV6", args, labels, on_gcp) if settings.ipv6 else None
        addresses = [("ipv4", self.ipv4, "A")] + ([("ipv6", self.ipv6, "AAAA")] if self.ipv6 is not None else [])

        # Auto-named: a new domain replaces the certificate (managed.domains forces a new one),
        # and Pulumi creates the successor, moves the proxy to it, then deletes the old one. A
        # fixed name would collide with the certificate still in use.
        self.certificate = gcp.compute.ManagedSslCertificate(
            f"{name}-certificate",
            project=args.project,
            managed=gcp.compute.ManagedSslCertificateManagedArgs(domains=[settings.domain]),
            opts=on_gcp,
        )
        self.url_map = gcp.compute.URLMap(
            f"{name}-url-map",
            name=f"{name}-url-map",
            project=args.project,
            default_service=self.backend.self_link,
            opts=on_gcp,
        )
        self.https_proxy = gcp.compute.TargetHttpsProxy(
            f"{name}-https-proxy",
            name=f"{name}-https-proxy",
            project=args.project,
            url_map=self.url_map.self_link,
            ssl_certificates=[self.certificate.self_link],
            opts=on_gcp,
        )
        self.https_rules = [
            self._rule(f"{name}-https-{family}", args, address, self.https_proxy.self_link, "443", labels, on_gcp)
            for family, address, _ in addresses
        ]

        # Port 80 only ever answers with a redirect to the same URL over HTTPS.
        self.redirect_map = gcp.compute.URLMap(
            f"{name}-redirect-map",
            name=f"{name}-redirect-map",
            project=args.project,
            default_url_redirect=gcp.compute.URLMapDefaultUrlRedirectArgs(
                https_redirect=True,
                strip_query=False,
                redirect_response_code="MOVED_PERMANENTLY_DEFAULT",
            ),
            opts=on_gcp,
        )
        self.http_proxy = gcp.compute.TargetHttpProxy(
            f"{name}-http-proxy",
            name=f"{name}-http-proxy",
            project=args.project,
            url_map=self.redirect_map.self_link,
            opts=on_gcp,
        )
        self.http_rules = [
            self._rule(f"{name}-http-{family}", args, address, self.http_proxy.self_link, "80", labels, on_gcp)
            for family, address, _ in addresses
        ]

        self.records = [
            aws.route53.Record(
                f"{name}-record-{record_type.lower()}",
                zone_id=args.zone_id,
                name=settings.domain,
                type=record_type,
                ttl=RECORD_TTL,
                records=[address.address],
                opts=pulumi.ResourceOptions(parent=self),
            )
            for _, address, record_type in addresses
        ]
        self.https_rule_names = pulumi.Output.all(*[rule.name for rule in self.https_rules])
        self.register_outputs(
            {
                "bucket": self.bucket,
                "reader": self.reader,
                "health_object": self.health_object,
                "backend": self.backend,
                "ipv4": self.ipv4,
                "ipv6": self.ipv6,
                "certificate": self.certificate,
                "url_map": self.url_map,
                "https_proxy": self.https_proxy,
                "https_rules": self.https_rules,
                "redirect_map": self.redirect_map,
                "http_proxy": self.http_proxy,
                "http_rules": self.http_rules,
                "records": self.records,
                "https_rule_names": self.https_rule_names,
            }
        )

    @staticmethod
    def _address(
        address_name: str, version: str, args: CdnArgs, labels: Mapping[str, str], opts: pulumi.ResourceOptions
    ) -> GlobalAddress:
        return gcp.compute.GlobalAddress(
            address_name,
            name=address_name,
            project=args.project,
            ip_version=version,
            address_type="EXTERNAL",
            labels=dict(labels),
            opts=opts,
        )

    @staticmethod
    def _rule(
        rule_name: str,
        args: CdnArgs,
        address: gcp.compute.GlobalAddress,
        target: pulumi.Output[str],
        port: str,
        labels: Mapping[str, str],
        opts: pulumi.ResourceOptions,
    ) -> gcp.compute.GlobalForwardingRule:
        # portRange "443" reads back as "443-443"; the provider treats them as equal
        # (hashicorp/terraform-provider-google, tpgresource/common_diff_suppress.go,
        # PortRangeDiffSuppress), so the second `up` shows no diff.
        return gcp.compute.GlobalForwardingRule(
            rule_name,
            name=rule_name,
            project=args.project,
            ip_address=address.address,
            ip_protocol="TCP",
            port_range=port,
            target=target,
            load_balancing_scheme=LOAD_BALANCING_SCHEME,
            labels=dict(labels),
            opts=opts,
        )
