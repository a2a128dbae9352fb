"""The dashboard's read model: each figure follows the latest news of the records it counts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine

from bp_common.events.envelope import CloudEvent
from indicators_api.dashboard.handlers import reset_read_models

from .conftest import Api

T0 = datetime(2019, 11, 1, 9, tzinfo=UTC)


def meeting_news(
    meeting_id: str, kind: str, revision: int, *, at: int = 0, **fields: Any
) -> CloudEvent:
    data = {
        "meeting_id": meeting_id,
        "title": "Senior Officials Meeting",
        "kind": "senior_officials_meeting",
        "status": "planned",
        "starts_on": "2019-12-04",
        "ends_on": "2019-12-05",
        "city": "Istanbul",
        "country": "TR",
        "revision": revision,
        "attendance": {"participants": 0, "countries": 0, "organisations": 0},
        "goals": [],
    } | fields
    return CloudEvent(
        type=f"meetings.meeting.{kind}.v1",
        source="/meetings",
        subject=meeting_id,
        data=data,
        time=T0 + timedelta(minutes=at),
    )


def activity_news(
    activity_id: str, plan_id: str, kind: str, revision: int, **fields: Any
) -> CloudEvent:
    data = {
        "activity_id": activity_id,
        "plan_id": plan_id,
        "title": "Black Sea regional meeting",
        "goal": 1,
        "kind": "meeting",
        "year": 2020,
        "quarter": 2,
        "status": "proposed",
        "host_countries": [],
        "revision": revision,
    } | fields
    return CloudEvent(
        type=f"plan.activity.{kind}.v1",
        source="/plan",
        subject=activity_id,
        data=data,
        time=T0 + timedelta(minutes=revision),
    )


def plan_event(kind: str, plan_id: str, **fields: Any) -> CloudEvent:
    return CloudEvent(
        type=kind, source="/plan", subject=plan_id, data={"plan_id": plan_id} | fields, time=T0
    )


async def summary(api: Api, today: datetime = T0) -> dict[str, Any]:
    with time_machine.travel(today, tick=False):
        response = await api.client.get("/v1/dashboard/summary", headers=api.VIEWER)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["unavailable"] == []
    return answer


async def test_meetings_are_counted_as_their_latest_news_has_them(api: Api) -> None:
    istanbul, vienna, kyiv = (str(uuid.uuid4()) for _ in range(3))
    await api.publish(
        meeting_news(istanbul, "scheduled", 1),
        meeting_news(vienna, "scheduled", 1, starts_on="2020-03-10", city="Vienna", country="AT"),
        meeting_news(kyiv, "scheduled", 1, starts_on="2019-11-20", city="Kyiv", country="UA"),
        meeting_news(
            istanbul,
            "held",
            2,
            at=5,
            status="held",
            attendance={"participants": 82, "countries": 37, "organisations": 11},
        ),
        # Late news of an older revision changes nothing.
        meeting_news(istanbul, "rescheduled", 1, at=1, starts_on="2019-12-10"),
        meeting_news(kyiv, "cancelled", 2, at=3, status="cancelled"),
    )
    meetings = (await summary(api))["meetings"]
    assert (meetings["held"], meetings["planned"], meetings["cancelled"]) == (1, 1, 1)
    assert meetings["participants"] == 82
    assert meetings["next_meeting"] == {
        "id": vienna,
        "title": "Senior Officials Meeting",
        "starts_on": "2020-03-10",
        "city": "Vienna",
        "country": "AT",
    }
    # A planned meeting in the past is no longer the next one.
    later = await summary(api, today=datetime(2020, 4, 1, tzinfo=UTC))
    assert later["meetings"]["next_meeting"] is None
    assert later["as_of"] == (T0 + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")


async def test_the_latest_plan_shows_its_versions_and_activities_by_status_and_host(
    api: Api,
) -> None:
    old_plan, plan = str(uuid.uuid4()), str(uuid.uuid4())
    black_sea, returns, minors = (str(uuid.uuid4()) for _ in range(3))
    await api.publish(
        plan_event(
            "plan.plan.created.v1", old_plan, title="2015-2019", period_start=2015, period_end=2019
        ),
        plan_event(
            "plan.plan.created.v1", plan, title="2020-2024", period_start=2020, period_end=2024
        ),
        plan_event("plan.version.circulated.v1", plan, version=1, status="circulated"),
        activity_news(black_sea, plan, "proposed", 1),
        activity_news(returns, plan, "proposed", 1),
        activity_news(minors, plan, "proposed", 1),
        activity_news(black_sea, plan, "hosted", 2, status="hosted", host_countries=["BG"]),
        activity_news(returns, plan, "hosted", 2, status="hosted", host_countries=["LV"]),
        # Another host joins, then the activity is cancelled: it is hosted nowhere any more.
        activity_news(returns, plan, "hosted", 3, status="hosted", host_countries=["LV", "AZ"]),
        activity_news(returns, plan, "cancelled", 4, status="cancelled", host_countries=["LV"]),
        # Stale news of the cancelled activity is ignored.
        activity_news(returns, plan, "updated", 3, status="hosted", host_countries=["LV"]),
        activity_news(
            str(uuid.uuid4()), old_plan, "hosted", 1, status="hosted", host_countries=["TR"]
        ),
        plan_event("plan.version.circulated.v1", plan, version=2, status="circulated"),
        plan_event(
            "plan.endorsed.v1",
            plan,
            title="2020-2024",
            version=2,
            period_start=2020,
            period_end=2024,
            goals=[],
            activities=[],
        ),
    )
    shown = (await summary(api))["plan"]
    assert (shown["plan_id"], shown["title"], shown["period"]) == (plan, "2020-2024", "2020-2024")
    assert (shown["current_version"], shown["version_status"], shown["endorsed_version"]) == (
        2,
        "endorsed",
        2,
    )
    assert shown["activities_by_status"] == {"cancelled": 1, "hosted": 1, "proposed": 1}
    assert shown["activities_by_host"] == {"BG": 1}


async def test_results_organisations_and_indicators_standing(api: Api) -> None:
    await api.project(implementing_organisations=["IOM", "UNODC"])
    targets = [{"year": 2020, "value": 100}, {"year": 2021, "value": 100}]
    await api.indicator("1.REACHED", targets=targets)
    await api.indicator("1.BEHIND", targets=targets)
    await api.indicator("1.EMPTY", targets=targets)

    def row(external_id: str, indicator: str, period: str, value: float) -> dict[str, Any]:
        return {
            "external_id": external_id,
            "project": "IMM-SR",
            "indicator": indicator,
            "period": period,
            "country": "AF",
            "value": value,
        }

    imported = await api.import_rows(
        [row("a", "1.REACHED", "2020", 60), row("b", "1.REACHED", "2021", 120)]
    )
    assert imported.status_code == 200, imported.text
    imported = await api.import_rows(
        [row("c", "1.BEHIND", "2020", 150), row("d", "1.BEHIND", "2021", 20)],
        organisation="UNODC",
    )
    assert imported.status_code == 200, imported.text
    # A re-push creates nothing: the count stays.
    await api.import_rows([row("a", "1.REACHED", "2020", 60)])
    await api.settle()
    results = (await summary(api))["results"]
    assert (results["results"], results["organisations"]) == (4, 2)
    # Standing is the latest year with data: 2021 reached for one, not for the other.
    assert (
        results["indicators_on_track"],
        results["indicators_off_track"],
        results["indicators_without_data"],
    ) == (1, 1, 1)

    # Behind catches up in 2021.
    await api.import_rows([row("d", "1.BEHIND", "2021", 100)], organisation="UNODC")
    await api.settle()
    results = (await summary(api))["results"]
    assert (results["indicators_on_track"], results["indicators_off_track"]) == (2, 0)


async def test_an_empty_platform_and_a_reset_read_model(api: Api) -> None:
    empty = await summary(api)
    assert empty["as_of"] is None
    assert empty["plan"] is None
    assert empty["meetings"] == {
        "held": 0,
        "planned": 0,
        "cancelled": 0,
        "participants": 0,
        "next_meeting": None,
    }
    await api.publish(meeting_news(str(uuid.uuid4()), "scheduled", 1))
    assert (await summary(api))["meetings"]["planned"] == 1
    app = api.client._transport.app  # type: ignore[attr-defined]
    async with app.state.runtime.database.transaction() as session:
        await reset_read_models(session)
    assert (await summary(api))["meetings"]["planned"] == 0
