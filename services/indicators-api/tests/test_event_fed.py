"""Indicators fed by the dialogue's own activity: meetings held and activities hosted arrive as
events (on the in-process bus, as meetings-api and plan-api publish them)."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bp_common.events.envelope import CloudEvent
from bp_common.security import Role
from bp_common.testing import eventually, identity_headers, running
from meetings_api.app import create_app as create_meetings_app
from meetings_api.settings import MeetingsSettings

from .conftest import Api, answered_rollups, expected_rollups


def meeting_held(
    country: str, starts_on: str, participants: int | None = None, countries: int = 0
) -> CloudEvent:
    meeting_id = str(uuid.uuid4())
    data: dict[str, Any] = {
        "meeting_id": meeting_id,
        "title": "Senior Officials Meeting",
        "kind": "senior_officials_meeting",
        "status": "held",
        "starts_on": starts_on,
        "ends_on": starts_on,
        "city": "Istanbul",
        "country": country,
        "working_group": None,
        "activity_id": None,
        "revision": 1,
        "goals": [1, 5],
    }
    if participants is not None:
        data["attendance"] = {
            "participants": participants,
            "countries": countries,
            "organisations": 11,
        }
    return CloudEvent(
        type="meetings.meeting.held.v1", source="/meetings", subject=meeting_id, data=data
    )


def activity_hosted(hosts: list[str], year: int, quarter: int | None = None) -> CloudEvent:
    activity_id = str(uuid.uuid4())
    return CloudEvent(
        type="plan.activity.hosted.v1",
        source="/plan",
        subject=activity_id,
        data={
            "activity_id": activity_id,
            "plan_id": str(uuid.uuid4()),
            "title": "Thematic meeting on return and reintegration",
            "goal": 1,
            "kind": "thematic_meeting",
            "working_group": None,
            "year": year,
            "quarter": quarter,
            "starts_on": None,
            "ends_on": None,
            "status": "hosted",
            "host_countries": hosts,
            "revision": 2,
            "offer_id": str(uuid.uuid4()),
        },
    )


def replayed(event: CloudEvent) -> CloudEvent:
    """The same fact under a new event id (e.g. a republished outbox row)."""
    return CloudEvent(type=event.type, source=event.source, subject=event.subject, data=event.data)


def facts(indicator: str, events: list[CloudEvent], metric: str) -> list[dict[str, Any]]:
    """The rows an event-fed indicator counts, stated independently of the service."""
    rows = []
    for event in events:
        data = event.data
        if event.type == "plan.activity.hosted.v1":
            period = f"{data['year']}-Q{data['quarter']}" if data["quarter"] else str(data["year"])
            rows += [{"country": c, "period": period, "value": 1} for c in data["host_countries"]]
        elif metric == "meetings_held":
            rows.append({"country": data["country"], "period": data["starts_on"][:7], "value": 1})
        elif "attendance" in data:
            value = data["attendance"]["participants" if metric == "participants" else "countries"]
            rows.append(
                {"country": data["country"], "period": data["starts_on"][:7], "value": value}
            )
    return [
        r
        | {
            "indicator": indicator,
            "year": int(r["period"][:4]),
            "organisation": None,
            "project": None,
        }
        for r in rows
    ]


async def test_meetings_held_and_activities_hosted_feed_their_indicators(api: Api) -> None:
    await api.project()
    indicators = {"MEET": await api.indicator("MEET", source="meetings_held")}
    meetings = [
        meeting_held("TR", "2019-12-04", participants=82, countries=37),
        meeting_held("BG", "2020-03-10", participants=40, countries=12),
        meeting_held("BG", "2020-06-02"),  # the event names no attendance: a meeting still
    ]
    hosted = [activity_hosted(["BG", "LV"], 2020, 2), activity_hosted(["AZ"], 2020)]
    await api.publish(*meetings, *hosted)
    await api.publish(meetings[0], replayed(meetings[1]), replayed(hosted[0]))  # count once

    # Indicators created after the events get the facts counted so far.
    indicators["PART"] = await api.indicator("PART", source="participants", aggregation="mean")
    indicators["CTRY"] = await api.indicator(
        "CTRY", source="countries_represented", aggregation="max", goal=2
    )
    indicators["HOST"] = await api.indicator(
        "HOST", source="activities_hosted", targets=[{"year": 2020, "value": 4}]
    )
    later = [meeting_held("BG", "2020-11-20", participants=60, countries=20)]
    await api.publish(*later)
    received = meetings + later

    rows = (
        facts("MEET", received, "meetings_held")
        + facts("PART", received, "participants")
        + facts("CTRY", received, "countries_represented")
        + facts("HOST", hosted, "activities_hosted")
    )
    for by in (["goal", "country", "year"], ["year"], ["goal"], ["organisation"]):
        answer = await api.rollups(by=",".join(by))
        assert answered_rollups(answer, by) == pytest.approx(
            expected_rollups(indicators, rows, by)
        ), by
    assert answered_rollups(
        await api.rollups(by="country,year", indicator="MEET"), ["country", "year"]
    ) == {
        ("MEET", "TR", 2019): 1,
        ("MEET", "BG", 2020): 3,
    }
    [host_2020] = await api.rollups(by="year", indicator="HOST")
    assert (host_2020["value"], host_2020["target"], host_2020["progress"]) == (3, 4, 0.75)
    assert (await api.rollups(by="year", indicator="PART", year=2020))[0]["value"] == 50

    metric = await api.client.get("/v1/event-metrics/meetings_held", headers=api.VIEWER)
    assert metric.json()["value"] == 4
    hosted_metric = await api.client.get(
        "/v1/event-metrics/activities_hosted", params={"country": "BG"}, headers=api.VIEWER
    )
    assert hosted_metric.json()["breakdown"] == [
        {"metric": "activities_hosted", "country": "BG", "year": 2020, "value": 1}
    ]

    events = await api.settle()
    updated = [
        (e.subject, e.data["groups"]) for e in events if e.type == "indicators.rollup.updated.v1"
    ]
    assert ("MEET", [{"goal": 1, "country": "TR", "year": 2019}]) in updated
    assert (
        "HOST",
        [{"goal": 1, "country": c, "year": 2020} for c in ("AZ", "BG", "LV")],
    ) in updated
    assert updated[-3:] == [  # the last meeting, one event per indicator it changed
        (code, [{"goal": goal, "country": "BG", "year": 2020}])
        for code, goal in (("CTRY", 2), ("MEET", 1), ("PART", 1))
    ]
    assert api.bus.dead_letters == []


async def test_an_event_that_cannot_be_read_is_dead_lettered(api: Api) -> None:
    await api.indicator("MEET", source="meetings_held")
    broken = CloudEvent(
        type="meetings.meeting.held.v1", source="/meetings", subject="m", data={"country": "TR"}
    )
    await api.publish(broken, meeting_held("TR", "2020-01-01"))
    assert [d.event.id for d in api.bus.dead_letters] == [broken.id]
    assert (await api.rollups(by=""))[0]["value"] == 1


@pytest.fixture
async def meetings(api: Api, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """meetings-api on the same bus, as in the embedded mode."""
    settings = MeetingsSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/meetings.db", outbox_poll_interval_s=0.05
    )
    async with running(create_meetings_app(settings, bus=api.bus)) as client:
        yield client


async def test_holding_a_meeting_in_meetings_api_counts_without_calling_indicators(
    api: Api, meetings: httpx.AsyncClient
) -> None:
    await api.indicator("MEET", source="meetings_held", targets=[{"year": 2020, "value": 2}])
    secretariat = identity_headers(Role.SECRETARIAT)
    created = await meetings.post(
        "/v1/meetings",
        json={
            "title": "Black Sea Regional Working Group",
            "kind": "working_group_meeting",
            "starts_on": "2020-05-12",
            "ends_on": "2020-05-13",
            "city": "Sofia",
            "country": "BG",
        },
        headers=secretariat,
    )
    assert created.status_code == 201, created.text
    held = await meetings.post(f"/v1/meetings/{created.json()['id']}/hold", headers=secretariat)
    assert held.status_code == 200

    async def counted() -> bool:
        return await api.rollups(by="country,year") != []

    await eventually(counted)
    [rollup] = await api.rollups(by="country,year")
    assert (rollup["country"], rollup["year"], rollup["value"], rollup["progress"]) == (
        "BG",
        2020,
        1,
        0.5,
    )
