"""plan-api's corrections against the real PostgreSQL and Kafka: the tombstones under the partial
unique indexes and the ORM's revision check, and meetings-api's withdrawn and corrected
interventions heard through Kafka, replays included."""

from __future__ import annotations

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
from plan_api.app import create_app
from plan_api.settings import PlanSettings

from .conftest import KAFKA, kafka_settings

SECRETARIAT = identity_headers(Role.SECRETARIAT)
MEETING = str(uuid.uuid4())


@pytest.fixture
async def plan_api(
    fresh_database: Callable[[str], Awaitable[str]], namespace: str
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    settings = kafka_settings(PlanSettings, await fresh_database("plan"), namespace)
    async with running(create_app(settings, migrate=True)) as client:
        yield client, namespace


async def call(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
    headers = {**SECRETARIAT, **kwargs.pop("headers", {})}
    response = await client.request(method, path, headers=headers, **kwargs)
    assert response.status_code < 300, f"{method} {path}: {response.text}"
    return response


async def publish(namespace: str, *events: CloudEvent) -> None:
    bus = KafkaBus(KafkaConfig(bootstrap_servers=KAFKA, namespace=namespace))
    try:
        await bus.publish(list(events))
    finally:
        await bus.stop()


def intervention_event(happened: str, data: dict[str, Any], **extra: Any) -> CloudEvent:
    return CloudEvent(
        type=f"meetings.intervention.{happened}.v1",
        source="/meetings",
        subject=data["intervention_id"],
        data=data | extra,
        # The meeting is the aggregate: its events stay in order on one partition.
        partitionkey=MEETING,
    )


async def test_withdrawals_and_corrections_on_postgresql_and_kafka(
    plan_api: tuple[httpx.AsyncClient, str],
) -> None:
    client, namespace = plan_api
    plan = (
        await call(
            client,
            "POST",
            "/v1/plans",
            json={
                "title": "Plan",
                "period_start": 2020,
                "period_end": 2024,
                "goals": [{"number": 1, "title": "Goal 1"}],
            },
        )
    ).json()
    activity = (
        await call(
            client,
            "POST",
            f"/v1/plans/{plan['id']}/activities",
            json={"title": "Training", "goal": 1, "kind": "training", "year": 2021},
        )
    ).json()
    offers = f"/v1/activities/{activity['id']}/hosting-offers"

    # Through the API: withdrawn, then offered again by the same state (the partial index).
    offer = (await call(client, "POST", offers, json={"country": "BG"})).json()
    stale = await client.post(
        f"/v1/hosting-offers/{offer['id']}/withdraw",
        json={"reason": "Twice"},
        headers={**SECRETARIAT, "If-Match": '"5"'},
    )
    assert stale.status_code == 412
    await call(
        client,
        "POST",
        f"/v1/hosting-offers/{offer['id']}/withdraw",
        json={"reason": "Twice"},
        headers={"If-Match": '"1"'},
    )
    await call(client, "POST", offers, json={"country": "BG"})

    # Through Kafka: Latvia's offer at a meeting, corrected to Türkiye, then withdrawn; the
    # whole story heard twice.
    record = {
        "intervention_id": str(uuid.uuid4()),
        "meeting_id": MEETING,
        "delegation": "LV",
        "delegation_type": "state",
        "kind": "offer_to_host",
        "text": "Latvia offers Riga",
        "agenda_item_id": None,
        "plan_id": None,
        "plan_version": None,
        "activity_id": activity["id"],
        "year": 2021,
        "amendment": None,
    }
    story = [
        intervention_event("recorded", record),
        intervention_event(
            "corrected", record, delegation="TR", revision=2, changed=["delegation"]
        ),
        intervention_event("withdrawn", record, delegation="TR", reason="Not said", revision=3),
    ]
    # Each event delivered twice (the inbox drops the copy), then the story heard again as new
    # events (a replay): the news log drops those. Azerbaijan's offer comes last on the same
    # partition: once it is there, everything before it was handled.
    replayed = [dataclasses.replace(e, id=str(uuid.uuid4())) for e in story]
    marker = record | {"intervention_id": str(uuid.uuid4()), "delegation": "AZ"}
    await publish(namespace, *story, *story, *replayed, intervention_event("recorded", marker))

    async def heard_all() -> bool:
        listed = (await call(client, "GET", f"{offers}?include_withdrawn=true")).json()["items"]
        return "AZ" in {o["country"] for o in listed}

    await eventually(heard_all)
    listed = (await call(client, "GET", f"{offers}?include_withdrawn=true")).json()["items"]
    assert sorted((o["country"], o["withdrawn_at"] is not None) for o in listed) == [
        ("AZ", False),
        ("BG", False),
        ("BG", True),
        ("LV", True),
        ("TR", True),
    ]
    standing = (await call(client, "GET", offers)).json()["items"]
    assert sorted(o["country"] for o in standing) == ["AZ", "BG"]
