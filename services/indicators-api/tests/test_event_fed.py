"""Indicators fed by the dialogue's own activity: meetings held and activities hosted arrive as
events (on the in-process bus, as meetings-api and plan-api publish them)."""

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bp_common.events.envelope import CloudEvent
from bp_common.security import Role
from bp_common.testing import eventually, identity_headers, running
from indicators_api.base import Base
from indicators_api.event_metrics.handlers import reset_read_models
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


def activity_cancelled(hosted: CloudEvent, revision: int = 3) -> CloudEvent:
    """plan-api's cancellation of the activity ``hosted`` announced."""
    data = {k: v for k, v in hosted.data.items() if k != "offer_id"}
    return CloudEvent(
        type="plan.activity.cancelled.v1",
        source="/plan",
        subject=hosted.subject,
        data=data | {"status": "cancelled", "revision": revision},
    )


def activity_news(activity: CloudEvent, kind: str, revision: int, **changes: Any) -> CloudEvent:
    """plan-api's ``plan.activity.<kind>.v1`` of the activity ``activity`` announced, carrying
    the activity as it then stands: ``changes`` applied, at ``revision``."""
    data = {
        k: v
        for k, v in activity.data.items()
        if k not in ("offer_id", "changed", "meeting_id", "previous")
    }
    data |= changes | {"revision": revision}
    if kind == "updated":
        data["changed"] = sorted(changes)
    elif kind == "hosted":
        data["offer_id"] = str(uuid.uuid4())
    elif kind == "unscheduled":
        data |= {
            "meeting_id": str(uuid.uuid4()),
            "previous": {"starts_on": activity.data["starts_on"], "ends_on": None},
        }
    return CloudEvent(
        type=f"plan.activity.{kind}.v1", source="/plan", subject=activity.subject, data=data
    )


def scheduled(activity: CloudEvent, revision: int, starts_on: str) -> CloudEvent:
    """Scheduled by a meeting on ``starts_on``: plan-api's year and quarter follow the date."""
    day = date.fromisoformat(starts_on)
    return activity_news(
        activity,
        "scheduled",
        revision,
        starts_on=starts_on,
        ends_on=starts_on,
        year=day.year,
        quarter=(day.month - 1) // 3 + 1,
        status="scheduled",
    )


def standing(events: list[CloudEvent]) -> list[CloudEvent]:
    """Each activity's news with the highest revision (the first heard of equal ones), unless
    it is its cancellation: what should count, stated independently of the service."""
    latest: dict[str, CloudEvent] = {}
    for event in events:
        activity = event.data["activity_id"]
        if activity not in latest or event.data["revision"] > latest[activity].data["revision"]:
            latest[activity] = event
    return [e for e in latest.values() if e.type != "plan.activity.cancelled.v1"]


def replayed(event: CloudEvent) -> CloudEvent:
    """The same fact under a new event id (e.g. a republished outbox row)."""
    return CloudEvent(type=event.type, source=event.source, subject=event.subject, data=event.data)


def facts(indicator: str, events: list[CloudEvent], metric: str) -> list[dict[str, Any]]:
    """The rows an event-fed indicator counts, stated independently of the service."""
    rows = []
    for event in events:
        data = event.data
        if event.type.startswith("plan.activity."):  # the activity as it stands
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


# -- an activity hosted, then cancelled ------------------------------------------------------

BY = (["goal", "country", "year"], ["year"], ["country"], [])


async def hosting_indicators(api: Api) -> dict[str, dict[str, Any]]:
    """One indicator per rule whose state a cancellation cannot simply decrement."""
    return {
        "HOST": await api.indicator(
            "HOST", source="activities_hosted", targets=[{"year": 2020, "value": 4}]
        ),
        "HLAST": await api.indicator("HLAST", source="activities_hosted", aggregation="latest"),
        "HMAX": await api.indicator("HMAX", source="activities_hosted", aggregation="max", goal=2),
        "HCUM": await api.indicator("HCUM", source="activities_hosted", cumulative=True),
    }


async def assert_counted(
    api: Api, indicators: dict[str, dict[str, Any]], hosted: list[CloudEvent]
) -> None:
    """The rollups are those of exactly the ``hosted`` events, counted from scratch."""
    rows = [row for code in indicators for row in facts(code, hosted, "activities_hosted")]
    for by in BY:
        answer = await api.rollups(by=",".join(by))
        assert answered_rollups(answer, by) == pytest.approx(
            expected_rollups(indicators, rows, by)
        ), by


