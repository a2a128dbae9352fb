"""One trace on the real broker: the accept request in plan-api, its event stored with the
request's trace context in the outbox, the relay's publish, the Kafka record's traceparent
header (read by an independent client) and meetings-api's calendar handler."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY
from sqlalchemy import select

from bp_common.observability import tracing
from bp_common.security import Role
from bp_common.testing import eventually, identity_headers, running
from meetings_api.app import create_app as create_meetings_app
from meetings_api.settings import MeetingsSettings
from plan_api.app import SPEC as PLAN_SPEC
from plan_api.app import create_app as create_plan_app
from plan_api.settings import PlanSettings

from .conftest import KAFKA, kafka_settings

SECRETARIAT = identity_headers(Role.SECRETARIAT)
HOSTED = "plan.activity.hosted.v1"
ACCEPT_ROUTE = "/v1/hosting-offers/{offer_id}/accept"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.configure_tracing("tracing-test", tracing.TracingExporter.NONE, span_exporter=exporter)
    try:
        yield exporter
    finally:
        tracing.shutdown_tracing()


@pytest.fixture
async def services(
    spans: InMemorySpanExporter,
    fresh_database: Callable[[str], Awaitable[str]],
    namespace: str,
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, Any]]:
    # Made once tracing is on: their apps, engines and clients are instrumented.
    plan_app = create_plan_app(
        kafka_settings(PlanSettings, await fresh_database("plan"), namespace), migrate=True
    )
    meetings_app = create_meetings_app(
        kafka_settings(MeetingsSettings, await fresh_database("meetings"), namespace),
        migrate=True,
    )
    async with running(plan_app) as plan, running(meetings_app) as meetings:
        yield plan, meetings, plan_app.state.runtime


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def traceparent_ids(traceparent: str) -> tuple[int, int]:
    _version, trace_id, span_id, _flags = traceparent.split("-")
    return int(trace_id, 16), int(span_id, 16)


async def test_one_trace_runs_from_the_accept_through_kafka_to_the_calendar(
    services: tuple[httpx.AsyncClient, httpx.AsyncClient, Any],
    spans: InMemorySpanExporter,
    namespace: str,
) -> None:
    plan, meetings, plan_runtime = services
    plan_body = {
        "title": "Implementation Plan",
        "period_start": 2020,
        "period_end": 2024,
        "goals": [{"number": 1, "title": "Goal 1", "action_points": ["Point 1.1"]}],
    }
    plan_id = (await ok(await plan.post("/v1/plans", json=plan_body, headers=SECRETARIAT), 201))[
        "id"
    ]
    activity = await ok(
        await plan.post(
            f"/v1/plans/{plan_id}/activities",
            json={"title": "Thematic meeting", "goal": 1, "kind": "meeting", "year": 2020},
            headers=SECRETARIAT,
        ),
        201,
    )
    offer = await ok(
        await plan.post(
            f"/v1/activities/{activity['id']}/hosting-offers",
            json={"country": "LV"},
            headers=SECRETARIAT,
        ),
        201,
    )
    accepts = {"service": "plan", "method": "POST", "route": ACCEPT_ROUTE, "status": "200"}
    counted_before = REGISTRY.get_sample_value("bp_http_requests_total", accepts) or 0
    await ok(await plan.post(f"/v1/hosting-offers/{offer['id']}/accept", headers=SECRETARIAT))
    # Traced, the request still counts under its route template.
    assert REGISTRY.get_sample_value("bp_http_requests_total", accepts) == counted_before + 1

    def finished() -> list[ReadableSpan]:
        return list(spans.get_finished_spans())

    [accept] = [
        s
        for s in finished()
        if s.kind is SpanKind.SERVER and s.attributes.get("http.route") == ACCEPT_ROUTE
    ]
    trace_id = accept.context.trace_id

    def of_hosted(kind: SpanKind) -> list[ReadableSpan]:
        return [
            s
            for s in finished()
            if s.kind is kind
            and s.attributes.get("cloudevents.event_type") == HOSTED
            and s.attributes.get("cloudevents.event_subject") == activity["id"]
        ]

    async def handled_by_the_calendar() -> bool:
        return any(
            s.attributes.get("messaging.consumer.group.name") == "meetings"
            for s in of_hosted(SpanKind.CONSUMER)
        )

    await eventually(handled_by_the_calendar, within_s=60, every_s=0.1)

    # The outbox row stored the trace context of the accept request.
    async with plan_runtime.database.sessionmaker() as session:
        [envelope] = (
            await session.scalars(
                select(PLAN_SPEC.messaging.outbox.c.envelope).where(
                    PLAN_SPEC.messaging.outbox.c.event_type == HOSTED
                )
            )
        ).all()
    stored_trace, stored_parent = traceparent_ids(envelope["traceparent"])
    assert stored_trace == trace_id
    request_spans = {s.context.span_id for s in finished() if s.context.trace_id == trace_id}
    assert stored_parent in request_spans

    # The relay published it under a producer span of that trace, child of the stored context.
    [publish] = of_hosted(SpanKind.PRODUCER)
    assert publish.context.trace_id == trace_id
    assert publish.parent is not None
    assert publish.parent.span_id == stored_parent

    # The calendar's handler span continues the producer span, and its SQL runs inside it.
    [handle] = [
        s
        for s in of_hosted(SpanKind.CONSUMER)
        if s.attributes.get("messaging.consumer.group.name") == "meetings"
    ]
    assert handle.context.trace_id == trace_id
    assert handle.parent is not None
    assert handle.parent.span_id == publish.context.span_id
    queries = [
        s for s in finished() if s.parent is not None and s.parent.span_id == handle.context.span_id
    ]
    assert any("calendar" in str(s.attributes.get("db.statement", "")) for s in queries), [
        s.name for s in queries
    ]

    # The record on the broker, read by a client of its own, carries the producer's context.
    record = await hosted_record(namespace, activity["id"])
    headers = {name: value.decode() for name, value in record.headers}
    assert traceparent_ids(headers["traceparent"]) == (trace_id, publish.context.span_id)

    # And the calendar shows the accepted offer.
    entries = await ok(
        await meetings.get(
            "/v1/calendar",
            params={"from": "2020-01-01", "to": "2020-12-31"},
            headers=identity_headers(Role.VIEWER),
        )
    )
    assert activity["id"] in str(entries)


async def hosted_record(namespace: str, activity_id: str) -> ConsumerRecord[bytes, bytes]:
    consumer = AIOKafkaConsumer(
        namespace + "plan.events",
        bootstrap_servers=KAFKA,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        async with asyncio.timeout(30):
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        headers = dict(record.headers)
                        if (
                            headers.get("ce_type") == HOSTED.encode()
                            and headers.get("ce_subject") == activity_id.encode()
                        ):
                            return record
    finally:
        await consumer.stop()
