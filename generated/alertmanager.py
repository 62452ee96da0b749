"""Alertmanager's configuration: alerts routed by severity to the stack's `alerts.emails`.

The SMTP password never enters the configuration text. Alertmanager reads it from
`smtp_auth_password_file`, a second uploaded file whose content is the Pulumi secret itself, so
the plan shows the configuration in full and the password only as a secret.
"""

from __future__ import annotations

from typing import Any

import pulumi

from config.models import StackConfig
from generated import GeneratedFile, yaml_text

CONFIG_PATH = "/etc/alertmanager/ziggie.yml"
PASSWORD_PATH = "/etc/alertmanager/smtp_password"  # noqa: S105 - where the secret file goes

# How often a still-firing alert is mailed again, by severity.
REPEAT = {"critical": "1h", "warning": "4h"}


def alertmanager_config(cfg: StackConfig) -> dict[str, Any]:
    """The configuration document; needs `monitoring.smtp` and `alerts.emails` (the loader requires both)."""
    smtp = cfg.monitoring.smtp
    if smtp is None or not cfg.alerts.emails:
        raise ValueError("alertmanager needs monitoring.smtp and at least one alerts.emails address")
    to = ", ".join(cfg.alerts.emails)
    receivers = [
        {
            "name": f"email-{severity}",
            "email_configs": [{"to": to, "send_resolved": True, "headers": {"Subject": _subject(severity)}}],
        }
        for severity in REPEAT
    ]
    return {
        "global": {
            "smtp_smarthost": smtp.smarthost,
            "smtp_from": smtp.from_address,
            "smtp_auth_username": smtp.auth_username,
            "smtp_auth_password_file": PASSWORD_PATH,
            "smtp_require_tls": smtp.require_tls,
        },
        "route": {
            "receiver": "email-warning",
            "group_by": ["alertname", "host", "service"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": REPEAT["warning"],
            "routes": [
                {"matchers": [f'severity="{severity}"'], "receiver": f"email-{severity}", "repeat_interval": repeat}
                for severity, repeat in REPEAT.items()
            ],
        },
        "inhibit_rules": [
            # A critical alert already tells the person; its warning twin only repeats it.
            {
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity="warning"'],
                "equal": ["alertname", "host", "service"],
            },
            # With a host's cadvisor unreachable, every container on it looks missing.
            {
                "source_matchers": ['alertname="ScrapeTargetDown"', 'service="cadvisor"'],
                "target_matchers": ['alertname="ContainerMissing"'],
                "equal": ["host"],
            },
        ],
        "receivers": receivers,
    }


def _subject(severity: str) -> str:
    # Alertmanager's template language, rendered when a notification is sent.
    return f"[{severity}] {{{{ .CommonLabels.alertname }}}} on {{{{ .CommonLabels.host }}}}"


def alertmanager_files(cfg: StackConfig, smtp_password: pulumi.Input[str]) -> list[GeneratedFile]:
    """The configuration and the password file, the latter a Pulumi secret end to end.

    The docker provider writes an upload with mode 0644 unless told otherwise
    (kreuzwerker/terraform-provider-docker, internal/provider/resource_docker_container_funcs.go),
    so Alertmanager, which runs as `nobody`, can read both.
    """
    return [
        GeneratedFile(CONFIG_PATH, yaml_text(alertmanager_config(cfg))),
        GeneratedFile(PASSWORD_PATH, pulumi.Output.secret(smtp_password)),
    ]