async def assert_metric(api: Api, hosted: list[CloudEvent]) -> None:
    """The activities_hosted values are those of exactly the ``hosted`` events, per country and
    year."""
    expected: dict[tuple[str, int], float] = defaultdict(float)
    for row in facts("HOST", hosted, "activities_hosted"):
        expected[(row["country"], row["year"])] += row["value"]
    answer = await api.client.get("/v1/event-metrics/activities_hosted", headers=api.VIEWER)
    assert {(r["country"], r["year"]): r["value"] for r in answer.json()["breakdown"]} == expected
    assert answer.json()["value"] == sum(expected.values())


async def rollup_updates(api: Api) -> list[tuple[str, list[dict[str, Any]]]]:
    return [
        (e.subject, e.data["groups"])
        for e in await api.settle()
        if e.type == "indicators.rollup.updated.v1"
    ]


async def test_an_activity_cancelled_after_it_was_hosted_no_longer_counts(api: Api) -> None:
    await api.project()
    indicators = await hosting_indicators(api)
    both = activity_hosted(["BG", "LV"], 2020, 4)
    autumn = activity_hosted(["BG"], 2020, 4)
    spring = activity_hosted(["BG"], 2020, 2)
    later = activity_hosted(["AZ"], 2021)
    await api.publish(both, autumn, spring, later)
    await assert_counted(api, indicators, [both, autumn, spring, later])
    [bg] = await api.rollups(by="country,year", indicator="HLAST", country="BG")
    assert bg["value"] == 2  # the two activities of the latest quarter
    announced = len(await rollup_updates(api))

    await api.publish(activity_cancelled(both))
    await assert_counted(api, indicators, [autumn, spring, later])
    assert await api.rollups(by="country", country="LV") == []
    assert (await rollup_updates(api))[announced:] == [
        (code, [{"goal": goal, "country": c, "year": 2020} for c in ("BG", "LV")])
        for code, goal in (("HCUM", 1), ("HLAST", 1), ("HMAX", 2), ("HOST", 1))
    ]

    # The latest quarter loses its last activity: the latest value is the spring's again, which
    # no decrement of the stored state could find.
    await api.publish(activity_cancelled(autumn))
    await assert_counted(api, indicators, [spring, later])
    [bg] = await api.rollups(by="country,year", indicator="HLAST", country="BG")
    assert bg["value"] == 1
    [host_2020] = await api.rollups(by="year", indicator="HOST", year=2020)
    assert (host_2020["value"], host_2020["progress"]) == (1, 0.25)
    metric = await api.client.get("/v1/event-metrics/activities_hosted", headers=api.VIEWER)
    assert metric.json() == {
        "metric": "activities_hosted",
        "value": 2,
        "breakdown": [
            {"metric": "activities_hosted", "country": "BG", "year": 2020, "value": 1},
            {"metric": "activities_hosted", "country": "AZ", "year": 2021, "value": 1},
        ],
    }
    announced = len(await rollup_updates(api))

    # Heard again (copies past the inbox, the originals), the hosted news among them after the
    # cancellation, or a cancellation of an activity never hosted: nothing changes.
    cancelled = activity_cancelled(both)
    await api.publish(
        replace(cancelled, id=str(uuid.uuid4())),
        activity_cancelled(autumn),
        replayed(both),
        both,
        replayed(autumn),
        activity_cancelled(activity_hosted(["TR"], 2020)),
    )
    await assert_counted(api, indicators, [spring, later])
    assert (
        await api.client.get("/v1/event-metrics/activities_hosted", headers=api.VIEWER)
    ).json() == metric.json()
    assert len(await rollup_updates(api)) == announced
    assert api.bus.dead_letters == []


async def test_hosted_news_older_than_the_cancellation_never_counts(api: Api) -> None:
    await api.project()
    indicators = await hosting_indicators(api)
    # The cancellation first (e.g. the hosted event re-driven from the dead letters later).
    hosted = activity_hosted(["TR"], 2020)
    await api.publish(activity_cancelled(hosted, revision=3), hosted, replayed(hosted))
    await assert_counted(api, indicators, [])
    assert await api.rollups(by="") == []
    # The rule is the revision: news newer than the cancellation (plan-api sends none, as it
    # never changes a cancelled activity) would count.
    newer = replace(hosted, id=str(uuid.uuid4()), data=hosted.data | {"revision": 4})
    await api.publish(newer)
    await assert_counted(api, indicators, [newer])
    # A cancellation without a revision cannot be ordered: dead-lettered, nothing changed.
    unordered = replace(
        activity_cancelled(newer),
        data={k: v for k, v in activity_cancelled(newer).data.items() if k != "revision"},
    )
    await api.publish(unordered)
    assert [d.event.id for d in api.bus.dead_letters] == [unordered.id]
    await assert_counted(api, indicators, [newer])


