"""meetings-api's corrections against the real PostgreSQL and Kafka: the tombstones under the
partial unique indexes, two officers correcting the same record at once (one wins, the other is
told its revision is stale), a held meeting's corrected attendance counted by indicators-api
through Kafka, and plan-api's news of an accepted offer heard through Kafka."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from bp_common.events.envelope import CloudEvent
from bp_common.events.kafka_bus import KafkaBus, KafkaConfig
from bp_common.security import Role
from bp_common.testing import current_if_match, eventually, identity_headers

from .conftest import KAFKA
from .platform import MEETING, Platform

SECRETARIAT = identity_headers(Role.SECRETARIAT)
DELEGATIONS = [
    {"participant": "TR", "headcount": 5},
    {"participant": "BG", "headcount": 2},
    {"participant": "RS", "headcount": 2},
]
STATEMENT = {"delegation": "RS", "kind": "statement", "text": "Serbia supports the plan."}


async def call(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
    headers = {**SECRETARIAT, **kwargs.pop("headers", {})}
    response = await client.request(method, path, headers=headers, **kwargs)
    assert response.status_code < 300, f"{method} {path}: {response.text}"
    return response.json()


async def meeting_with_delegations(platform: Platform) -> str:
    meeting = await call(platform.meetings, "POST", "/v1/meetings", json=MEETING)
    path = f"/v1/meetings/{meeting['id']}"
    await call(platform.meetings, "PUT", f"{path}/delegations", json=DELEGATIONS)
    return str(meeting["id"])


async def test_tombstones_free_their_place_on_postgresql(platform: Platform) -> None:
    client = platform.meetings
    meeting_id = await meeting_with_delegations(platform)
    interventions = f"/v1/meetings/{meeting_id}/interventions"
    first = await call(client, "POST", interventions, json=STATEMENT)
    path = f"/v1/interventions/{first['id']}"
    withdrawal = await current_if_match(client, path, SECRETARIAT)
    await call(client, "DELETE", f"{path}?reason=Wrong.", headers=withdrawal)
    # The same words recorded again: the tombstone holds no place under the unique index.
    again = await call(client, "POST", interventions, json=STATEMENT)
    other = await call(client, "POST", interventions, json=STATEMENT | {"text": "A question."})
    other_path = f"/v1/interventions/{other['id']}"
    copy = await client.patch(
        other_path,
        json={"text": STATEMENT["text"]},
        headers=SECRETARIAT | await current_if_match(client, other_path, SECRETARIAT),
    )
    assert (copy.status_code, copy.json()["code"]) == (409, "already_recorded")
    listed = await call(client, "GET", f"{interventions}?include_withdrawn=true")
    assert [i["id"] for i in listed["items"]] == [first["id"], again["id"], other["id"]]

    # An agenda item withdrawn frees its day and position.
    items = f"/v1/meetings/{meeting_id}/agenda-items"
    item = await call(client, "POST", items, json={"position": 1, "title": "Opening"})
    item_path = f"/v1/agenda-items/{item['id']}"
    withdrawal = await current_if_match(client, item_path, SECRETARIAT)
    await call(client, "DELETE", f"{item_path}?reason=x", headers=withdrawal)
    await call(client, "POST", items, json={"position": 1, "title": "Opening session"})


async def test_two_officers_correcting_at_once_one_wins_the_other_is_stale(
    platform: Platform,
) -> None:
    client = platform.meetings
    meeting_id = await meeting_with_delegations(platform)
    decision = await call(
        client,
        "POST",
        f"/v1/meetings/{meeting_id}/decisions",
        json={"kind": "take_note", "text": "The meeting takes note."},
    )
    path = f"/v1/decisions/{decision['id']}"
    read = await current_if_match(client, path, SECRETARIAT)
    answers = await asyncio.gather(
        *(
            client.patch(path, json={"reservations": [country]}, headers=SECRETARIAT | read)
            for country in ("TR", "BG")
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 412]
    [won] = [a for a in answers if a.status_code == 200]
    stored = await call(client, "GET", path)
    assert (stored["reservations"], stored["revision"]) == (won.json()["reservations"], 2)


async def test_a_held_meetings_corrected_attendance_reaches_indicators_through_kafka(
    platform: Platform,
) -> None:
    client = platform.meetings
    meeting_id = await meeting_with_delegations(platform)
    await call(client, "POST", f"/v1/meetings/{meeting_id}/hold")

    async def participants(expected: float) -> None:
        async def counted() -> bool:
            response = await platform.indicators.get(
                "/v1/event-metrics/participants", headers=SECRETARIAT
            )
            return bool(response.json()["value"] == expected)

        await eventually(counted, within_s=30)

    await participants(9)
    path = f"/v1/meetings/{meeting_id}/delegations/TR"
    correction = await current_if_match(client, path, SECRETARIAT)
    await call(client, "PATCH", path, json={"headcount": 8}, headers=correction)
    await participants(12)
    path = f"/v1/meetings/{meeting_id}/delegations/RS"
    withdrawal = await current_if_match(client, path, SECRETARIAT)
    await call(client, "DELETE", f"{path}?reason=Absent.", headers=withdrawal)
    await participants(10)


async def test_an_offer_accepted_in_plan_api_keeps_its_intervention(
    platform: Platform, namespace: str
) -> None:
    client = platform.meetings
    meeting_id = await meeting_with_delegations(platform)
    activity_id, offer_id, plan_id = (str(uuid.uuid4()) for _ in range(3))
    offer = await call(
        client,
        "POST",
        f"/v1/meetings/{meeting_id}/interventions",
        json={
            "delegation": "BG",
            "kind": "offer_to_host",
            "text": "Bulgaria offers to host it.",
            "activity_id": activity_id,
            "year": 2020,
        },
    )
    hosted = {
        "activity_id": activity_id,
        "plan_id": plan_id,
        "title": "Training",
        "goal": 1,
        "kind": "training",
        "working_group": None,
        "year": 2020,
        "quarter": None,
        "starts_on": None,
        "ends_on": None,
        "status": "hosted",
        "host_countries": ["BG"],
        "revision": 3,
        "offer_id": offer_id,
        "country": "BG",
        "intervention_id": offer["id"],
    }
    bus = KafkaBus(KafkaConfig(bootstrap_servers=KAFKA, namespace=namespace))
    try:
        await bus.publish(
            [
                CloudEvent(
                    type="plan.activity.hosted.v1",
                    source="/plan",
                    subject=activity_id,
                    data=hosted,
                    partitionkey=activity_id,
                )
            ]
        )
    finally:
        await bus.stop()
    path = f"/v1/interventions/{offer['id']}"

    async def shown_hosted() -> bool:
        calendar = await call(client, "GET", "/v1/calendar?from=2020-01-01&to=2020-12-31")
        return any(e["id"] == activity_id for e in calendar["items"])

    # The calendar and the record of accepted offers hear the event in one transaction.
    await eventually(shown_hosted, within_s=30)
    refused = await client.delete(
        f"{path}?reason=x", headers=SECRETARIAT | await current_if_match(client, path, SECRETARIAT)
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "hosting_offer_accepted")
    assert offer_id in refused.json()["detail"]
