"""The helpers every policy shares (ziggie_policies._support), each against its own contract."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy
from ziggie_policies._support import (
    UNKNOWN,
    container_name,
    elements,
    is_unknown,
    label,
    prop,
    region_label,
    to_decimal,
    two_places,
)


def test_unknown_names_itself() -> None:
    assert repr(UNKNOWN) == "UNKNOWN"


@pytest.mark.parametrize(
    ("value", "unknown"),
    [
        pytest.param(UNKNOWN, True, id="the_marker"),
        pytest.param(UNKNOWN_STRING_VALUE, True, id="a_raw_wire_sentinel"),
        pytest.param("04da6b54", False, id="a_string"),
        pytest.param(None, False, id="absent"),
    ],
)
def test_is_unknown(value: Any, unknown: bool) -> None:
    assert is_unknown(value) is unknown


@pytest.mark.parametrize(
    ("props", "value"),
    [
        pytest.param({"a": 1}, 1, id="known"),
        pytest.param({}, None, id="absent"),
        pytest.param({"a": UNKNOWN_NUMBER_VALUE}, UNKNOWN, id="raw_sentinel"),
        pytest.param(unknown_checking_proxy({"a": UNKNOWN_NUMBER_VALUE}), UNKNOWN, id="proxy_raising_on_read"),
    ],
)
def test_prop(props: Any, value: Any) -> None:
    assert prop(props, "a") == value


@pytest.mark.parametrize(
    ("seq", "values"),
    [
        pytest.param([1, UNKNOWN_STRING_VALUE, 2], [1, UNKNOWN, 2], id="raw_sentinel_in_the_middle"),
        pytest.param(
            unknown_checking_proxy({"l": [1, UNKNOWN_STRING_VALUE, 2]})["l"], [1, UNKNOWN, 2], id="proxy_raising_midway"
        ),
        pytest.param("abc", [], id="a_string_is_no_list"),
        pytest.param(None, [], id="absent"),
    ],
)
def test_elements(seq: Any, values: list[Any]) -> None:
    assert list(elements(seq)) == values


@pytest.mark.parametrize(
    ("region", "label_"),
    [
        pytest.param("eu-west-1", "eu-west-1", id="region_as_given"),
        pytest.param(UNKNOWN, "region unknown until the update", id="unknown_until_the_update"),
        pytest.param(None, "no region set", id="absent"),
        pytest.param("", "no region set", id="empty"),
        pytest.param(5, "no region set", id="not_a_string"),
    ],
)
def test_region_label(region: Any, label_: str) -> None:
    assert region_label(region) == label_


@pytest.mark.parametrize(
    ("props", "name"),
    [
        pytest.param({"name": "postgres"}, "postgres", id="docker_name"),
        pytest.param({}, "vps1-postgres", id="absent_name_is_the_resource_name"),
        pytest.param({"name": ""}, "vps1-postgres", id="empty_name_is_the_resource_name"),
        pytest.param({"name": UNKNOWN}, "vps1-postgres", id="unknown_name_is_the_resource_name"),
    ],
)
def test_container_name(props: dict[str, Any], name: str) -> None:
    assert container_name(props, "vps1-postgres") == name


@pytest.mark.parametrize(
    ("labels", "value"),
    [
        pytest.param([{"label": "ziggie.service", "value": "redis"}], "redis", id="value_of_the_label"),
        pytest.param(
            [{"label": "other", "value": "x"}, {"label": "ziggie.service", "value": "redis"}],
            "redis",
            id="found_after_others",
        ),
        pytest.param([{"label": "ziggie.service", "value": 5}], None, id="value_not_a_string"),
        pytest.param(["ziggie.service=redis"], None, id="entry_not_an_object"),
        pytest.param(None, None, id="no_labels"),
    ],
)
def test_label(labels: Any, value: str | None) -> None:
    assert label({"labels": labels}, "ziggie.service") == value


@pytest.mark.parametrize(
    ("value", "number"),
    [
        pytest.param(3072, Decimal(3072), id="int"),
        pytest.param(0.8, Decimal("0.8"), id="float_as_written"),
        pytest.param(" 1.5 ", Decimal("1.5"), id="decimal_string_stripped"),
        pytest.param(True, None, id="bool_is_no_number"),
        pytest.param("fast", None, id="not_a_decimal"),
        pytest.param("Infinity", None, id="infinite_string"),
        pytest.param(float("inf"), None, id="infinite_float"),
        pytest.param(float("nan"), None, id="nan_float"),
        pytest.param([1], None, id="list"),
    ],
)
def test_to_decimal(value: Any, number: Decimal | None) -> None:
    assert to_decimal(value) == number


@pytest.mark.parametrize(
    ("value", "ceiling", "shown"),
    [
        pytest.param(Decimal("1.005"), False, "1.01", id="half_up"),
        pytest.param(Decimal("1.004"), False, "1.00", id="below_half_down"),
        pytest.param(Decimal("1.001"), True, "1.01", id="ceiling_never_shows_an_overflow_as_equal"),
    ],
)
def test_two_places(value: Decimal, ceiling: bool, shown: str) -> None:
    assert two_places(value, ceiling=ceiling) == shown
