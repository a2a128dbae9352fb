"""Looking into Kafka from outside the services: what a topic holds, how far a consumer group has
committed, who is in a group and which partitions each member owns, and raw messages to send."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from chaos.stack import KAFKA, ChaosError

CLIENT_TIMEOUT_S = 30


@contextlib.asynccontextmanager
async def _consumer() -> AsyncIterator[AIOKafkaConsumer]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=KAFKA, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await asyncio.wait_for(consumer.start(), CLIENT_TIMEOUT_S)
    try:
        yield consumer
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(consumer.stop(), 10)


@contextlib.asynccontextmanager
async def _admin() -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA, request_timeout_ms=10_000)
    await asyncio.wait_for(admin.start(), CLIENT_TIMEOUT_S)
    try:
        yield admin
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(admin.close(), 10)


@dataclass(frozen=True)
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]

    @property
    def event_id(self) -> str:
        return self.headers.get("ce_id", b"").decode()


async def partitions_of(topic: str) -> list[TopicPartition]:
    """The topic's partitions, asked of the broker (a consumer only knows the metadata of the
    topics it subscribed to). A topic that does not exist is an error, never an empty topic:
    an empty answer would make every wait on it succeed at once."""
    async with _admin() as admin:
        [described] = await asyncio.wait_for(admin.describe_topics([topic]), CLIENT_TIMEOUT_S)
    if described.get("error_code") or not described.get("partitions"):
        raise ChaosError(f"topic {topic} unknown to the broker ({described.get('error_code')})")
    return [
        TopicPartition(topic, p) for p in sorted(p["partition"] for p in described["partitions"])
    ]


async def read_topic(
    topic: str, *, since: dict[int, int] | None = None, within_s: float = 120
) -> list[Message]:
    """The messages of ``topic`` from offset 0 (or ``since[partition]``) to its end as of now;
    checked against the offsets, so that a short read is an error, never a finding."""
    messages: list[Message] = []
    async with _consumer() as consumer:
        try:
            async with asyncio.timeout(within_s):
                assigned = await partitions_of(topic)
                consumer.assign(assigned)
                ends = await consumer.end_offsets(assigned)
                starts = await consumer.beginning_offsets(assigned)
                for tp in assigned:
                    starts[tp] = max(starts[tp], (since or {}).get(tp.partition, 0))
                    consumer.seek(tp, starts[tp])
                while [tp for tp in assigned if await consumer.position(tp) < ends[tp]]:
                    batches = await consumer.getmany(timeout_ms=2000, max_records=5000)
                    messages += [
                        Message(
                            r.topic, r.partition, r.offset, r.key, r.value, dict(r.headers or [])
                        )
                        for tp, records in batches.items()
                        for r in records
                        if r.offset < ends[tp]
                    ]
        except TimeoutError:
            raise ChaosError(f"could not read {topic} within {within_s:.0f}s") from None
    expected = sum(ends[tp] - starts[tp] for tp in assigned)
    if len(messages) != expected:  # offsets are dense on these topics (no transactions)
        raise ChaosError(f"read {len(messages)} messages of {topic}, expected {expected}")
    return messages


async def topic_ids(topic: str) -> Counter[str]:
    """Every event id on a topic, with how many copies of it are there."""
    return Counter(m.event_id or f"@{m.partition}:{m.offset}" for m in await read_topic(topic))


async def committed_offsets(group: str) -> dict[TopicPartition, int]:
    async with _admin() as admin:
        offsets = await asyncio.wait_for(admin.list_consumer_group_offsets(group), CLIENT_TIMEOUT_S)
    return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


async def group_lag(group: str, topics: Iterable[str]) -> int:
    """Messages on ``topics`` beyond the group's committed offsets."""
    committed = await committed_offsets(group)
    async with _consumer() as consumer:
        partitions = [tp for topic in topics for tp in await partitions_of(topic)]
        ends = (
            await asyncio.wait_for(consumer.end_offsets(partitions), CLIENT_TIMEOUT_S)
            if partitions
            else {}
        )
    return sum(end - committed.get(tp, 0) for tp, end in ends.items())


async def group_members(group: str) -> dict[str, list[str]]:
    """Member (client host and id) -> the partitions assigned to it, as ``topic:partition``."""
    async with _admin() as admin:
        responses = await asyncio.wait_for(
            admin.describe_consumer_groups([group]), CLIENT_TIMEOUT_S
        )
    members: dict[str, list[str]] = {}
    for response in responses:
        for described in response.groups:
            # (error_code, group_id, state, protocol_type, protocol, members[, operations])
            for member in described[5]:
                member_id, assignment_bytes = member[0], member[-1]
                owned: list[str] = []
                if assignment_bytes:
                    decoded = ConsumerProtocolMemberAssignment.decode(assignment_bytes)
                    for topic, partitions in decoded.assignment:
                        owned += [f"{topic}:{p}" for p in sorted(partitions)]
                members[str(member_id)] = sorted(owned)
    return members


async def send_raw(topic: str, partition: int, key: bytes, value: bytes) -> int:
    """Send a message as it is, to one partition; returns its offset."""
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, acks="all")
    await asyncio.wait_for(producer.start(), CLIENT_TIMEOUT_S)
    try:
        metadata = await asyncio.wait_for(
            producer.send_and_wait(topic, value, key=key, partition=partition), CLIENT_TIMEOUT_S
        )
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(producer.stop(), 10)
    return int(metadata.offset)


async def end_offsets(topic: str) -> dict[int, int]:
    """Where each partition of ``topic`` ends now (a mark to read what comes after)."""
    async with _consumer() as consumer:
        partitions = await partitions_of(topic)
        ends = (
            await asyncio.wait_for(consumer.end_offsets(partitions), CLIENT_TIMEOUT_S)
            if partitions
            else {}
        )
    return {tp.partition: offset for tp, offset in ends.items()}
