"""Re-drive dead letters: once the cause is fixed, copy the messages of ``<topic>.dlq`` back to
``<topic>`` without their ``dlq_*`` headers.

Only the letters present when the re-drive starts are moved (a message that fails again is
dead-lettered anew and waits for the next re-drive, instead of looping), each original message
once even if several consumer groups dead-lettered it, and progress is committed under a consumer
group so running it again moves only what arrived since. Consumers' inboxes make a re-driven
message that had in fact been applied a no-op."""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bp_common.events.bus import DLQ_POSITION_HEADER

_DLQ_PREFIX = "dlq_"


async def redrive(
    bootstrap_servers: str, dead_letter_topic: str, *, group: str | None = None
) -> int:
    """Move the dead letters not yet re-driven back to their topic; return how many were sent."""
    origin_topic = dead_letter_topic.removesuffix(".dlq")
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=group or f"{dead_letter_topic}.redrive",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await asyncio.wait_for(consumer.start(), 30)
    await asyncio.wait_for(producer.start(), 30)
    sent = 0
    seen: set[bytes] = set()
    try:
        partitions = await _partitions(bootstrap_servers, dead_letter_topic)
        assigned = [TopicPartition(dead_letter_topic, p) for p in partitions]
        consumer.assign(assigned)
        ends = await consumer.end_offsets(assigned)
        for tp in assigned:
            committed = await consumer.committed(tp)
            if committed is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, committed)
        for tp in assigned:
            while await consumer.position(tp) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=5000, max_records=500)
                for record in batch.get(tp, []):
                    if record.offset >= ends[tp]:
                        break
                    headers = list(record.headers or [])
                    position = (
                        dict(headers).get(DLQ_POSITION_HEADER) or f"dlq@{record.offset}".encode()
                    )
                    if position in seen:
                        continue
                    seen.add(position)
                    kept = [(k, v) for k, v in headers if not k.startswith(_DLQ_PREFIX)]
                    await producer.send_and_wait(
                        origin_topic, record.value, key=record.key, headers=kept
                    )
                    sent += 1
            await consumer.commit({tp: ends[tp]})
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(producer.stop(), 10)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(consumer.stop(), 10)
    return sent


async def _partitions(bootstrap_servers: str, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await asyncio.wait_for(admin.start(), 30)
    try:
        [description] = await asyncio.wait_for(admin.describe_topics([topic]), 30)
    finally:
        await admin.close()
    return sorted(p["partition"] for p in description.get("partitions", []))
