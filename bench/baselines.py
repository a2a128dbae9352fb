"""The physical limits each figure is compared with, measured on the same PostgreSQL and broker."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.load import summary
from bench.stack import KAFKA, PG_URL
from bp_common.testing import delete_namespace

RESULT_COLUMNS = [
    "organisation",
    "external_id",
    "project",
    "indicator",
    "period",
    "country",
    "value",
]


async def copy_rows_per_second(
    database: str, rows: list[tuple[object, ...]], repeats: int = 5
) -> float:
    """asyncpg ``copy_records_to_table`` into a bare table of the same shape: no validation, no
    index but the primary key, no rollup, no event. The best of ``repeats``."""
    connection = await asyncpg.connect(f"{PG_URL}/{database}")
    try:
        await connection.execute(
            """CREATE TABLE IF NOT EXISTS bench_bare_result (
                organisation text, external_id text, project text, indicator text,
                period text, country text, value double precision,
                PRIMARY KEY (organisation, external_id))"""
        )
        best = float("inf")
        for _ in range(repeats):
            await connection.execute("TRUNCATE bench_bare_result")
            started = time.perf_counter()
            await connection.copy_records_to_table(
                "bench_bare_result", records=rows, columns=RESULT_COLUMNS
            )
            best = min(best, time.perf_counter() - started)
        await connection.execute("DROP TABLE bench_bare_result")
    finally:
        await connection.close()
    return len(rows) / best


async def kafka_round_trips(count: int) -> dict[str, float]:
    """Produce one message, wait until a consumer of the same broker sees it; ``count`` times."""
    topic = f"bench-roundtrip-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 1, 1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, acks="all", linger_ms=0)
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=KAFKA, auto_offset_reset="earliest", fetch_max_wait_ms=50
    )
    await producer.start()
    await consumer.start()
    latencies: list[float] = []
    try:
        await consumer.seek_to_end()
        for index in range(count):
            started = time.perf_counter()
            await producer.send_and_wait(topic, str(index).encode())
            while True:
                record = await asyncio.wait_for(consumer.getone(), 10)
                if record.value == str(index).encode():
                    break
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        await producer.stop()
        await consumer.stop()
        await delete_namespace(KAFKA, topic)  # the topic's name is its own namespace
    return summary(latencies)
