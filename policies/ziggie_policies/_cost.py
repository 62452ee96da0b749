"""The cost estimator: a stack's monthly cost from its resources, the price table and usage.

A pure function over (resource type, props) pairs, so the ``cost-budget`` policy and preflight
price the same plan the same way. Prices live in ``policies/prices.json`` (one table for the
pack, each price with its source and the date it was read), usage assumptions (GB stored,
GB served) in each stack's ``cost-budget`` policy config: the program never states its own cost.

Fixed costs (hosts, zones, checks, secrets, keys, alarms, forwarding rules, budgets, alert
conditions) are billed whether or not anyone uses the product; usage costs (storage,
replication, CDN traffic) follow the assumptions. A resource type the table neither prices
nor lists as free is reported as unpriced, never silently counted as zero.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Final

from ziggie_policies._support import UNKNOWN, PolicyConfigError, elements, prop, to_decimal

PRICES_FILE: Final = Path(__file__).resolve().parent.parent / "prices.json"
DAYS_PER_MONTH: Final = Decimal("30.42")
"""AWS bills a budget per day; 365/12 days make a month."""
_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CENT: Final = Decimal("0.01")

DOCKER_PROVIDER: Final = "pulumi:providers:docker"
CONTAINER: Final = "docker:index/container:Container"


@dataclass(frozen=True)
class Line:
    """One resource kind's monthly cost."""

    kind: str
    count: Decimal
    unit: str
    monthly_usd: Decimal
    fixed: bool
    detail: str = ""


@dataclass(frozen=True)
class Estimate:
    """A stack's estimated monthly cost, a line per resource kind."""

    lines: tuple[Line, ...]
    unpriced: tuple[str, ...] = ()

    @property
    def total(self) -> Decimal:
        return sum((line.monthly_usd for line in self.lines), Decimal(0))

    @property
    def fixed(self) -> Decimal:
        return sum((line.monthly_usd for line in self.lines if line.fixed), Decimal(0))

    @property
    def usage(self) -> Decimal:
        return self.total - self.fixed


@dataclass(frozen=True)
class PriceTable:
    """The pack's prices by key, and the resource types that cost nothing themselves."""

    prices: Mapping[str, Mapping[str, Any]]
    free: frozenset[str]
    hours_per_month: Decimal = Decimal(730)

    def usd(self, key: str) -> Decimal:
        try:
            return Decimal(str(self.prices[key]["usd"]))
        except KeyError:
            raise PolicyConfigError(f"price table: no price {key!r}") from None


def load_prices(path: Path = PRICES_FILE) -> PriceTable:
    """The price table, each entry checked to carry a price, a unit, a source, a date and whether it was confirmed."""
    document = json.loads(path.read_text(encoding="utf-8"))
    problems: list[str] = []
    for key, entry in sorted(document["prices"].items()):
        usd = to_decimal(entry.get("usd")) if isinstance(entry, Mapping) else None
        if usd is None or usd < 0:
            problems.append(f"{key}: usd must be a number >= 0")
        for field_name in ("per", "source"):
            if not isinstance(entry, Mapping) or not isinstance(entry.get(field_name), str) or not entry[field_name]:
                problems.append(f"{key}: {field_name} is required")
        if not isinstance(entry, Mapping) or not _DATE.match(str(entry.get("date"))):
            problems.append(f"{key}: date must be YYYY-MM-DD (when the price was written down)")
        # Whether the figure was checked against a copy of its source, or taken as known: a reader
        # must be able to tell which prices still need confirming.
        if not isinstance(entry, Mapping) or not isinstance(entry.get("confirmed"), bool):
            problems.append(f"{key}: confirmed must be true or false (checked against its source)")
    if problems:
        raise PolicyConfigError(f"price table {path.name}: " + "; ".join(problems))
    return PriceTable(
        prices=document["prices"],
        free=frozenset(document.get("free", {})),
        hours_per_month=Decimal(str(document.get("hoursPerMonth", 730))),
    )


@dataclass
class _Tally:
    counts: dict[str, Decimal] = field(default_factory=dict)

    def add(self, key: str, amount: Decimal | int = 1) -> None:
        self.counts[key] = self.counts.get(key, Decimal(0)) + Decimal(amount)

    def get(self, key: str) -> Decimal:
        return self.counts.get(key, Decimal(0))


def _gb(usage: Mapping[str, Any], key: str, name: Any) -> Decimal:
    """GB for one bucket from a usage mapping, its "*" entry as the default."""
    table = usage.get(key) or {}
    value = table.get(name) if isinstance(name, str) and name in table else table.get("*")
    return to_decimal(value) or Decimal(0)


