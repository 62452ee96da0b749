"""certbot's generated files, its DNS-01 identity, and what prod's plan gives the two edge
containers: the scripts, the pair bootstrap run for real, a least-privilege IAM policy checked
by parliament, and credentials that stay a secret."""

from __future__ import annotations

import configparser
import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from components.certbot_identity import challenge_policy
from config.catalog import DEFAULT_CATALOG
from generated.certbot import CREDENTIALS, DEPLOY_HOOK, RUN_SCRIPT, credentials_file, run_script, self_signed_source
from preflight.records import is_secret
from preflight.runner import PlanResult, run_stack

ZONE = "Z0123456789ABCDEFGHIJ"


@pytest.fixture(scope="module")
def prod() -> PlanResult:
    return run_stack("prod")


def container(plan: PlanResult, name: str) -> dict[str, Any]:
    return next(r.inputs for r in plan.resources if r.type == "docker:index/container:Container" and r.name == name)


def test_bootstrap_writes_a_self_signed_pair_for_the_names(tmp_path: Path) -> None:
    script = tmp_path / "self-signed.py"
    script.write_text(self_signed_source())
    subprocess.run([sys.executable, str(script), str(tmp_path / "live"), "app.ziggie.example"], check=True)
    certificate = x509.load_pem_x509_certificate((tmp_path / "live/fullchain.pem").read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["app.ziggie.example"]
    assert certificate.issuer == certificate.subject
    assert (tmp_path / "live/privkey.pem").stat().st_mode & 0o777 == 0o600


def test_run_script_renews_by_dns01_for_the_failover_name(prod: PlanResult) -> None:
    script = run_script(prod.config)
    (line,) = [x for x in script.splitlines() if "certbot certonly" in x]
    words = shlex.split(line.split("||")[0])
    assert words[:3] == ["certbot", "certonly", "--dns-route53"]
    assert {"--keep-until-expiring", "--non-interactive", "--agree-tos"} <= set(words)
    assert words[words.index("--deploy-hook") + 1] == DEPLOY_HOOK
    assert words[words.index("-d") + 1] == "app.ziggie.example"
    assert words[words.index("--email") + 1] == "ops@ziggie.example"
    assert "sleep 43200" in script


def test_dev_only_bootstraps_a_self_signed_pair() -> None:
    script = run_script(run_stack("dev").config)
    assert "certbot certonly" not in script
    assert "localhost" in script


def test_challenge_policy_is_least_privilege() -> None:
    policy = json.loads(challenge_policy(ZONE, ["App.Ziggie.Example."]))
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["FindTheZone"]["Action"] == ["route53:ListHostedZones"]
    assert by_sid["FindTheZone"]["Resource"] == ["*"]
    assert by_sid["WaitForTheChange"]["Action"] == ["route53:GetChange"]
    change = by_sid["AcmeChallengeRecordsOnly"]
    assert change["Action"] == ["route53:ChangeResourceRecordSets"]
    assert change["Resource"] == [f"arn:aws:route53:::hostedzone/{ZONE}"]
    assert change["Condition"] == {
        "ForAllValues:StringEquals": {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["_acme-challenge.app.ziggie.example"],
            "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"],
            "route53:ChangeResourceRecordSetsActions": ["UPSERT", "DELETE"],
        }
    }


def test_challenge_policy_passes_parliament() -> None:
    parliament = pytest.importorskip("parliament")
    findings = parliament.analyze_policy_string(challenge_policy(ZONE, ["app.ziggie.example"])).findings
    # ListHostedZones takes no resource but `*` (Route 53's authorization reference).
    assert [(f.issue, f.detail) for f in findings if f.issue != "RESOURCE_STAR"] == []


def test_prod_plan_gives_certbot_its_identity_and_nginx_its_config(prod: PlanResult) -> None:
    by_name = {r.name: r for r in prod.resources}
    policy = json.loads(by_name["certbot-policy"].inputs["policy"])
    (change,) = [s for s in policy["Statement"] if s["Sid"] == "AcmeChallengeRecordsOnly"]
    assert change["Resource"] == [f"arn:aws:route53:::hostedzone/{prod.outputs['dnsZoneId']}"]
    assert by_name["certbot-user"].inputs["name"] == "ziggie-prod-certbot"
    certbot = container(prod, "vps1-certbot")
    uploads = {u["file"]: u for u in certbot["uploads"]}
    assert set(uploads) == {RUN_SCRIPT, DEPLOY_HOOK, "/usr/local/bin/ziggie-self-signed.py", CREDENTIALS}
    assert is_secret(uploads[CREDENTIALS]["content"]), "the access key must stay a secret"
    assert certbot["entrypoints"] == ["/bin/sh", RUN_SCRIPT]
    nginx = container(prod, "vps1-nginx")
    assert {u["file"] for u in nginx["uploads"]} == {
        "/etc/nginx/nginx.conf",
        "/docker-entrypoint.d/40-ziggie-certificate.sh",
    }
    assert nginx["healthcheck"]["tests"] == ["CMD", "curl", "-fsk", "https://127.0.0.1/health"]


def test_credentials_file_is_an_aws_shared_credentials_file() -> None:
    parser = configparser.ConfigParser()
    parser.read_string(credentials_file("AKIAEXAMPLE", "secret/with+chars="))
    assert dict(parser["default"]) == {
        "aws_access_key_id": "AKIAEXAMPLE",
        "aws_secret_access_key": "secret/with+chars=",
    }


def test_catalog_pins_certbot_with_the_route53_plugin() -> None:
    certbot = DEFAULT_CATALOG["certbot"]
    assert str(certbot["image"]).startswith("certbot/dns-route53:v5.7.0@sha256:")
    assert "docker.sock" not in json.dumps(certbot), "certbot must not get the Docker socket"
    assert DEFAULT_CATALOG["nginx"]["healthcheck"]["test"][-1].endswith("/health")
