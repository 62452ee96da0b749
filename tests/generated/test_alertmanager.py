"""Tests for generated.alertmanager: routing by severity to alerts.emails, checked by amtool.

The configuration is written where the container reads it and checked with
`amtool check-config`; the SMTP password reaches Alertmanager only as a separate file whose
content stays a Pulumi secret.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest
import yaml
from monitoring_support import STACKS, run_tool, stack_config, write

from generated.alertmanager import CONFIG_PATH, PASSWORD_PATH, alertmanager_config, alertmanager_files

MAILING = [stack for stack in STACKS if stack_config(stack).sends_alert_mail()]


def test_prod_runs_alertmanager() -> None:
    # The amtool test below covers every stack that mails alerts; prod must be one of them.
    assert "prod" in MAILING


@pytest.mark.parametrize("stack", MAILING)
def test_amtool_accepts_the_configuration(stack: str, tmp_path: Path) -> None:
    config = write(tmp_path, CONFIG_PATH, yaml.safe_dump(alertmanager_config(stack_config(stack)), sort_keys=False))
    result = run_tool("amtool", "check-config", config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "2 receivers" in result.stdout


def test_amtool_refuses_a_route_to_an_undefined_receiver(tmp_path: Path) -> None:
    # The checker is not a no-op: a route naming no receiver is refused.
    document = alertmanager_config(stack_config("prod"))
    document["route"]["routes"][0]["receiver"] = "pager"
    config = write(tmp_path, CONFIG_PATH, yaml.safe_dump(document))
    result = run_tool("amtool", "check-config", config)
    assert result.returncode != 0
    assert "undefined receiver" in result.stdout + result.stderr


def test_each_severity_routes_to_the_stack_addresses() -> None:
    cfg = stack_config("prod")
    document = alertmanager_config(cfg)
    routes = {r["matchers"][0]: r["receiver"] for r in document["route"]["routes"]}
    assert routes == {'severity="critical"': "email-critical", 'severity="warning"': "email-warning"}
    for receiver in document["receivers"]:
        assert [c["to"] for c in receiver["email_configs"]] == [", ".join(cfg.alerts.emails)]


def test_smtp_settings_come_from_stack_config_and_the_password_from_a_file() -> None:
    cfg = stack_config("prod")
    assert cfg.monitoring.smtp is not None
    smtp = alertmanager_config(cfg)["global"]
    assert smtp == {
        "smtp_smarthost": cfg.monitoring.smtp.smarthost,
        "smtp_from": cfg.monitoring.smtp.from_address,
        "smtp_auth_username": cfg.monitoring.smtp.auth_username,
        "smtp_auth_password_file": PASSWORD_PATH,
        "smtp_require_tls": True,
    }
    assert "smtp_auth_password" not in smtp


@pulumi.runtime.test  # type: ignore[misc]
def test_password_file_is_a_pulumi_secret_and_the_config_holds_no_password() -> pulumi.Output[None]:
    password = "hunter2-not-in-config"
    files = {f.path: f for f in alertmanager_files(stack_config("prod"), password)}
    assert set(files) == {CONFIG_PATH, PASSWORD_PATH}
    config = files[CONFIG_PATH].content
    assert isinstance(config, str) and password not in config
    content = files[PASSWORD_PATH].content
    assert isinstance(content, pulumi.Output)

    def check(args: list[object]) -> None:
        value, secret = args
        assert value == password
        assert secret is True

    return pulumi.Output.all(content, pulumi.Output.from_input(content).is_secret()).apply(check)
