"""indicators-api's corrections against the real PostgreSQL and Kafka: two officers correcting
one indicator at once (the row lock and the revision check: one wins, the other gets 412), a
withdrawal racing a replace import of the same organisation (serialised: the rollups stay the
rules over the standing results), and a held meeting's corrected attendance heard through Kafka,
duplicates, older news and a replay included."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from bp_common.events.envelope import CloudEvent
from bp_common.events.kafka_bus import KafkaBus, KafkaConfig
from bp_common.security import Role
from bp_common.testing import eventually, identity_headers, running
from indicators_api.app import create_app
from indicators_api.settings import IndicatorsSettings

from .conftest import KAFKA, kafka_settings

SECRETARIAT = identity_headers(Role.SECRETARIAT)
PROJECT = {
    "code": "IMM-SR",
    "title": "Improving Migration Management in the Silk Routes Region",
    "implementing_organisations": ["IOM"],
    "countries": ["AF", "PK"],
    "goals": [1],
    "starts_on": "2019-01-01",
    "ends_on": "2023-12-31",
}


def indicator(code: str, **fields: Any) -> dict[str, Any]:
    return {
        "code": code,
        "title": code,
        "level": "output",
        "goal": 1,
        "measure": "unit",
        "aggregation": "sum",
    } | fields


@pytest.fixture
async def indicators_api(
    fresh_database: Callable[[str], Awaitable[str]], namespace: str
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    settings = kafka_settings(IndicatorsSettings, await fresh_database("indicators"), namespace)
    async with running(create_app(settings, migrate=True)) as client:
        yield client, namespace


async def call(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
    headers = {**SECRETARIAT, **kwargs.pop("headers", {})}
    response = await client.request(method, path, headers=headers, **kwargs)
    assert response.status_code < 300, f"{method} {path}: {response.text}"
    return response.json()


async def test_concurrent_corrections_and_withdrawals_on_postgresql(
    indicators_api: tuple[httpx.AsyncClient, str],
) -> None:
    client, _ = indicators_api
    await call(client, "POST", "/v1/projects", json=PROJECT)
    await call(client, "POST", "/v1/indicators", json=indicator("1.SUM"))

    # Two officers read revision 1 and correct at once: exactly one wins.
    answers = await asyncio.gather(
        *(
            client.patch(
                "/v1/indicators/1.SUM",
                json={"title": title},
                headers={**SECRETARIAT, "If-Match": '"1"'},
            )
            for title in ("People reached", "Persons reached")
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 412]
    winner = next(a for a in answers if a.status_code == 200)
    now = await client.get("/v1/indicators/1.SUM", headers=SECRETARIAT)
    assert (now.headers["etag"], now.json()["title"]) == ('"2"', winner.json()["title"])

    # A withdrawal and a replace import of the same organisation, at once.
    rows = [
        {
            "external_id": f"r{i}",
            "project": "IMM-SR",
            "indicator": "1.SUM",
            "period": "2020" if i % 2 else "2021",
            "country": "AF" if i % 3 else "PK",
            "value": i,
        }
        for i in range(200)
    ]
    await call(client, "POST", "/v1/results/import", json={"organisation": "IOM", "results": rows})
    withdrawal, replace = await asyncio.gather(
        client.post(
            "/v1/results/withdraw",
            json={
                "organisation": "IOM",
                "external_ids": [f"r{i}" for i in range(0, 200, 5)],
                "reason": "Duplicates.",
            },
            headers=SECRETARIAT,
        ),
        client.post(
            "/v1/results/import",
            params={"mode": "replace"},
            json={"organisation": "IOM", "results": rows[:150]},
            headers=SECRETARIAT,
        ),
    )
    assert (withdrawal.status_code, replace.status_code) == (200, 200)
    standing = (await call(client, "GET", "/v1/results?limit=500"))["items"]
    # r150..r199 left out of the replace push (every period it reports); every 5th withdrawn,
    # unless the replace pushed it again after the withdrawal (it then stands again).
    assert {r["external_id"] for r in standing} <= {f"r{i}" for i in range(150)}
    assert len(standing) >= 150 - len(range(0, 150, 5))
    by_year: dict[int, float] = {}
    for r in standing:
        by_year[r["year"]] = by_year.get(r["year"], 0) + r["value"]
    rollups = await call(client, "GET", "/v1/rollups", params={"by": "year"})
    assert {r["year"]: r["value"] for r in rollups} == by_year


def meeting_news(kind: str, meeting_id: str, revision: int, participants: int) -> CloudEvent:
    return CloudEvent(
        type=f"meetings.meeting.{kind}.v1",
        source="/meetings",
        subject=meeting_id,
        partitionkey=meeting_id,
        data={
            "meeting_id": meeting_id,
            "title": "Senior Officials Meeting",
            "kind": "senior_officials_meeting",
            "status": "held",
            "starts_on": "2019-12-04",
            "ends_on": "2019-12-05",
            "city": "Istanbul",
            "country": "TR",
            "working_group": None,
            "activity_id": None,
            "revision": revision,
            "attendance": {"participants": participants, "countries": 3, "organisations": 1},
            "goals": [],
        },
    )


async def test_a_corrected_attendance_heard_through_kafka(
    indicators_api: tuple[httpx.AsyncClient, str],
) -> None:
    client, namespace = indicators_api
    await call(client, "POST", "/v1/indicators", json=indicator("EV.PART", source="participants"))
    meeting = str(uuid.uuid4())
    story = [
        meeting_news("held", meeting, 3, 40),
        meeting_news("attendance_corrected", meeting, 5, 45),
        meeting_news("attendance_corrected", meeting, 4, 10),  # older, heard late
    ]
    replayed = [dataclasses.replace(e, id=str(uuid.uuid4())) for e in story]
    # A last news of the same meeting (same key, same partition, so handled after the rest)
    # that only the dashboard shows: once it shows, everything before it was handled.
    last = dataclasses.replace(
        meeting_news("cancelled", meeting, 9, 45),
        data=meeting_news("cancelled", meeting, 9, 45).data | {"status": "cancelled"},
    )
    bus = KafkaBus(KafkaConfig(bootstrap_servers=KAFKA, namespace=namespace))
    try:
        await bus.publish([*story, *story, *replayed, last])
    finally:
        await bus.stop()

    async def heard_all() -> bool:
        summary = await call(client, "GET", "/v1/dashboard/summary")
        return bool(summary["meetings"]["cancelled"] == 1)

    await eventually(heard_all, within_s=60)
    total = await call(client, "GET", "/v1/event-metrics/participants")
    assert total["value"] == 45
    rollups = await call(client, "GET", "/v1/rollups", params={"indicator": "EV.PART"})
    assert [r["value"] for r in rollups] == [45]
