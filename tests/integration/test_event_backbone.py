"""The event backbone against the real PostgreSQL and Kafka: outbox -> Kafka -> inbox, exactly
once; duplicates ignored; poison messages dead-lettered without blocking; nothing lost while
the broker is down. The broker-outage test stops Kafka: it is marked disruptive and runs after
the tests that share the broker (see the Makefile)."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from sqlalchemy import func, select

from bp_common.events.envelope import CloudEvent
from bp_common.events.kafka_bus import KafkaBus, KafkaConfig
from bp_common.events.redrive import redrive
from bp_common.testing import eventually
from indicators_api.base import messaging as indicators_messaging
from meetings_api.base import messaging as meetings_messaging

from .conftest import KAFKA
from .platform import Platform

REPO = Path(__file__).resolve().parents[2]


def raw_bus(namespace: str) -> KafkaBus:
    return KafkaBus(KafkaConfig(bootstrap_servers=KAFKA, namespace=namespace))


async def inbox_rows(platform: Platform, event_id: str) -> int:
    database = platform.indicators_app.state.runtime.database
    async with database.sessionmaker() as session:
        table = indicators_messaging.inbox
        return int(
            await session.scalar(
                select(func.count()).select_from(table).where(table.c.event_id == event_id)
            )
            or 0
        )


async def held_event_of(platform: Platform, meeting_id: str) -> CloudEvent:
    database = platform.meetings_app.state.runtime.database
    outbox = meetings_messaging.outbox
    async with database.sessionmaker() as session:
        envelope = await session.scalar(
            select(outbox.c.envelope).where(
                outbox.c.event_type == "meetings.meeting.held.v1",
                outbox.c.envelope["subject"].as_string() == meeting_id,
            )
        )
    return CloudEvent.from_json(envelope)


async def test_an_event_reaches_the_other_service_exactly_once(platform: Platform) -> None:
    meeting_id = await platform.hold_new_meeting()
    await platform.wait_for_held(1)
    held = await held_event_of(platform, meeting_id)
    assert await inbox_rows(platform, held.id) == 1

    # Redeliver the very same event, then a marker on the same key (so the same partition,
    # behind the duplicate): once the marker is counted, the duplicate has been seen.
    bus = raw_bus(platform.meetings_app.state.runtime.settings.kafka_namespace)
    marker = CloudEvent(
        type=held.type,
        source=held.source,
        subject=held.subject,
        data=held.data | {"country": "HU"},
        time=datetime.now(UTC),
    )
    try:
        await bus.publish([held, marker])
    finally:
        await bus.stop()
    await platform.wait_for_held(1, country="HU")
    assert await platform.meetings_held("TR") == 1
    assert await inbox_rows(platform, held.id) == 1


async def test_a_poison_message_is_dead_lettered_and_the_partition_keeps_flowing(
    platform: Platform, namespace: str
) -> None:
    bus = raw_bus(namespace)
    key = b"poisoned-aggregate"
    meeting_id = str(uuid.uuid4())
    follower = CloudEvent(
        type="meetings.meeting.held.v1",
        source="/meetings",
        subject=meeting_id,
        data={
            "meeting_id": meeting_id,
            "title": "Thematic meeting on return and reintegration",
            "kind": "thematic_meeting",
            "status": "held",
            "starts_on": "2020-05-01",
            "ends_on": "2020-05-02",
            "city": "Vienna",
            "country": "AT",
            "working_group": None,
            "activity_id": None,
            "revision": 1,
            "attendance": {"participants": 40, "countries": 12, "organisations": 3},
            "goals": [1],
        },
    )
    _, follower_value, follower_headers = follower.to_kafka()
    try:
        await bus.send_raw(f"{namespace}meetings.events", b"\x00not a cloudevent", key, [])
        await bus.send_raw(f"{namespace}meetings.events", follower_value, key, follower_headers)
    finally:
        await bus.stop()
    await platform.wait_for_held(1, country="AT")

    # Every consumer group of the topic dead-letters the poison on its own; look at indicators'.
    letters = await _dead_letters(f"{namespace}meetings.events.dlq", expected=1)
    assert len(letters) == 1
    headers = dict(letters[0].headers)
    assert letters[0].value == b"\x00not a cloudevent"
    assert headers["dlq_error"] == b"MalformedEvent"
    assert headers["dlq_origin"] == b"meetings.events"

    # Re-driving puts the original back on its topic once, though two groups dead-lettered it;
    # still malformed, it is dead-lettered again (once per group) rather than blocking anything.
    dlq = f"{namespace}meetings.events.dlq"
    assert await redrive(KAFKA, dlq) == 1
    assert len(await _dead_letters(dlq, expected=2)) == 2
    # The next re-drive moves only what was dead-lettered since: that second failure.
    assert await redrive(KAFKA, dlq) == 1


async def test_a_stopped_consumer_has_committed_every_offset_it_handled(namespace: str) -> None:
    """Offsets are committed in the background while the next records are handled; stopping
    the bus commits what is still pending, so a member taking over is handed nothing again.
    The bus is stopped as soon as the last record is handled: its commit still on its way."""
    topic = "meetings.events"
    events = [
        CloudEvent(type="meetings.meeting.held.v1", source="/test", subject=f"m{n}", data={})
        for n in range(30)
    ]
    bus = raw_bus(namespace)
    handled: list[str] = []
    stopped: list[asyncio.Task[None]] = []

    async def handle(event: CloudEvent) -> None:
        handled.append(event.id)
        if len(handled) == len(events):
            stopped.append(asyncio.create_task(bus.stop()))

    bus.subscribe([topic], "offsets", handle)
    await bus.ensure_topics([topic])
    await bus.start()
    try:
        await bus.publish(events)
        await eventually(lambda: _stop_requested(stopped))
        await stopped[0]
    finally:
        await bus.stop()

    consumer = AIOKafkaConsumer(
        bootstrap_servers=KAFKA, group_id=f"{namespace}offsets", enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(f"{namespace}{topic}", p) for p in range(bus.config.partitions)
        ]
        ends = await consumer.end_offsets(partitions)
        committed = {tp: await consumer.committed(tp) or 0 for tp in partitions}
    finally:
        await consumer.stop()
    assert sum(ends.values()) == len(events)
    assert committed == ends


async def _stop_requested(stopped: list[asyncio.Task[None]]) -> bool:
    return bool(stopped)


async def _dead_letters(
    topic: str, expected: int, group: bytes = b"indicators"
) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=KAFKA, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    letters: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while len(letters) < expected and asyncio.get_running_loop().time() < deadline:
            letters += _of_group(await consumer.getmany(timeout_ms=1000), group)
        # Anything beyond the expected count would be a duplicate: look a little longer.
        letters += _of_group(await consumer.getmany(timeout_ms=1000), group)
    finally:
        await consumer.stop()
    return letters


def _of_group(
    batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]], group: bytes
) -> list[ConsumerRecord[bytes, bytes]]:
    return [
        record
        for records in batches.values()
        for record in records
        if dict(record.headers).get("dlq_group") == group
    ]


async def unsent_outbox_rows(platform: Platform) -> int:
    database = platform.meetings_app.state.runtime.database
    outbox = meetings_messaging.outbox
    async with database.sessionmaker() as session:
        statement = select(func.count()).where(outbox.c.sent_at.is_(None))
        return int(await session.scalar(statement) or 0)


def kafka(command: str) -> None:
    subprocess.run(["bash", str(REPO / "deploy" / "kafka.sh"), command], check=True, timeout=180)


@pytest.mark.disruptive
async def test_writes_succeed_while_kafka_is_down_and_their_events_arrive_later(
    platform: Platform,
) -> None:
    await platform.hold_new_meeting(country="BG")
    await platform.wait_for_held(1)

    await asyncio.to_thread(kafka, "stop")
    try:
        await platform.hold_new_meeting(country="LV")
        await platform.hold_new_meeting(country="AZ")
        assert await unsent_outbox_rows(platform) >= 2
        assert await platform.meetings_held() == 1
    finally:
        await asyncio.to_thread(kafka, "start")
    await platform.wait_for_held(3, within_s=90)
    assert await platform.meetings_held("LV") == 1
    assert await platform.meetings_held("AZ") == 1
    # Marked sent right after the broker's ack, which may come after a consumer has the event.
    await eventually(lambda: _no_unsent_rows(platform))


async def _no_unsent_rows(platform: Platform) -> bool:
    return await unsent_outbox_rows(platform) == 0
