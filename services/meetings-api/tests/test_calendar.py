"""The calendar read model, built only from events: plan-api's (published here on the in-process
bus, as docs/events.md describes them, or by plan-api itself on the same bus) and this service's
own meeting events."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import select

from bp_common.events.envelope import CloudEvent
from bp_common.events.memory_bus import InMemoryBus
from bp_common.security import Role
from bp_common.testing import deliver, identity_headers, running
from bp_common.testing import settle as settle_app
from meetings_api.app import create_app
from meetings_api.settings import MeetingsSettings
from plan_api.app import create_app as create_plan_app
from plan_api.settings import PlanSettings

Settle = Callable[[], Awaitable[None]]
SECRETARIAT = identity_headers(Role.SECRETARIAT)
VIEWER = identity_headers(Role.VIEWER)
PLAN_ID = str(uuid.uuid4())
BASE_URL = "https://api.example.org"
MEETING = {
    "title": "Thematic meeting on return and reintegration",
    "kind": "thematic_meeting",
    "starts_on": "2020-06-16",
    "ends_on": "2020-06-17",
    "city": "Sofia",
    "country": "BG",
    "working_group": "Black Sea",
}


def activity(activity_id: str, **changes: Any) -> dict[str, Any]:
    """An activity as plan-api publishes it."""
    return {
        "activity_id": activity_id,
        "plan_id": PLAN_ID,
        "title": "Regional meeting on return and reintegration",
        "goal": 1,
        "kind": "thematic_meeting",
        "working_group": "Black Sea",
        "year": 2020,
        "quarter": None,
        "starts_on": None,
        "ends_on": None,
        "status": "proposed",
        "host_countries": [],
        "revision": 0,
    } | changes


def plan_event(event_type: str, data: dict[str, Any]) -> CloudEvent:
    subject = data.get("activity_id") or data["plan_id"]
    return CloudEvent(type=event_type, source="/plan", subject=subject, data=data)


async def calendar(client: httpx.AsyncClient, **params: object) -> list[dict[str, Any]]:
    """Every entry, following the pages."""
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": 2, **params} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/v1/calendar", params=query, headers=VIEWER)
        assert response.status_code == 200, response.text
        entries += response.json()["items"]
        cursor = response.json().get("next_cursor")
        if not cursor:
            return entries


async def feed(client: httpx.AsyncClient, **params: object) -> Calendar:
    response = await client.get("/v1/calendar.ics", params=params, headers=VIEWER)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


async def schedule(client: httpx.AsyncClient, **changes: object) -> dict[str, Any]:
    created = await client.post("/v1/meetings", json=MEETING | changes, headers=SECRETARIAT)
    assert created.status_code == 201, created.text
    meeting: dict[str, Any] = created.json()
    return meeting


async def test_an_accepted_offer_appears_as_a_hosted_activity(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    activity_id = str(uuid.uuid4())
    proposed = activity(activity_id, quarter=2)
    hosted = proposed | {"status": "hosted", "host_countries": ["BG"], "revision": 1}
    await deliver(bus, plan_event("plan.activity.proposed.v1", proposed))
    assert [e["status"] for e in await calendar(client)] == ["proposed"]
    await deliver(
        bus, plan_event("plan.activity.hosted.v1", hosted | {"offer_id": str(uuid.uuid4())})
    )

    [entry] = await calendar(client)
    assert entry == entry | {
        "id": activity_id,
        "source": "activity",
        "title": "Regional meeting on return and reintegration",
        "status": "hosted",
        "host_countries": ["BG"],
        "year": 2020,
        "quarter": 2,
        "starts_on": None,
        "ends_on": None,
        "goal": 1,
        "working_group": "Black Sea",
        "kind": "thematic_meeting",
        "url": f"/v1/activities/{activity_id}",
        "sequence": 1,
    }
    assert [e["id"] for e in await calendar(client, country="bg")] == [activity_id]
    assert await calendar(client, country="LV") == []


async def test_entries_placed_in_a_year_or_quarter_match_every_period_they_meet(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    year_only, third_quarter, dated = (str(uuid.uuid4()) for _ in range(3))
    await deliver(
        bus,
        plan_event("plan.activity.proposed.v1", activity(year_only)),
        plan_event("plan.activity.proposed.v1", activity(third_quarter, quarter=3)),
        plan_event(
            "plan.activity.scheduled.v1",
            activity(dated, status="scheduled", starts_on="2020-03-10", ends_on="2020-03-12"),
        ),
    )

    async def ids(**period: str) -> list[str]:
        return [e["id"] for e in await calendar(client, **period)]

    assert await ids() == [year_only, dated, third_quarter]  # by the start of their span
    assert await ids(**{"from": "2020-06-01", "to": "2020-06-30"}) == [year_only]
    assert await ids(**{"from": "2020-09-30", "to": "2020-10-01"}) == [year_only, third_quarter]
    assert await ids(**{"from": "2020-03-12", "to": "2020-03-12"}) == [year_only, dated]
    assert await ids(to="2019-12-31") == []
    assert await ids(**{"from": "2021-01-01"}) == []
    assert await ids(order="desc") == [third_quarter, dated, year_only]
    [scheduled] = [e for e in await calendar(client) if e["id"] == dated]
    assert (scheduled["starts_on"], scheduled["ends_on"], scheduled["quarter"]) == (
        "2020-03-10",
        "2020-03-12",
        None,
    )


async def test_meetings_enter_the_calendar_through_their_own_events(
    client: httpx.AsyncClient, settle: Settle
) -> None:
    meeting = await schedule(client)
    await settle()
    [entry] = await calendar(client)
    assert entry == entry | {
        "id": meeting["id"],
        "source": "meeting",
        "status": "planned",
        "starts_on": "2020-06-16",
        "ends_on": "2020-06-17",
        "year": 2020,
        "quarter": 2,
        "host_countries": ["BG"],
        "city": "Sofia",
        "url": f"/v1/meetings/{meeting['id']}",
        "sequence": 0,
    }
    path = f"/v1/meetings/{meeting['id']}"
    new_dates = {"starts_on": "2020-07-01", "ends_on": "2020-07-02"}
    await client.patch(path, json=new_dates, headers=SECRETARIAT)
    await client.patch(path, json={"title": "Return and reintegration"}, headers=SECRETARIAT)
    await client.post(f"{path}/cancel", headers=SECRETARIAT)
    await settle()
    [entry] = await calendar(client)
    assert (entry["starts_on"], entry["quarter"], entry["title"], entry["status"]) == (
        "2020-07-01",
        3,
        "Return and reintegration",
        "cancelled",
    )
    assert entry["sequence"] == 3


async def test_a_meeting_stands_for_the_activity_it_realises(
    client: httpx.AsyncClient, bus: InMemoryBus, settle: Settle
) -> None:
    activity_id = str(uuid.uuid4())
    hosted = activity(activity_id, goal=5, status="hosted", host_countries=["BG"], revision=1)
    await deliver(bus, plan_event("plan.activity.hosted.v1", hosted))
    meeting = await schedule(client, activity_id=activity_id)
    await settle()
    [entry] = await calendar(client)
    assert (entry["id"], entry["goal"], entry["activity_id"]) == (meeting["id"], 5, activity_id)
    assert [e["id"] for e in await calendar(client, goal=5)] == [meeting["id"]]
    assert await calendar(client, source="activity") == []

    await client.post(f"/v1/meetings/{meeting['id']}/cancel", headers=SECRETARIAT)
    await settle()
    shown = {(e["source"], e["status"]) for e in await calendar(client)}
    assert shown == {("meeting", "cancelled"), ("activity", "hosted")}


async def test_the_calendar_filters_by_what_dashboards_need(
    client: httpx.AsyncClient, bus: InMemoryBus, settle: Settle
) -> None:
    meeting = await schedule(client)
    silk_routes = activity(
        str(uuid.uuid4()), goal=2, kind="study_visit", working_group="Silk Routes",
        host_countries=["AF", "PK"], status="hosted",
    )  # fmt: skip
    await deliver(bus, plan_event("plan.activity.hosted.v1", silk_routes))
    await settle()

    async def ids(**filters: object) -> list[str]:
        return [e["id"] for e in await calendar(client, **filters)]

    assert await ids(working_group="black sea") == [meeting["id"]]
    assert await ids(kind="study_visit") == [silk_routes["activity_id"]]
    assert await ids(source="meeting") == [meeting["id"]]
    assert await ids(status="hosted", country="PK") == [silk_routes["activity_id"]]
    assert await ids(goal=2) == [silk_routes["activity_id"]]
    assert await ids(goal=6) == []


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"country": "XX"}, "validation_failed"),
        ({"goal": 0}, "validation_failed"),
        ({"goal": 10**30}, "validation_failed"),
        ({"source": "project"}, "validation_failed"),
        ({"from": "2020-13-01"}, "validation_failed"),
        ({"from": "2020-02-01", "to": "2020-01-01"}, "invalid_period"),
        ({"working_group": "\x00"}, "validation_failed"),
        ({"limit": 501}, "validation_failed"),
        ({"cursor": "bm90IGEgY3Vyc29y"}, "invalid_cursor"),
    ],
)
async def test_bad_filters_are_problems(
    client: httpx.AsyncClient, params: dict[str, object], code: str
) -> None:
    for path in ("/v1/calendar", "/v1/calendar.ics"):
        if path.endswith(".ics") and params.keys() & {"cursor", "limit"}:
            continue  # a feed has no pages
        response = await client.get(path, params=params, headers=VIEWER)
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code


async def test_the_ics_feed_has_one_event_per_entry(
    client: httpx.AsyncClient, bus: InMemoryBus, settle: Settle
) -> None:
    meeting = await schedule(client)
    quarter_only = activity(str(uuid.uuid4()), quarter=2, status="hosted", host_countries=["LV"])
    year_only = activity(str(uuid.uuid4()), title="Study visit", host_countries=["AZ"])
    await deliver(
        bus,
        plan_event("plan.activity.hosted.v1", quarter_only),
        plan_event("plan.activity.proposed.v1", year_only),
    )
    await settle()
    before = await feed(client)
    events = {str(e["UID"]): e for e in before.walk("VEVENT")}
    assert len(events) == len(await calendar(client)) == 3

    in_sofia = events[f"meeting-{meeting['id']}@budapest-process"]
    assert in_sofia.decoded("DTSTART") == date(2020, 6, 16)
    assert in_sofia.decoded("DTEND") == date(2020, 6, 18)  # exclusive end
    assert in_sofia["DTSTART"].params["VALUE"] == "DATE"
    assert str(in_sofia["STATUS"]) == "CONFIRMED"
    assert str(in_sofia["URL"]) == f"{BASE_URL}/v1/meetings/{meeting['id']}"
    assert str(in_sofia["LOCATION"]) == "Sofia, Bulgaria"

    second_quarter = events[f"activity-{quarter_only['activity_id']}@budapest-process"]
    assert (second_quarter.decoded("DTSTART"), second_quarter.decoded("DTEND")) == (
        date(2020, 4, 1),
        date(2020, 7, 1),
    )
    assert str(second_quarter["STATUS"]) == "TENTATIVE"
    assert "Q2 2020" in str(second_quarter["DESCRIPTION"])
    whole_year = events[f"activity-{year_only['activity_id']}@budapest-process"]
    assert (whole_year.decoded("DTSTART"), whole_year.decoded("DTEND")) == (
        date(2020, 1, 1),
        date(2021, 1, 1),
    )
    assert "whole year" in str(whole_year["DESCRIPTION"])
    assert str(whole_year["URL"]) == f"{BASE_URL}/v1/activities/{year_only['activity_id']}"

    await client.post(f"/v1/meetings/{meeting['id']}/cancel", headers=SECRETARIAT)
    await settle()
    after = {str(e["UID"]): e for e in (await feed(client)).walk("VEVENT")}
    cancelled = after[f"meeting-{meeting['id']}@budapest-process"]
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert int(cancelled["SEQUENCE"]) > int(in_sofia["SEQUENCE"])
    assert after.keys() == events.keys()

    only_activities = await feed(client, source="activity", country="LV")
    assert [str(e["UID"]) for e in only_activities.walk("VEVENT")] == [
        f"activity-{quarter_only['activity_id']}@budapest-process"
    ]


async def test_stale_and_repeated_events_change_nothing(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    activity_id = str(uuid.uuid4())
    proposed = plan_event("plan.activity.proposed.v1", activity(activity_id))
    hosted = plan_event(
        "plan.activity.hosted.v1",
        activity(activity_id, status="hosted", host_countries=["BG", "LV"], revision=1),
    )
    await deliver(bus, proposed, hosted)
    settled = await calendar(client)
    ics = (await client.get("/v1/calendar.ics", headers=VIEWER)).content
    assert (settled[0]["status"], settled[0]["host_countries"]) == ("hosted", ["BG", "LV"])

    def copy(event: CloudEvent) -> CloudEvent:  # redelivered under a new id, so past the inbox
        return replace(event, id=str(uuid.uuid4()), time=datetime.now(UTC))

    await deliver(bus, copy(proposed))  # older than what is shown
    assert await calendar(client) == settled
    await deliver(bus, copy(hosted), hosted)
    assert await calendar(client) == settled
    assert (await client.get("/v1/calendar.ics", headers=VIEWER)).content == ics


async def test_an_edited_activity_shows_its_edit(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    activity_id = str(uuid.uuid4())
    proposed = plan_event("plan.activity.proposed.v1", activity(activity_id))
    edited = activity(
        activity_id, title="Return and reintegration", goal=4, kind="training",
        working_group="Silk Routes", year=2021, quarter=3, revision=1,
    )  # fmt: skip
    updated = plan_event("plan.activity.updated.v1", edited | {"changed": ["goal", "title"]})
    await deliver(bus, proposed, updated)
    [entry] = await calendar(client)
    assert entry == entry | {
        "title": "Return and reintegration",
        "goal": 4,
        "kind": "training",
        "working_group": "Silk Routes",
        "year": 2021,
        "quarter": 3,
        "status": "proposed",
        "sequence": 1,
    }
    assert [e["id"] for e in await calendar(client, **{"from": "2021-07-01", "to": "2021-09-30"})]
    assert await calendar(client, **{"from": "2020-01-01", "to": "2020-12-31"}) == []
    await deliver(bus, replace(proposed, id=str(uuid.uuid4())))  # older: changes nothing
    assert await calendar(client) == [entry]


async def test_an_unscheduled_activity_is_listed_again_without_dates(
    client: httpx.AsyncClient, bus: InMemoryBus, settle: Settle
) -> None:
    activity_id = str(uuid.uuid4())
    hosted = activity(activity_id, status="hosted", host_countries=["BG"], revision=1)
    await deliver(bus, plan_event("plan.activity.hosted.v1", hosted))
    meeting = await schedule(client, activity_id=activity_id)
    dates = {"starts_on": MEETING["starts_on"], "ends_on": MEETING["ends_on"]}
    scheduled = plan_event(
        "plan.activity.scheduled.v1",
        hosted | dates | {"status": "scheduled", "quarter": 2, "revision": 2},
    )
    await deliver(bus, scheduled)
    await settle()
    assert [e["id"] for e in await calendar(client)] == [meeting["id"]]

    await client.post(f"/v1/meetings/{meeting['id']}/cancel", headers=SECRETARIAT)
    unscheduled = hosted | {"quarter": 2, "revision": 3}
    await deliver(
        bus,
        plan_event(
            "plan.activity.unscheduled.v1",
            unscheduled | {"meeting_id": meeting["id"], "previous": dates},
        ),
    )
    await settle()
    shown = {e["source"]: e for e in await calendar(client)}
    assert shown["meeting"]["status"] == "cancelled"
    assert shown["activity"] == shown["activity"] | {
        "id": activity_id,
        "status": "hosted",
        "starts_on": None,
        "ends_on": None,
        "year": 2020,
        "quarter": 2,
        "sequence": 3,
    }
    before = await calendar(client)
    await deliver(bus, replace(scheduled, id=str(uuid.uuid4())))  # older: changes nothing
    assert await calendar(client) == before


@pytest.fixture
async def plan(bus: InMemoryBus, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """plan-api on the same bus, as in the embedded mode."""
    settings = PlanSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/plan.db", outbox_poll_interval_s=0.05
    )
    async with running(create_plan_app(settings, bus=bus)) as plan_client:
        yield plan_client


async def test_the_calendar_follows_plan_edits_and_a_cancelled_meeting_of_plan_api(
    client: httpx.AsyncClient, plan: httpx.AsyncClient, bus: InMemoryBus, settle: Settle
) -> None:
    async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
        assert response.status_code == status, response.text
        return dict(response.json())

    async def settle_both() -> None:
        """Until neither service has anything left to publish (each reacts to the other)."""
        for _ in range(2):
            await settle()
            await settle_app(plan._transport.app, bus)  # type: ignore[attr-defined]

    plan_body = {
        "title": "Call for Action",
        "period_start": 2020,
        "period_end": 2024,
        "goals": [{"number": n, "title": f"Goal {n}"} for n in (1, 2)],
    }
    plan_id = (await ok(await plan.post("/v1/plans", json=plan_body, headers=SECRETARIAT), 201))[
        "id"
    ]
    created = await ok(
        await plan.post(
            f"/v1/plans/{plan_id}/activities",
            json={"title": "Thematic meeting", "goal": 1, "kind": "meeting", "year": 2020},
            headers=SECRETARIAT,
        ),
        201,
    )
    activity_id = created["id"]
    offer = await ok(
        await plan.post(
            f"/v1/activities/{activity_id}/hosting-offers",
            json={"country": "BG"},
            headers=SECRETARIAT,
        ),
        201,
    )
    await ok(await plan.post(f"/v1/hosting-offers/{offer['id']}/accept", headers=SECRETARIAT))
    edited = await ok(
        await plan.patch(
            f"/v1/activities/{activity_id}",
            json={"title": "Return and reintegration", "goal": 2, "quarter": 2},
            headers=SECRETARIAT,
        )
    )
    await settle_both()
    [entry] = await calendar(client)
    assert entry == entry | {
        "id": activity_id,
        "title": "Return and reintegration",
        "goal": 2,
        "quarter": 2,
        "status": "hosted",
        "sequence": edited["revision"],
    }

    meeting = await schedule(client, activity_id=activity_id)
    await settle_both()
    assert (await ok(await plan.get(f"/v1/activities/{activity_id}", headers=VIEWER)))[
        "status"
    ] == "scheduled"
    assert [e["id"] for e in await calendar(client)] == [meeting["id"]]

    await ok(await client.post(f"/v1/meetings/{meeting['id']}/cancel", headers=SECRETARIAT))
    await settle_both()
    unscheduled = await ok(await plan.get(f"/v1/activities/{activity_id}", headers=VIEWER))
    assert (unscheduled["status"], unscheduled["starts_on"]) == ("hosted", None)
    by_source = {e["source"]: e for e in await calendar(client)}
    assert by_source["meeting"]["status"] == "cancelled"
    assert by_source["activity"] == by_source["activity"] | {
        "status": "hosted",
        "starts_on": None,
        "year": 2020,
        "quarter": 2,
        "goal": 2,
        "host_countries": ["BG"],
        "sequence": unscheduled["revision"],
    }
    assert bus.dead_letters == []


async def test_without_a_revision_only_a_change_counts(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    unrevised = activity(str(uuid.uuid4()), revision=None)
    await deliver(bus, plan_event("plan.activity.proposed.v1", unrevised))
    await deliver(bus, plan_event("plan.activity.proposed.v1", unrevised))
    assert [e["sequence"] for e in await calendar(client)] == [0]
    cancelled = unrevised | {"status": "cancelled"}
    await deliver(bus, plan_event("plan.activity.cancelled.v1", cancelled))
    assert [(e["status"], e["sequence"]) for e in await calendar(client)] == [("cancelled", 1)]


async def test_the_endorsed_plan_brings_its_activities(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    newer = activity(first, status="hosted", host_countries=["BG"], revision=3)
    await deliver(bus, plan_event("plan.activity.hosted.v1", newer))
    endorsed = {
        "plan_id": PLAN_ID,
        "title": "Strategic Document and Implementation Plan",
        "version": 2,
        "meeting_id": None,
        "period_start": "2020-01-01",
        "period_end": "2024-12-31",
        "goals": [{"number": 1, "title": "Irregular migration"}],
        "activities": [activity(first, revision=1), activity(second, goal=4, quarter=1)],
    }
    await deliver(bus, plan_event("plan.endorsed.v1", endorsed))
    shown = {e["id"]: e for e in await calendar(client)}
    assert shown.keys() == {first, second}
    assert (shown[first]["status"], shown[first]["sequence"]) == ("hosted", 3)
    assert shown[second]["goal"] == 4


async def test_a_malformed_plan_event_is_dead_lettered_and_changes_nothing(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    bus.retry = replace(bus.retry, backoff_s=0.01)
    broken = activity(str(uuid.uuid4()), year="next year")
    valid = activity(str(uuid.uuid4()))
    await deliver(
        bus,
        plan_event("plan.activity.proposed.v1", broken),
        plan_event("plan.activity.proposed.v1", valid),
    )
    assert [letter.event.data for letter in bus.dead_letters] == [broken]
    assert [e["id"] for e in await calendar(client)] == [valid["activity_id"]]


async def test_replaying_the_events_rebuilds_the_same_calendar(
    client: httpx.AsyncClient, bus: InMemoryBus, settle: Settle, tmp_path: Path
) -> None:
    realised, offered = str(uuid.uuid4()), str(uuid.uuid4())
    await deliver(
        bus,
        plan_event("plan.activity.proposed.v1", activity(realised, goal=5)),
        plan_event("plan.activity.proposed.v1", activity(offered, quarter=4)),
        plan_event(
            "plan.activity.hosted.v1",
            activity(offered, quarter=4, status="hosted", host_countries=["AZ"], revision=1),
        ),
        plan_event(
            "plan.activity.hosted.v1",
            activity(realised, goal=5, status="hosted", host_countries=["BG"], revision=1),
        ),
    )
    kept = await schedule(client, activity_id=realised)
    dropped = await schedule(client, title="Silk Routes working group", country="AF")
    path = f"/v1/meetings/{kept['id']}"
    await client.patch(
        path, json={"starts_on": "2020-06-18", "ends_on": "2020-06-19"}, headers=SECRETARIAT
    )
    await client.post(f"{path}/hold", headers=SECRETARIAT)
    await client.post(f"/v1/meetings/{dropped['id']}/cancel", headers=SECRETARIAT)
    await settle()
    original = await calendar(client)
    original_ics = (await client.get("/v1/calendar.ics", headers=VIEWER)).content
    assert len(original) == 3

    # A new consumer with an empty database reads both topics from the start.
    replay_bus = InMemoryBus()
    for topic in ("meetings.events", "plan.events"):
        replay_bus.log[topic] = list(bus.log[topic])
    settings = MeetingsSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/replayed.db", public_base_url=BASE_URL
    )
    async with running(create_app(settings, bus=replay_bus)) as replayed:
        await replay_bus.start()
        await replay_bus.wait_idle()
        assert await calendar(replayed) == original
        assert (await replayed.get("/v1/calendar.ics", headers=VIEWER)).content == original_ics
        await replay_bus.stop()

    # Redelivered as copies (new ids, so past the inbox), they change nothing either.
    copies = [
        replace(e, id=str(uuid.uuid4()))
        for t in ("plan.events", "meetings.events")
        for e in bus.log[t]
    ]
    await deliver(bus, *copies)
    assert await calendar(client) == original


async def test_an_instance_with_its_relay_off_keeps_its_events_in_the_outbox(
    tmp_path: Path,
) -> None:
    # A replica rebuilding into another database (OUTBOX_RELAY=false) must not announce again.
    bus = InMemoryBus()
    settings = MeetingsSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/rebuild.db", outbox_relay=False
    )
    app = create_app(settings, bus=bus)
    runtime = app.state.runtime
    outbox = runtime.spec.messaging.outbox
    # The relay's task, named after its table; nothing else publishes an outbox.
    relay_task = f"outbox-relay:{outbox.name}"

    def running_tasks() -> set[str]:
        return {task.get_name() for task in asyncio.all_tasks()}

    async def kept() -> list[tuple[str, datetime | None]]:
        async with app.state.database.sessionmaker() as session:
            rows = (await session.execute(select(outbox.c.event_type, outbox.c.sent_at))).all()
        return [(row.event_type, row.sent_at) for row in rows]

    async with running(app) as client:
        await bus.start()
        try:
            created = await client.post("/v1/meetings", json=MEETING, headers=SECRETARIAT)
            assert created.status_code == 201, created.text
            # No relay runs, so nothing publishes the commit, however long one waits.
            assert relay_task not in running_tasks()
            assert await kept() == [("meetings.meeting.scheduled.v1", None)]
            assert not bus.log["meetings.events"]

            # What it kept is whole: the relay, once started, publishes it as it is.
            runtime.relay.start()
            assert relay_task in running_tasks()
            await settle_app(app, bus)
            assert [e.type for e in bus.log["meetings.events"]] == ["meetings.meeting.scheduled.v1"]
        finally:
            await bus.stop()