async def test_a_replay_rebuilds_the_same_counts_from_empty_read_models(api: Api) -> None:
    await api.project()
    indicators = await hosting_indicators(api)
    kept, dropped = activity_hosted(["BG"], 2020, 2), activity_hosted(["BG", "LV"], 2020, 4)
    held = meeting_held("TR", "2020-03-10", participants=40, countries=12)
    history = [kept, dropped, held, activity_cancelled(dropped)]
    await api.publish(*history)
    before = {",".join(by): await api.rollups(by=",".join(by)) for by in BY}

    app = api.client._transport.app  # type: ignore[attr-defined]
    async with app.state.database.sessionmaker() as session, session.begin():
        await reset_read_models(session)
    async with app.state.database.sessionmaker() as session:
        # Every table the event handlers write is emptied, the cancellations' too.
        written = [t for name, t in Base.metadata.tables.items() if name.startswith("event_")]
        assert {t.name for t in written} >= {
            "event_fact",
            "event_metric_value",
            "event_source_revision",
        }
        for table in written:
            assert await session.scalar(select(func.count()).select_from(table)) == 0, table
    assert await api.rollups(by="") == []

    # bpctl replay forgets the inbox claims too: the same events, read again from the start.
    await api.publish(*(replace(e, id=str(uuid.uuid4())) for e in history))
    assert {",".join(by): await api.rollups(by=",".join(by)) for by in BY} == before
    await assert_counted(api, indicators, [kept])


# -- an activity moved, or hosted by another country ----------------------------------------


async def test_a_moved_activity_counts_in_its_new_quarter_and_year(api: Api) -> None:
    await api.project()
    indicators = await hosting_indicators(api)
    stays = activity_hosted(["BG"], 2020, 2)
    moving = activity_hosted(["BG", "LV"], 2020, 4)
    history = [stays, moving, activity_hosted(["AZ"], 2021)]
    await api.publish(*history)
    [bg] = await api.rollups(by="country,year", indicator="HLAST", country="BG")
    assert bg["value"] == 1  # the moving activity, alone in 2020's latest quarter

    # Another quarter of the same year (an edit): the latest quarter of BG is the second, with
    # both activities in it, which no decrement of the stored state could find.
    to_q2 = activity_news(moving, "updated", 3, quarter=2)
    await api.publish(to_q2)
    history.append(to_q2)
    await assert_counted(api, indicators, standing(history))
    await assert_metric(api, standing(history))
    [bg] = await api.rollups(by="country,year", indicator="HLAST", country="BG")
    assert bg["value"] == 2
    announced = len(await rollup_updates(api))

    # Another year (a meeting scheduling it): 2020 loses it, 2021 gains it, in both countries.
    to_2021 = scheduled(moving, 4, "2021-08-03")
    await api.publish(to_2021)
    history.append(to_2021)
    await assert_counted(api, indicators, standing(history))
    await assert_metric(api, standing(history))
    assert await api.rollups(by="country,year", country="LV", year=2020) == []
    [host_2020] = await api.rollups(by="year", indicator="HOST", year=2020)
    assert (host_2020["value"], host_2020["progress"]) == (1, 0.25)
    assert (await rollup_updates(api))[announced:] == [
        (
            code,
            [{"goal": goal, "country": c, "year": y} for y in (2020, 2021) for c in ("BG", "LV")],
        )
        for code, goal in (("HCUM", 1), ("HLAST", 1), ("HMAX", 2), ("HOST", 1))
    ]
    announced = len(await rollup_updates(api))

    # Un-scheduled, it keeps the meeting's year and quarter: nothing moves, nothing announced.
    unscheduled = activity_news(to_2021, "unscheduled", 5, starts_on=None, ends_on=None)
    await api.publish(unscheduled, replayed(to_2021), replayed(to_q2))
    history += [unscheduled]
    await assert_counted(api, indicators, standing(history))
    assert len(await rollup_updates(api)) == announced
    assert api.bus.dead_letters == []


