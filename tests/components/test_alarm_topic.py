"""AlarmTopic under Pulumi mocks: one topic in us-east-1, one email subscription per address."""

from __future__ import annotations

from typing import Any

import pytest
from aws_mocks import install, run

from components.alarm_topic import AlarmTopic, AlarmTopicArgs
from preflight.mocks import ACCOUNT_ID, RecordingMonitor


@pytest.fixture(autouse=True)
def mocks() -> RecordingMonitor:
    return install()


def test_topic_in_us_east_1_mails_each_address(mocks: RecordingMonitor) -> None:
    emails = ("oncall@ziggie.example", "ops@ziggie.example")
    records = run(mocks, lambda: AlarmTopic("alarms", AlarmTopicArgs(topic_name="ziggie-prod-alarms", emails=emails)))
    topic = records["alarms-topic"]
    assert topic.inputs["region"] == "us-east-1", topic.urn
    assert topic.outputs["arn"] == f"arn:aws:sns:us-east-1:{ACCOUNT_ID}:ziggie-prod-alarms"
    subscriptions = {
        r.name: (r.inputs["topic"], r.inputs["protocol"], r.inputs["endpoint"], r.inputs["region"])
        for r in records.values()
        if r.type == "aws:sns/topicSubscription:TopicSubscription"
    }
    assert subscriptions == {
        "alarms-email-oncall-ziggie-example": (topic.outputs["arn"], "email", emails[0], "us-east-1"),
        "alarms-email-ops-ziggie-example": (topic.outputs["arn"], "email", emails[1], "us-east-1"),
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"emails": ()}, "tells nobody"),
        ({"emails": ("a@ziggie.example", "A@ziggie.example")}, "lists an address twice"),
        ({"topic_name": "ziggie alarms"}, "must be 1-256 letters"),
    ],
    ids=["no_subscriber", "same_address_twice", "space_in_topic_name"],
)
def test_invalid_topic_args_are_refused(overrides: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"topic_name": "ziggie-prod-alarms", "emails": ("oncall@ziggie.example",), **overrides}
    with pytest.raises(ValueError, match=message):
        AlarmTopicArgs(**values)
