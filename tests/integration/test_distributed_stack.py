"""The distributed mode as users run it: `deploy/stack.sh` starts each service and the gateway
as its own process, on PostgreSQL and Kafka; the slice works through the gateway."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import jsonschema_rs
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from bp_common.testing import eventually
from bpctl.demo import load_demo
from tests.story import check_story

from .conftest import KAFKA
from .stack import hold_a_meeting_once_ready, stack_running

ADMIN_KEY = "bp_admin_stack-test-key"
PORTS = {
    "GATEWAY_PORT": 18000,
    "MEETINGS_PORT": 18001,
    "PLAN_PORT": 18002,
    "INDICATORS_PORT": 18003,
}


@pytest.fixture
async def gateway(
    fresh_database: Callable[[str], Awaitable[str]], namespace: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        stack_running(PORTS, fresh_database, namespace, tmp_path, ADMIN_KEY),
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{PORTS['GATEWAY_PORT']}",
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            timeout=15,
        ) as client,
    ):
        yield client


async def test_the_slice_works_across_processes(gateway: httpx.AsyncClient) -> None:
    held = await hold_a_meeting_once_ready(gateway)
    assert held.headers["x-request-id"]

    async def counted() -> bool:
        response = await gateway.get("/v1/event-metrics/meetings_held")
        return float(response.json()["value"]) == 1

    await eventually(counted, within_s=30, every_s=0.1)
    unauthenticated = await gateway.get("/v1/meetings", headers={"Authorization": ""})
    assert unauthenticated.status_code == 401
    async with httpx.AsyncClient(timeout=5) as client:
        direct = await client.get(f"http://127.0.0.1:{PORTS['MEETINGS_PORT']}/v1/meetings")
        assert direct.status_code == 401

        async def caught_up() -> bool:
            """Each service reports its consumers' lag on the real broker (offsets committed
            just after the handler's transaction: zero soon after the count moved)."""
            readiness = await client.get(f"http://127.0.0.1:{PORTS['INDICATORS_PORT']}/readyz")
            assert readiness.status_code == 200
            return bool(readiness.json()["consumer_lag"].get("meetings.events") == 0)

        await eventually(caught_up, every_s=0.1)


async def test_the_istanbul_story_works_across_processes(
    gateway: httpx.AsyncClient, namespace: str
) -> None:
    """The same story as tests/test_istanbul_story.py, over PostgreSQL and Kafka; then every
    record on the three topics matches the schema its ``ce_dataschema`` names, as the gateway
    serves it."""
    demo = await load_demo(gateway, ADMIN_KEY, within_s=60)
    await check_story(gateway, ADMIN_KEY, demo)

    records = await read_topics(namespace, ["meetings.events", "plan.events", "indicators.events"])
    assert {topic for topic, _ in records} == {
        "meetings.events",
        "plan.events",
        "indicators.events",
    }
    validators: dict[str, jsonschema_rs.Validator] = {}
    for topic, record in records:
        headers = {name: value.decode() for name, value in record.headers}
        where = f"{topic}@{record.partition}:{record.offset} {headers.get('ce_type')}"
        url = headers.get("ce_dataschema")
        assert url, f"{where} names no ce_dataschema"
        if url not in validators:
            served = await gateway.get(httpx.URL(url).path, headers={"Authorization": ""})
            assert served.status_code == 200, f"{where}: {url} is not served"
            assert served.json()["$id"] == url
            validators[url] = jsonschema_rs.validator_for(served.json())
        errors = [
            error.message for error in validators[url].iter_errors(orjson.loads(record.value))
        ]
        assert not errors, f"{where} does not match {url}: {errors}"
    assert len(validators) >= 10  # the story exercises most event types


async def read_topics(
    namespace: str, topics: list[str]
) -> list[tuple[str, ConsumerRecord[bytes, bytes]]]:
    """Every record on ``topics`` up to their current end, read without a consumer group."""
    consumer = AIOKafkaConsumer(
        *(namespace + topic for topic in topics),
        bootstrap_servers=KAFKA,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        # Without a group every partition of the topics is assigned, once their metadata is in.
        async def assigned() -> bool:
            return {tp.topic for tp in consumer.assignment()} == {namespace + t for t in topics}

        await eventually(assigned, within_s=30, every_s=0.1)
        partitions = sorted(consumer.assignment())
        ends = await consumer.end_offsets(partitions)
        records: list[tuple[str, ConsumerRecord[bytes, bytes]]] = []
        async with asyncio.timeout(60):
            while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                batches = await consumer.getmany(timeout_ms=500)
                for tp, batch in batches.items():
                    topic = tp.topic.removeprefix(namespace)
                    records += [(topic, r) for r in batch if r.offset < ends[tp]]
        return records
    finally:
        await consumer.stop()


async def test_a_stopped_service_is_a_quick_502_and_readiness_names_it(
    gateway: httpx.AsyncClient, tmp_path: Path
) -> None:
    pid = int((tmp_path / "stack" / "meetings-api.pid").read_text())
    os.killpg(pid, signal.SIGKILL)

    async def refused() -> bool:
        return (await gateway.get("/v1/meetings")).status_code == 502

    await eventually(refused, every_s=0.1)
    response = await gateway.get("/v1/meetings")
    # Refused at once, not waited out: a timeout would be a 504 upstream_timeout.
    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "upstream_unavailable"
    readiness = await gateway.get("/readyz")
    assert readiness.status_code == 503
    assert readiness.json()["checks"] == {
        "database": True,
        "meetings": False,
        "plan": True,
        "indicators": True,
        "notifications": True,
    }
    # The other services still answer.
    assert (await gateway.get("/v1/plans")).status_code == 200