def _health_check_features(props: Mapping[str, Any]) -> list[str]:
    kind = prop(props, "type")
    features = []
    if isinstance(kind, str) and kind.startswith("HTTPS"):
        features.append("https")
    if isinstance(kind, str) and kind.endswith("STR_MATCH"):
        features.append("string-matching")
    if to_decimal(prop(props, "requestInterval")) == 10:
        features.append("fast-interval")
    if prop(props, "measureLatency") is True:
        features.append("latency")
    return features


def estimate_monthly_cost(
    resources: Iterable[tuple[str, Mapping[str, Any]]],
    prices: PriceTable,
    usage: Mapping[str, Any],
    hosts: Mapping[str, str],
) -> Estimate:
    """The monthly cost of `resources` ((type, props) pairs, providers included).

    `usage` holds the stack's assumptions (``s3GbStored`` and ``s3GbReplicatedPerMonth`` by
    bucket name with "*" as default, ``gcsGbStored`` likewise, ``cdnGbServed``,
    ``cdnCacheHitRatio``); `hosts` maps a docker provider's host URL to its price key.
    """
    tally = _Tally()
    unpriced: set[str] = set()
    docker_hosts: dict[str, str] = {}
    s3_stored = s3_replicated = s3_rtc = gcs_stored = Decimal(0)
    cdn_backends = 0
    for resource_type, props in resources:
        if resource_type == DOCKER_PROVIDER:
            url = prop(props, "host")
            if isinstance(url, str) and url:
                docker_hosts[url] = hosts.get(url, "")
        elif resource_type == "aws:route53/zone:Zone":
            tally.add("route53-hosted-zone")
        elif resource_type == "aws:route53/healthCheck:HealthCheck":
            tally.add("route53-health-check-non-aws")
            for feature in _health_check_features(props):
                tally.add(f"route53-health-check-{feature}")
        elif resource_type == "aws:secretsmanager/secret:Secret":
            tally.add("secretsmanager-secret")
            tally.add("secretsmanager-replica", len(list(elements(prop(props, "replicas")))))
        elif resource_type == "aws:kms/key:Key":
            tally.add("kms-key")
        elif resource_type == "aws:cloudwatch/metricAlarm:MetricAlarm":
            tally.add("cloudwatch-alarm")
        elif resource_type == "aws:budgets/budget:Budget":
            tally.add("aws-budget")
        elif resource_type == "gcp:billing/budget:Budget":
            tally.add("gcp-budget")
        elif resource_type == "gcp:compute/globalForwardingRule:GlobalForwardingRule":
            tally.add("gcp-forwarding-rule")
        elif resource_type == "gcp:monitoring/alertPolicy:AlertPolicy":
            tally.add("monitoring-alert-condition", max(1, len(list(elements(prop(props, "conditions"))))))
        elif resource_type == "aws:s3/bucket:Bucket":
            s3_stored += _gb(usage, "s3GbStored", prop(props, "bucket"))
        elif resource_type == "aws:s3/bucketReplicationConfig:BucketReplicationConfig":
            written = _gb(usage, "s3GbReplicatedPerMonth", prop(props, "bucket"))
            for rule in elements(prop(props, "rules")):
                if not isinstance(rule, Mapping):
                    continue
                s3_replicated += written
                destination = prop(rule, "destination")
                rtc = prop(destination, "replicationTime") if isinstance(destination, Mapping) else None
                if isinstance(rtc, Mapping) and prop(rtc, "status") == "Enabled":
                    s3_rtc += written
        elif resource_type == "gcp:storage/bucket:Bucket":
            gcs_stored += _gb(usage, "gcsGbStored", prop(props, "name"))
        elif resource_type == "gcp:compute/backendBucket:BackendBucket" and prop(props, "enableCdn") in (True, UNKNOWN):
            cdn_backends += 1
        if resource_type not in prices.free and not _priced(resource_type):
            unpriced.add(resource_type)

    lines: list[Line] = []

    def line(kind: str, key: str, count: Decimal, unit: str, *, fixed: bool, detail: str = "") -> None:
        if count:
            lines.append(Line(kind, count, unit, _cents(prices.usd(key) * count), fixed, detail))

    by_price: dict[str, list[str]] = {}
    for url, key in sorted(docker_hosts.items()):
        by_price.setdefault(key, []).append(url)
    for key, urls in sorted(by_price.items()):
        if not key:
            unpriced.add("docker host " + ", ".join(urls) + " (not in cost-budget.hosts)")
            continue
        line(f"Docker hosts ({key})", key, Decimal(len(urls)), "host", fixed=True)
    line("Route 53 hosted zones", "route53-hosted-zone", tally.get("route53-hosted-zone"), "zone", fixed=True)
    line(
        "Route 53 health checks",
        "route53-health-check-non-aws",
        tally.get("route53-health-check-non-aws"),
        "check",
        fixed=True,
    )
    for feature in ("https", "string-matching", "fast-interval", "latency"):
        key = f"route53-health-check-{feature}"
        line(f"Route 53 health check option: {feature}", key, tally.get(key), "check", fixed=True)
    line("Secrets Manager secrets", "secretsmanager-secret", tally.get("secretsmanager-secret"), "secret", fixed=True)
    line(
        "Secrets Manager replicas", "secretsmanager-replica", tally.get("secretsmanager-replica"), "replica", fixed=True
    )
    line("KMS keys", "kms-key", tally.get("kms-key"), "key", fixed=True)
    line("CloudWatch alarms", "cloudwatch-alarm", tally.get("cloudwatch-alarm"), "alarm", fixed=True)
    budgets = tally.get("aws-budget")
    free_budgets = Decimal(str(prices.prices["aws-budget"].get("freePerAccount", 0)))
    billed = max(Decimal(0), budgets - free_budgets)
    if budgets:
        lines.append(
            Line(
                "AWS budgets",
                budgets,
                "budget",
                _cents(prices.usd("aws-budget") * DAYS_PER_MONTH * billed),
                True,
                f"first {free_budgets} of the account free",
            )
        )
    line("GCP budgets", "gcp-budget", tally.get("gcp-budget"), "budget", fixed=True)
    rules = tally.get("gcp-forwarding-rule")
    if rules:
        hours = prices.hours_per_month
        cost = prices.usd("gcp-forwarding-rules-first-5") * hours
        cost += prices.usd("gcp-forwarding-rule-additional") * hours * max(Decimal(0), rules - 5)
        lines.append(Line("GCP global forwarding rules", rules, "rule", _cents(cost), True, "first 5 billed together"))
    line(
        "Cloud Monitoring alert conditions",
        "monitoring-alert-condition",
        tally.get("monitoring-alert-condition"),
        "condition",
        fixed=True,
    )
    line("S3 Standard storage", "s3-standard-storage", s3_stored, "GB", fixed=False)
    line("S3 replication transfer", "s3-replication-transfer", s3_replicated, "GB", fixed=False)
    line("S3 Replication Time Control", "s3-replication-time-control", s3_rtc, "GB", fixed=False)
    line("GCS Standard storage", "gcs-standard-storage-eu", gcs_stored, "GB", fixed=False)
    if cdn_backends:
        served = to_decimal(usage.get("cdnGbServed")) or Decimal(0)
        hit_ratio = to_decimal(usage.get("cdnCacheHitRatio", 1)) or Decimal(0)
        line("Cloud CDN cache egress", "cdn-cache-egress-europe", served, "GiB", fixed=False)
        line("Cloud CDN cache fill", "cdn-cache-fill", served * (1 - hit_ratio), "GiB", fixed=False)
    return Estimate(tuple(lines), tuple(sorted(unpriced)))


