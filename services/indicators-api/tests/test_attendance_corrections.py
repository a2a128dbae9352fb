"""A held meeting's delegation list corrected (meetings-api's
``meetings.meeting.attendance_corrected.v1``): the participants and countries represented it
counts follow, by the meeting's revision, whatever the order the news arrive in; the meeting
stays one meeting held, the dashboard follows, a frozen rollup snapshot does not."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from bp_common.events.envelope import CloudEvent
from indicators_api.app import reset_read_models

from .conftest import Api

MEETING = str(uuid.uuid4())


def news(kind: str, revision: int, participants: int, countries: int) -> CloudEvent:
    return CloudEvent(
        type=f"meetings.meeting.{kind}.v1",
        source="/meetings",
        subject=MEETING,
        data={
            "meeting_id": MEETING,
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
            "attendance": {
                "participants": participants,
                "countries": countries,
                "organisations": 3,
            },
            "goals": [1],
        },
    )


def held(revision: int, participants: int, countries: int) -> CloudEvent:
    return news("held", revision, participants, countries)


def corrected(revision: int, participants: int, countries: int) -> CloudEvent:
    return news("attendance_corrected", revision, participants, countries)


async def indicators(api: Api) -> None:
    for code, source in (
        ("EV.MEET", "meetings_held"),
        ("EV.PART", "participants"),
        ("EV.CTRY", "countries_represented"),
    ):
        await api.indicator(code, source=source)


async def counted(api: Api) -> dict[str, Any]:
    """Each metric's total, and each event-fed indicator's rollup by country and year."""
    totals = {}
    for metric in ("meetings_held", "participants", "countries_represented"):
        answer = await api.client.get(f"/v1/event-metrics/{metric}", headers=api.VIEWER)
        totals[metric] = answer.json()["value"]
    rollups = {
        (r["indicator"], r["country"], r["year"]): r["value"]
        for r in await api.rollups(by="country,year")
    }
    return {"totals": totals, "rollups": rollups}


def expected(participants: int, countries: int) -> dict[str, Any]:
    return {
        "totals": {
            "meetings_held": 1,
            "participants": participants,
            "countries_represented": countries,
        },
        "rollups": {
            ("EV.MEET", "TR", 2019): 1,
            ("EV.PART", "TR", 2019): participants,
            ("EV.CTRY", "TR", 2019): countries,
        },
    }


async def test_a_corrected_attendance_replaces_the_counts_of_the_held_meeting(api: Api) -> None:
    await indicators(api)
    await api.publish(held(3, 40, 20))
    assert await counted(api) == expected(40, 20)
    snapshot = await api.client.get(
        "/v1/rollups/snapshots", params={"meeting": MEETING}, headers=api.VIEWER
    )
    frozen = snapshot.json()
    assert frozen[0]["rows"]

    await api.publish(corrected(4, 45, 21))
    assert await counted(api) == expected(45, 21)
    updated = [e for e in await api.settle() if e.type == "indicators.rollup.updated.v1"]
    assert {e.subject for e in updated[-2:]} == {"EV.PART", "EV.CTRY"}

    # The same news under a new id, and older news, change nothing.
    await api.publish(replace(corrected(4, 45, 21), id=str(uuid.uuid4())), corrected(2, 10, 1))
    assert await counted(api) == expected(45, 21)
    # A delegation withdrawn: fewer again.
    await api.publish(corrected(5, 41, 20))
    assert await counted(api) == expected(41, 20)

    # The dashboard's participants of held meetings follow; the frozen snapshot does not.
    summary = (await api.client.get("/v1/dashboard/summary", headers=api.VIEWER)).json()
    assert (summary["meetings"]["held"], summary["meetings"]["participants"]) == (1, 41)
    again = await api.client.get(
        "/v1/rollups/snapshots", params={"meeting": MEETING}, headers=api.VIEWER
    )
    assert again.json() == frozen


async def test_corrections_arriving_before_or_out_of_order_are_safe(api: Api) -> None:
    await indicators(api)
    # The correction of revision 6 is heard first, then 5, then the meeting held (revision 3).
    await api.publish(corrected(6, 50, 22), corrected(5, 48, 21), held(3, 40, 20))
    assert await counted(api) == expected(50, 22)
    summary = (await api.client.get("/v1/dashboard/summary", headers=api.VIEWER)).json()
    assert (summary["meetings"]["held"], summary["meetings"]["participants"]) == (1, 50)


async def test_a_replay_rebuilds_the_corrected_counts(api: Api) -> None:
    await indicators(api)
    history = [held(3, 40, 20), corrected(4, 45, 21), corrected(5, 30, 18)]
    await api.publish(*history)
    before = await counted(api)
    assert before == expected(30, 18)

    app = api.client._transport.app  # type: ignore[attr-defined]
    async with app.state.database.sessionmaker() as session, session.begin():
        await reset_read_models(session)
    await api.publish(*(replace(e, id=str(uuid.uuid4())) for e in history))
    assert await counted(api) == before
