"""Rebuild a service's read models from its topics (``bpctl replay``).

In one transaction, forget what the service's consumers built: its read models
(``ServiceSpec.reset_read_models``) and its consumer group's inbox claims. Then read every
partition of the topics it consumes from the beginning up to the end offsets seen at the start,
through the same inbox dispatcher as the live consumer. The replay claims events under the live
group's name, so a consumer running meanwhile and the replay skip each other's events: each is
applied once, and the service need not stop. The live group's offsets are left alone."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bp_common.app import ServiceSpec
from bp_common.db import Database
from bp_common.events.bus import RetryPolicy, handle_with_retries
from bp_common.events.envelope import CloudEvent, MalformedEvent
from bp_common.events.inbox import InboxDispatcher, count_claims, forget_claims
from bp_common.settings import BusKind, ServiceSettings


class ReplayRefused(Exception):
    """The service cannot be replayed as configured; nothing was changed."""


@dataclass
class TopicReplay:
    topic: str
    # Records between the beginning and the end offsets seen at the start.
    total: int
    read: int = 0
    malformed: int = 0
    failed: int = 0


@dataclass
class ReplayReport:
    group: str
    topics: list[TopicReplay]
    forgotten_claims: int = 0
    # The group's claims once done: the events this service handles, each once.
    claims: int = 0
    failures: list[str] = field(default_factory=list)


OnRecord = Callable[[TopicReplay], None]


def check_replayable(spec: ServiceSpec, settings: ServiceSettings) -> None:
    if spec.reset_read_models is None:
        raise ReplayRefused(
            "no read models to rebuild: its consumers create the service's own records, "
            "which a replay must not create again"
        )
    if settings.bus is not BusKind.KAFKA:
        raise ReplayRefused(
            "the in-process bus keeps no log to replay; a replay needs the Kafka bus "
            "(bus=kafka in the service's settings)"
        )


async def replay_read_models(
    spec: ServiceSpec,
    settings: ServiceSettings,
    *,
    on_start: Callable[[list[TopicReplay]], None] | None = None,
    on_record: OnRecord | None = None,
) -> ReplayReport:
    check_replayable(spec, settings)
    assert spec.reset_read_models is not None
    group = settings.consumer_group or spec.name
    database = Database(settings.database_url, pool_size=2)
    dispatcher = InboxDispatcher(database, spec.messaging.inbox, group, spec.handlers)
    timeout_s = settings.kafka_request_timeout_s
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{spec.name}-replay",
        group_id=None,  # positions of its own: the live group's offsets are not touched
        enable_auto_commit=False,
        request_timeout_ms=int(timeout_s * 1000) + 30_000,
    )
    try:
        await asyncio.wait_for(consumer.start(), timeout_s)
        ends, report = await _assign_from_beginning(consumer, settings, dispatcher.topics, group)
        if on_start is not None:
            on_start(report.topics)
        async with database.transaction() as session:
            report.forgotten_claims = await forget_claims(session, spec.messaging.inbox, group)
            await spec.reset_read_models(session)
        await _apply_until(consumer, ends, dispatcher, report, settings, on_record)
        report.claims = await _claims_of(database, spec, group)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(consumer.stop(), timeout_s)
        await database.dispose()
    return report


async def _assign_from_beginning(
    consumer: AIOKafkaConsumer,
    settings: ServiceSettings,
    topics: list[str],
    group: str,
) -> tuple[dict[TopicPartition, int], ReplayReport]:
    namespace = settings.kafka_namespace
    async with asyncio.timeout(settings.kafka_request_timeout_s * 2):
        partitions = [
            TopicPartition(namespace + topic, partition)
            for topic, partition in await _partitions_of(settings, topics)
        ]
        if partitions:
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
        beginnings = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
    report = ReplayReport(
        group,
        [
            TopicReplay(
                topic,
                sum(
                    ends[tp] - beginnings[tp] for tp in partitions if tp.topic == namespace + topic
                ),
            )
            for topic in topics
        ],
    )
    return {tp: end for tp, end in ends.items() if end > beginnings[tp]}, report


async def _partitions_of(settings: ServiceSettings, topics: list[str]) -> list[tuple[str, int]]:
    """(topic, partition) of the topics that exist; a topic never created has nothing to replay."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        request_timeout_ms=int(settings.kafka_request_timeout_s * 1000),
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [settings.kafka_namespace + t for t in topics]
        described = await admin.describe_topics([t for t in wanted if t in existing])
    finally:
        await admin.close()
    partitions = {
        d["topic"]: sorted(p["partition"] for p in d["partitions"])
        for d in described
        if d["error_code"] == 0
    }
    return [
        (topic, partition)
        for topic in topics
        for partition in partitions.get(settings.kafka_namespace + topic, [])
    ]


async def _apply_until(
    consumer: AIOKafkaConsumer,
    ends: dict[TopicPartition, int],
    dispatcher: InboxDispatcher,
    report: ReplayReport,
    settings: ServiceSettings,
    on_record: OnRecord | None,
) -> None:
    """Apply each partition's records below its end offset, in order; pause it once there."""
    by_topic = {settings.kafka_namespace + t.topic: t for t in report.topics}
    retry = RetryPolicy(settings.consumer_max_attempts, settings.consumer_retry_backoff_s)
    remaining = set(ends)
    consumer.pause(*(tp for tp in consumer.assignment() if tp not in remaining))
    # Records below the end offsets exist: a long silence means the broker is gone.
    patience_s = settings.kafka_request_timeout_s * 3
    last_record = asyncio.get_running_loop().time()
    while remaining:
        batches = await consumer.getmany(*remaining, timeout_ms=1000, max_records=500)
        now = asyncio.get_running_loop().time()
        if batches:
            last_record = now
        elif now - last_record > patience_s:
            raise TimeoutError(f"no records from the broker for {patience_s:.0f}s")
        for tp, records in batches.items():
            progress = by_topic[tp.topic]
            for record in records:
                if record.offset >= ends[tp]:
                    break
                await _apply(record, dispatcher, retry, progress, report)
                if on_record is not None:
                    on_record(progress)
            if await consumer.position(tp) >= ends[tp]:
                remaining.discard(tp)
                consumer.pause(tp)


async def _apply(
    record: ConsumerRecord[bytes, bytes],
    dispatcher: InboxDispatcher,
    retry: RetryPolicy,
    progress: TopicReplay,
    report: ReplayReport,
) -> None:
    progress.read += 1
    try:
        event = CloudEvent.from_kafka(record.value, list(record.headers or []), record.key)
    except MalformedEvent:
        # The live consumer dead-lettered it already; the replay has nothing to rebuild from it.
        progress.malformed += 1
        return
    error = await handle_with_retries(dispatcher, event, retry)
    if error is not None:
        progress.failed += 1
        report.failures.append(
            f"{progress.topic}[{record.partition}]@{record.offset} {event.type} {event.id}: "
            f"{error!r}"
        )


async def _claims_of(database: Database, spec: ServiceSpec, group: str) -> int:
    inbox = spec.messaging.inbox
    async with database.sessionmaker() as session:
        return await count_claims(session, inbox, group)