_PRICED: Final = frozenset(
    {
        DOCKER_PROVIDER,
        "aws:route53/zone:Zone",
        "aws:route53/healthCheck:HealthCheck",
        "aws:secretsmanager/secret:Secret",
        "aws:kms/key:Key",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:budgets/budget:Budget",
        "gcp:billing/budget:Budget",
        "gcp:compute/globalForwardingRule:GlobalForwardingRule",
        "gcp:monitoring/alertPolicy:AlertPolicy",
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
        "gcp:storage/bucket:Bucket",
    }
)


def _priced(resource_type: str) -> bool:
    return resource_type in _PRICED


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def render_lines(estimate: Estimate, budget: Decimal | None) -> list[str]:
    """The estimate as text, a line per kind, then the total against the budget."""
    rows = [
        f"{line.kind}: {line.count.normalize():f} {line.unit} = {line.monthly_usd:.2f} USD"
        + (" (usage)" if not line.fixed else "")
        + (f" [{line.detail}]" if line.detail else "")
        for line in estimate.lines
    ]
    total = f"total {estimate.total:.2f} USD a month (fixed {estimate.fixed:.2f}, usage {estimate.usage:.2f})"
    if budget is not None:
        total += f" against a budget of {budget:.2f} USD"
    rows.append(total)
    rows += [f"unpriced: {kind}" for kind in estimate.unpriced]
    return rows
