"""libyaml's emitter writes every generated YAML document exactly as PyYAML's Python one does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from config.models import StackConfig
from generated import yaml_text
from generated.alertmanager import alertmanager_config
from generated.grafana import dashboard_provider, datasources
from generated.loki import loki_config
from generated.prometheus import prometheus_config
from generated.prometheus_rules import rule_groups
from generated.promtail import promtail_config
from tests.generated.monitoring_support import STACKS, stack_config

DOCUMENTS: dict[str, Callable[[StackConfig], Any]] = {
    "alertmanager": alertmanager_config,
    "grafana_datasources": lambda cfg: datasources(),
    "grafana_dashboards": lambda cfg: dashboard_provider(),
    "loki": loki_config,
    "prometheus": prometheus_config,
    "prometheus_rules": rule_groups,
    "promtail": promtail_config,
}


def _cases() -> list[Any]:
    # Alertmanager's config needs a stack that runs Alertmanager; dev does not.
    return [
        pytest.param(stack, family, id=f"{family}-{stack}")
        for stack in STACKS
        for family in sorted(DOCUMENTS)
        if family != "alertmanager" or "alertmanager" in stack_config(stack).enabled_services()
    ]


@pytest.mark.parametrize(("stack", "family"), _cases())
def test_libyaml_writes_what_pure_python_pyyaml_writes(stack: str, family: str) -> None:
    document = DOCUMENTS[family](stack_config(stack))
    assert yaml_text(document) == yaml.safe_dump(document, sort_keys=False)
