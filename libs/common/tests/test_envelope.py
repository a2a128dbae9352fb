from datetime import UTC, datetime

import pytest

from bp_common.events.envelope import CloudEvent, MalformedEvent, dead_letter_topic


def make_event() -> CloudEvent:
    return CloudEvent(
        type="plan.activity.hosted.v1",
        source="/plan",
        subject="offer-9",
        data={"activity_id": "a1b2", "host_countries": ["BG"]},
        time=datetime(2019, 12, 5, 10, 0, tzinfo=UTC),
        requestid="req-1",
        actor="bp-key-1",
        dataschema="https://example.org/plan.activity.hosted.v1.json",
        partitionkey="a1b2",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        tracestate="vendor=opaque",
    )


def test_kafka_binary_mode_round_trip_keeps_every_attribute() -> None:
    event = make_event()
    key, value, headers = event.to_kafka()
    names = {name for name, _ in headers}
    assert key == b"a1b2"  # the aggregate, not the subject
    assert {
        "ce_id",
        "ce_type",
        "ce_source",
        "ce_specversion",
        "ce_time",
        "ce_subject",
        "ce_dataschema",
        "ce_requestid",
        "ce_actor",
    } <= names
    # The tracing extension under its W3C header names, as Kafka tracing clients read them.
    assert dict(headers)["traceparent"] == event.traceparent.encode()  # type: ignore[union-attr]
    assert dict(headers)["tracestate"] == b"vendor=opaque"
    assert CloudEvent.from_kafka(value, headers, key) == event


def test_an_outbox_row_written_before_tracing_reads_untraced() -> None:
    stored = make_event().to_json()
    del stored["traceparent"], stored["tracestate"]
    event = CloudEvent.from_json(stored)
    assert (event.traceparent, event.tracestate) == (None, None)
    assert "traceparent" not in {name for name, _ in event.to_kafka()[2]}


def test_an_event_without_partition_key_is_keyed_by_its_subject() -> None:
    event = CloudEvent(type="plan.endorsed.v1", source="/plan", subject="p1", data={})
    assert event.to_kafka()[0] == b"p1"
    # An outbox row written before the key had its own attribute.
    stored = event.to_json()
    del stored["partitionkey"]
    assert CloudEvent.from_json(stored).key == b"p1"


def test_structured_round_trip() -> None:
    event = make_event()
    assert CloudEvent.from_json(event.to_json()) == event


def test_topic_is_derived_from_the_type() -> None:
    assert make_event().topic == "plan.events"
    assert dead_letter_topic("plan.events") == "plan.events.dlq"


@pytest.mark.parametrize(
    ("value", "headers"),
    [
        (b"{}", []),
        (
            b"not json",
            [
                ("ce_id", b"1"),
                ("ce_type", b"t"),
                ("ce_source", b"s"),
                ("ce_specversion", b"1.0"),
                ("ce_time", b"2020-01-01T00:00:00+00:00"),
            ],
        ),
        (
            b"[1, 2]",
            [
                ("ce_id", b"1"),
                ("ce_type", b"t"),
                ("ce_source", b"s"),
                ("ce_specversion", b"1.0"),
                ("ce_time", b"2020-01-01T00:00:00+00:00"),
            ],
        ),
    ],
)
def test_malformed_messages_are_recognised(value: bytes, headers: list[tuple[str, bytes]]) -> None:
    with pytest.raises(MalformedEvent):
        CloudEvent.from_kafka(value, headers)