async def test_another_accepted_host_counts_once_more(api: Api) -> None:
    await api.project()
    indicators = await hosting_indicators(api)
    first = activity_hosted(["BG"], 2020, 3)
    second = activity_news(first, "hosted", 3, host_countries=["BG", "TR"])
    await api.publish(first)
    announced = len(await rollup_updates(api))
    await api.publish(second, replayed(second), replayed(first))
    await assert_counted(api, indicators, [second])
    await assert_metric(api, [second])
    # Only the new host's groups changed (BG's counted once, untouched).
    assert (await rollup_updates(api))[announced:] == [
        (code, [{"goal": goal, "country": "TR", "year": 2020}])
        for code, goal in (("HCUM", 1), ("HLAST", 1), ("HMAX", 2), ("HOST", 1))
    ]


async def test_older_news_of_an_activity_arriving_late_changes_nothing(api: Api) -> None:
    await api.project()
    indicators = await hosting_indicators(api)
    hosted = activity_hosted(["BG"], 2020, 2)
    edited = activity_news(hosted, "updated", 3, quarter=3)
    dated = scheduled(edited, 4, "2021-02-15")
    second_host = activity_news(hosted, "hosted", 3, host_countries=["BG", "LV"])
    # The latest news first (e.g. the older ones re-driven from the dead letters later).
    await api.publish(dated)
    await assert_counted(api, indicators, [dated])
    announced = len(await rollup_updates(api))
    same_revision = activity_news(dated, "updated", 4, quarter=4)  # not plan-api's: ignored too
    await api.publish(edited, hosted, second_host, same_revision, replayed(edited))
    await assert_counted(api, indicators, [dated])
    await assert_metric(api, [dated])
    assert standing([dated, edited, hosted, second_host, same_revision]) == [dated]
    assert len(await rollup_updates(api)) == announced
    assert api.bus.dead_letters == []


async def test_an_activity_moved_then_cancelled_no_longer_counts_anywhere(api: Api) -> None:
    await api.project()
    indicators = await hosting_indicators(api)
    other = activity_hosted(["BG"], 2020, 1)
    hosted = activity_hosted(["BG", "LV"], 2020, 4)
    moved = activity_news(hosted, "updated", 3, year=2021, quarter=None)
    second_host = activity_news(moved, "hosted", 4, host_countries=["BG", "LV", "TR"])
    cancelled = activity_cancelled(second_host, revision=5)
    await api.publish(other, hosted, moved, second_host)
    await assert_counted(api, indicators, [other, second_host])
    await api.publish(cancelled)
    await assert_counted(api, indicators, [other])
    await assert_metric(api, [other])
    assert await api.rollups(by="year", year=2021) == []
    # Its older news, heard again in any order, never counts it again.
    await api.publish(replayed(moved), replayed(second_host), replayed(hosted))
    await assert_counted(api, indicators, [other])
    assert api.bus.dead_letters == []


async def test_a_replay_of_moves_in_any_order_rebuilds_the_same_counts(api: Api) -> None:
    await api.project()
    indicators = await hosting_indicators(api)
    a = activity_hosted(["BG"], 2020, 2)
    b = activity_hosted(["LV", "TR"], 2020, 4)
    c = activity_hosted(["AZ"], 2021, 1)
    history = [
        a,
        b,
        c,
        activity_news(a, "updated", 3, quarter=3),
        scheduled(b, 3, "2021-11-02"),
        activity_news(a, "hosted", 4, quarter=3, host_countries=["BG", "GE"]),
        activity_news(a, "updated", 2, quarter=1),  # late and stale
        activity_cancelled(c, revision=3),
    ]
    await api.publish(*history)
    expected = standing(history)
    await assert_counted(api, indicators, expected)
    before = {",".join(by): await api.rollups(by=",".join(by)) for by in BY}

    app = api.client._transport.app  # type: ignore[attr-defined]
    for order in (history, history[::-1]):
        async with app.state.database.sessionmaker() as session, session.begin():
            await reset_read_models(session)
        assert await api.rollups(by="") == []
        await api.publish(*(replace(e, id=str(uuid.uuid4())) for e in order))
        assert {",".join(by): await api.rollups(by=",".join(by)) for by in BY} == before
        await assert_counted(api, indicators, expected)
        await assert_metric(api, expected)
