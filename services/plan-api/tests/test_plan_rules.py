"""The rules behind the story one by one: activity lifecycle, hosting, amendments' effects,
versions and diffs, meetings' events (including replays and poison messages), validation, lists."""

import base64
import dataclasses
import uuid
from typing import Any

import httpx
import orjson
import pytest

from bp_common.events.envelope import CloudEvent
from bp_common.events.memory_bus import InMemoryBus
from bp_common.security import Role
from bp_common.testing import deliver, eventually, identity_headers, settle

SECRETARIAT = identity_headers(Role.SECRETARIAT)
VIEWER = identity_headers(Role.VIEWER)
LATVIA = identity_headers(Role.MEMBER, country="LV")
MEETING = str(uuid.uuid4())
MISSING = "00000000-0000-0000-0000-000000000000"


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


async def new_plan(client: httpx.AsyncClient, goals: int = 3) -> str:
    body = {
        "title": "Implementation Plan",
        "period_start": 2020,
        "period_end": 2024,
        "goals": [
            {"number": n, "title": f"Goal {n}", "action_points": [f"Point {n}.1"]}
            for n in range(1, goals + 1)
        ],
    }
    return str(
        (await ok(await client.post("/v1/plans", json=body, headers=SECRETARIAT), 201))["id"]
    )


async def new_activity(client: httpx.AsyncClient, plan_id: str, **fields: Any) -> dict[str, Any]:
    body = {"title": "Thematic meeting", "goal": 1, "kind": "meeting", "year": 2020} | fields
    response = await client.post(f"/v1/plans/{plan_id}/activities", json=body, headers=SECRETARIAT)
    return dict(await ok(response, 201))


async def activity(client: httpx.AsyncClient, activity_id: str) -> dict[str, Any]:
    return dict(await ok(await client.get(f"/v1/activities/{activity_id}", headers=VIEWER)))


async def circulate(client: httpx.AsyncClient, plan_id: str) -> dict[str, Any]:
    response = await client.post(f"/v1/plans/{plan_id}/versions", headers=SECRETARIAT)
    return dict(await ok(response, 201))


async def amend(
    client: httpx.AsyncClient, plan_id: str, target: dict[str, Any], action: str, text: str
) -> dict[str, Any]:
    body = {"version": 1, "proposer": "RS", "target": target, "action": action, "text": text}
    response = await client.post(f"/v1/plans/{plan_id}/amendments", json=body, headers=SECRETARIAT)
    return dict(await ok(response, 201))


def meeting_event(kind: str, activity_id: str | None, **fields: Any) -> CloudEvent:
    data = {
        "meeting_id": MEETING,
        "title": "Thematic meeting",
        "kind": "thematic_meeting",
        "status": "held" if kind == "held" else "planned",
        "starts_on": "2020-06-10",
        "ends_on": "2020-06-11",
        "city": "Riga",
        "country": "LV",
        "working_group": None,
        "activity_id": activity_id,
        "revision": 0,
        "attendance": {"participants": 40, "countries": 20, "organisations": 3},
        "goals": [1],
    } | fields
    return CloudEvent(
        type=f"meetings.meeting.{kind}.v1", source="/meetings", subject=MEETING, data=data
    )


def intervention_event(kind: str, **fields: Any) -> CloudEvent:
    data = {
        "intervention_id": str(uuid.uuid4()),
        "meeting_id": MEETING,
        "delegation": "LV",
        "delegation_type": "state",
        "kind": kind,
        "text": "Latvia is willing to host",
    } | fields
    return CloudEvent(
        type="meetings.intervention.recorded.v1", source="/meetings", subject=MEETING, data=data
    )


async def published(bus: InMemoryBus, event_type: str, count: int) -> list[CloudEvent]:
    async def arrived() -> bool:
        return len([e for e in bus.log["plan.events"] if e.type == event_type]) >= count

    await eventually(arrived)
    return [e for e in bus.log["plan.events"] if e.type == event_type]


# -- activities ---------------------------------------------------------------------------------


async def test_an_activity_is_proposed_scheduled_held_and_then_closed(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan_id = await new_plan(client)
    created = await new_activity(client, plan_id, quarter=2, lead="LV", description="Returns")
    assert (created["status"], created["revision"], created["host_countries"]) == (
        "proposed",
        0,
        [],
    )
    [proposed] = await published(bus, "plan.activity.proposed.v1", 1)
    assert proposed.subject == created["id"]
    assert proposed.data["activity_id"] == created["id"]
    assert proposed.data["goal"] == 1

    scheduled = await ok(
        await client.patch(
            f"/v1/activities/{created['id']}",
            json={"starts_on": "2020-11-03", "ends_on": "2020-11-04"},
            headers=SECRETARIAT,
        )
    )
    assert (scheduled["status"], scheduled["year"], scheduled["quarter"]) == ("scheduled", 2020, 4)
    [event] = await published(bus, "plan.activity.scheduled.v1", 1)
    assert (event.data["starts_on"], event.data["ends_on"]) == ("2020-11-03", "2020-11-04")

    # A year that contradicts the dates is refused; so is an empty change of nothing.
    await problem(
        await client.patch(
            f"/v1/activities/{created['id']}", json={"year": 2021}, headers=SECRETARIAT
        ),
        422,
        "invalid_schedule",
    )
    same = await ok(
        await client.patch(f"/v1/activities/{created['id']}", json={}, headers=SECRETARIAT)
    )
    assert same["revision"] == scheduled["revision"]

    await deliver(
        bus, meeting_event("held", created["id"], starts_on="2020-11-03", ends_on="2020-11-04")
    )
    held = await activity(client, created["id"])
    assert (held["status"], held["meeting_id"]) == ("held", MEETING)
    [event] = await published(bus, "plan.activity.held.v1", 1)
    assert event.data["meeting_id"] == MEETING

    await problem(
        await client.post(f"/v1/activities/{created['id']}/cancel", headers=SECRETARIAT),
        409,
        "activity_transition_not_allowed",
    )
    await problem(
        await client.patch(
            f"/v1/activities/{created['id']}", json={"title": "Renamed"}, headers=SECRETARIAT
        ),
        409,
        "activity_closed",
    )
    assert await activity(client, created["id"]) == held


async def test_cancelling_twice_is_a_conflict(client: httpx.AsyncClient, bus: InMemoryBus) -> None:
    plan_id = await new_plan(client)
    created = await new_activity(client, plan_id)
    cancelled = await ok(
        await client.post(f"/v1/activities/{created['id']}/cancel", headers=SECRETARIAT)
    )
    assert cancelled["status"] == "cancelled"
    await problem(
        await client.post(f"/v1/activities/{created['id']}/cancel", headers=SECRETARIAT),
        409,
        "activity_transition_not_allowed",
    )
    [event] = await published(bus, "plan.activity.cancelled.v1", 1)
    assert event.data["status"] == "cancelled"


@pytest.mark.parametrize(
    ("patch", "code"),
    [
        ({"goal": 9}, "unknown_goal"),
        ({"year": 2030}, "year_outside_plan_period"),
        ({"ends_on": "2020-05-01"}, "invalid_schedule"),
        ({"starts_on": "2020-05-02", "ends_on": "2020-05-01"}, "validation_failed"),
        ({"title": None}, "validation_failed"),
        ({"status": "held"}, "validation_failed"),
    ],
)
async def test_invalid_activity_changes_are_refused(
    client: httpx.AsyncClient, patch: dict[str, Any], code: str
) -> None:
    plan_id = await new_plan(client)
    created = await new_activity(client, plan_id)
    response = await client.patch(
        f"/v1/activities/{created['id']}", json=patch, headers=SECRETARIAT
    )
    await problem(response, 422, code)
    assert await activity(client, created["id"]) == created


async def test_meeting_events_schedule_and_reschedule_an_activity_once(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan_id = await new_plan(client)
    created = await new_activity(client, plan_id)
    scheduled = meeting_event("scheduled", created["id"])
    await deliver(bus, scheduled, dataclasses.replace(scheduled, id=str(uuid.uuid4())))
    first = await activity(client, created["id"])
    assert (first["status"], first["starts_on"], first["quarter"]) == ("scheduled", "2020-06-10", 2)

    moved = meeting_event(
        "rescheduled", created["id"], starts_on="2020-09-01", ends_on="2020-09-02", revision=1
    )
    await deliver(bus, moved, scheduled)  # the older news, heard late, does not move it back
    second = await activity(client, created["id"])
    assert (second["starts_on"], second["quarter"]) == ("2020-09-01", 3)
    assert len(await published(bus, "plan.activity.scheduled.v1", 2)) == 2

    await ok(await client.post(f"/v1/activities/{created['id']}/cancel", headers=SECRETARIAT))
    cancelled = await activity(client, created["id"])
    held = meeting_event("held", created["id"], revision=2)
    await deliver(
        bus,
        held,
        dataclasses.replace(moved, id=str(uuid.uuid4()), data=moved.data | {"revision": 3}),
    )
    assert await activity(client, created["id"]) == cancelled
    assert bus.dead_letters == []


async def settled(client: httpx.AsyncClient, bus: InMemoryBus) -> list[CloudEvent]:
    """Every event plan-api has committed so far, once published."""
    await settle(client._transport.app, bus)  # type: ignore[attr-defined]
    return list(bus.log["plan.events"])


def of_type(events: list[CloudEvent], event_type: str) -> list[CloudEvent]:
    return [e for e in events if e.type == event_type]


async def test_edits_other_than_the_dates_are_announced_as_updates(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan_id = await new_plan(client)
    created = await new_activity(client, plan_id)
    path = f"/v1/activities/{created['id']}"

    async def patch(body: dict[str, Any]) -> dict[str, Any]:
        return dict(await ok(await client.patch(path, json=body, headers=SECRETARIAT)))

    renamed = await patch(
        {"title": "Return and reintegration", "working_group": "Black Sea", "lead": "BG"}
    )
    moved = await patch({"goal": 2, "year": 2021, "quarter": 3, "kind": "training"})
    assert await patch({"goal": 2, "title": "Return and reintegration"}) == moved  # no change
    dated = await patch({"starts_on": "2021-09-14"})
    retitled = await patch({"title": "Return, readmission and reintegration"})

    events = await settled(client, bus)
    updated = of_type(events, "plan.activity.updated.v1")
    assert [(e.data["changed"], e.data["revision"]) for e in updated] == [
        (["lead", "title", "working_group"], renamed["revision"]),
        (["goal", "kind", "quarter", "year"], moved["revision"]),
        (["title"], retitled["revision"]),
    ]
    assert [r["revision"] for r in (renamed, moved, dated, retitled)] == [1, 2, 3, 4]
    assert updated[1].data == {
        "activity_id": created["id"],
        "plan_id": plan_id,
        "title": "Return and reintegration",
        "goal": 2,
        "kind": "training",
        "working_group": "Black Sea",
        "year": 2021,
        "quarter": 3,
        "starts_on": None,
        "ends_on": None,
        "status": "proposed",
        "host_countries": [],
        "revision": 2,
        "changed": ["goal", "kind", "quarter", "year"],
    }
    # The dates are a (re)scheduling, announced once as such and not also as an update.
    [scheduled] = of_type(events, "plan.activity.scheduled.v1")
    assert (scheduled.data["starts_on"], scheduled.data["revision"]) == ("2021-09-14", 3)
    assert (updated[2].data["status"], updated[2].data["starts_on"]) == ("scheduled", "2021-09-14")
    assert [e.data["revision"] for e in events if e.subject == created["id"]] == [0, 1, 2, 3, 4]


async def test_an_amended_description_is_announced_as_an_update(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan_id = await new_plan(client)
    created = await new_activity(client, plan_id, description="Returns")
    await circulate(client, plan_id)
    target = {"type": "activity", "ref": created["id"]}
    first = await amend(client, plan_id, target, "modify", "Returns and readmission")
    # Another delegation asking for the same text: accepted, but nothing changes.
    body = {"version": 1, "proposer": "MK", "target": target, "action": "modify"}
    same = await ok(
        await client.post(
            f"/v1/plans/{plan_id}/amendments",
            json=body | {"text": "Returns and readmission"},
            headers=SECRETARIAT,
        ),
        201,
    )
    for amendment in (first, same):
        await ok(await client.post(f"/v1/amendments/{amendment['id']}/accept", headers=SECRETARIAT))
    [updated] = of_type(await settled(client, bus), "plan.activity.updated.v1")
    assert (updated.subject, updated.data["changed"], updated.data["revision"]) == (
        created["id"],
        ["description"],
        1,
    )
    described = await activity(client, created["id"])
    assert (described["description"], described["revision"]) == ("Returns and readmission", 1)


async def offer(client: httpx.AsyncClient, activity_id: str, country: str) -> dict[str, Any]:
    response = await client.post(
        f"/v1/activities/{activity_id}/hosting-offers",
        json={"country": country},
        headers=SECRETARIAT,
    )
    return dict(await ok(response, 201))


@pytest.mark.parametrize("before", ["hosted", "host_offered", "proposed"])
async def test_a_cancelled_meeting_unschedules_its_activity_once(
    client: httpx.AsyncClient, bus: InMemoryBus, before: str
) -> None:
    plan_id = await new_plan(client)
    created = await new_activity(client, plan_id, year=2021)
    if before != "proposed":
        pending = await offer(client, created["id"], "LV")
        if before == "hosted":
            await ok(
                await client.post(f"/v1/hosting-offers/{pending['id']}/accept", headers=SECRETARIAT)
            )
    scheduled = meeting_event("scheduled", created["id"])
    await deliver(bus, scheduled)
    assert (await activity(client, created["id"]))["status"] == "scheduled"

    cancelled = meeting_event("cancelled", created["id"], status="cancelled", revision=2)
    await deliver(bus, cancelled)
    unscheduled = await activity(client, created["id"])
    assert unscheduled == unscheduled | {
        "status": before,
        "starts_on": None,
        "ends_on": None,
        "year": 2020,  # the meeting's, kept as the tentative timing
        "quarter": 2,
        "meeting_id": MEETING,
        "host_countries": ["LV"] if before == "hosted" else [],
    }
    [event] = of_type(await settled(client, bus), "plan.activity.unscheduled.v1")
    assert event.subject == created["id"]
    assert event.data == event.data | {
        "status": before,
        "starts_on": None,
        "ends_on": None,
        "year": 2020,
        "quarter": 2,
        "revision": unscheduled["revision"],
        "meeting_id": MEETING,
        "previous": {"starts_on": "2020-06-10", "ends_on": "2020-06-11"},
    }

    # Heard again, as copies past the inbox or the originals, or older news heard only now (a
    # rescheduling re-driven from the dead letters): nothing more happens.
    late = meeting_event(
        "rescheduled", created["id"], starts_on="2020-07-01", ends_on="2020-07-02", revision=1
    )
    await deliver(
        bus,
        dataclasses.replace(cancelled, id=str(uuid.uuid4())),
        dataclasses.replace(scheduled, id=str(uuid.uuid4())),
        cancelled,
        scheduled,
        late,
    )
    assert await activity(client, created["id"]) == unscheduled
    events = await settled(client, bus)
    assert len(of_type(events, "plan.activity.unscheduled.v1")) == 1
    assert len(of_type(events, "plan.activity.scheduled.v1")) == 1

    # Still in the plan: another meeting can carry it out.
    other = str(uuid.uuid4())
    await deliver(
        bus,
        meeting_event(
            "scheduled",
            created["id"],
            meeting_id=other,
            starts_on="2020-10-06",
            ends_on="2020-10-07",
        ),
    )
    again = await activity(client, created["id"])
    assert (again["status"], again["starts_on"], again["meeting_id"]) == (
        "scheduled",
        "2020-10-06",
        other,
    )
    assert bus.dead_letters == []


async def test_a_cancelled_meeting_the_activity_does_not_follow_changes_nothing(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan_id = await new_plan(client)
    followed, closed, untouched = [await new_activity(client, plan_id) for _ in range(3)]
    closing = str(uuid.uuid4())
    taken_over = meeting_event("scheduled", followed["id"])
    later = meeting_event("scheduled", followed["id"], meeting_id=str(uuid.uuid4()))
    await deliver(
        bus, taken_over, later, meeting_event("scheduled", closed["id"], meeting_id=closing)
    )
    await ok(await client.post(f"/v1/activities/{closed['id']}/cancel", headers=SECRETARIAT))
    before = {a: await activity(client, a) for a in (followed["id"], closed["id"])}

    await deliver(
        bus,
        # The meeting the activity followed first; another one has taken it over since.
        meeting_event("cancelled", followed["id"], status="cancelled", revision=1),
        # The activity was cancelled meanwhile: cancelled is final.
        meeting_event(
            "cancelled", closed["id"], meeting_id=closing, status="cancelled", revision=1
        ),
        # A meeting that carries out no activity, and one the activity never took.
        meeting_event("cancelled", None, status="cancelled", revision=1),
        meeting_event(
            "cancelled",
            untouched["id"],
            meeting_id=str(uuid.uuid4()),
            status="cancelled",
            revision=1,
        ),
    )
    assert {a: await activity(client, a) for a in before} == before
    assert await activity(client, untouched["id"]) == untouched
    assert of_type(await settled(client, bus), "plan.activity.unscheduled.v1") == []
    assert bus.dead_letters == []


async def test_a_meeting_turned_to_another_activity_moves_the_schedule(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan_id = await new_plan(client)
    first, second = [await new_activity(client, plan_id) for _ in range(2)]
    await deliver(bus, meeting_event("scheduled", first["id"]))
    # A title change only: nothing for plan-api.
    retitled = meeting_event("updated", first["id"], title="Renamed", changed=["title"], revision=1)
    await deliver(bus, retitled)
    assert (await activity(client, first["id"]))["revision"] == 1  # proposed 0, scheduled 1

    turned = meeting_event("updated", second["id"], changed=["activity_id"], revision=2)
    await deliver(bus, turned)
    left, taken = await activity(client, first["id"]), await activity(client, second["id"])
    assert (left["status"], left["starts_on"], left["meeting_id"]) == ("proposed", None, MEETING)
    assert (taken["status"], taken["starts_on"], taken["meeting_id"]) == (
        "scheduled",
        "2020-06-10",
        MEETING,
    )
    # The first activity's older news and the change heard again: nothing more.
    late = meeting_event(
        "rescheduled", first["id"], starts_on="2020-06-12", ends_on="2020-06-13", revision=1
    )
    await deliver(bus, dataclasses.replace(turned, id=str(uuid.uuid4())), late)
    assert await activity(client, first["id"]) == left
    assert await activity(client, second["id"]) == taken

    # Turned to no activity at all: the second one is released too.
    await deliver(bus, meeting_event("updated", None, changed=["activity_id", "title"], revision=3))
    released = await activity(client, second["id"])
    assert (released["status"], released["starts_on"]) == ("proposed", None)
    events = await settled(client, bus)
    assert [e.subject for e in of_type(events, "plan.activity.unscheduled.v1")] == [
        first["id"],
        second["id"],
    ]
    assert [e.subject for e in of_type(events, "plan.activity.scheduled.v1")] == [
        first["id"],
        second["id"],
    ]
    assert bus.dead_letters == []


# -- hosting ------------------------------------------------------------------------------------


async def test_offers_are_unique_per_country_and_year_and_decided_once(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan_id = await new_plan(client)
    created = await new_activity(client, plan_id, year=2021)
    path = f"/v1/activities/{created['id']}/hosting-offers"
    offer = await ok(await client.post(path, json={"country": "lv"}, headers=LATVIA), 201)
    assert (offer["country"], offer["year"], offer["status"]) == ("LV", 2021, "offered")
    await problem(
        await client.post(path, json={"country": "LV", "year": 2021}, headers=LATVIA),
        409,
        "duplicate_offer",
    )
    # The same offer heard at a meeting is the same offer; another country's is another one.
    long_statement = "Bulgaria, as Chair of the Black Sea working group, will host. " * 150
    await deliver(
        bus,
        intervention_event("offer_to_host", activity_id=created["id"], year=2021),
        intervention_event(
            "offer_to_host",
            activity_id=created["id"],
            year=2021,
            delegation="BG",
            text=long_statement,
        ),
    )
    offers = (await ok(await client.get(path, headers=VIEWER)))["items"]
    assert [(o["country"], o["meeting_id"]) for o in offers] == [("BG", MEETING), ("LV", None)]
    assert offers[0]["note"] == long_statement.strip()
    event, _ = await published(bus, "plan.hosting.offered.v1", 2)
    assert event.data == {
        "offer_id": offer["id"],
        "activity_id": created["id"],
        "plan_id": plan_id,
        "country": "LV",
        "year": 2021,
        "note": None,
        "status": "offered",
        "intervention_id": None,
        "meeting_id": None,
        "revision": 1,
    }
    assert (await activity(client, created["id"]))["status"] == "host_offered"

    # Host offered while another offer is pending; proposed again once none is.
    for pending, status in [(offers[0], "host_offered"), (offers[1], "proposed")]:
        declined = await ok(
            await client.post(f"/v1/hosting-offers/{pending['id']}/decline", headers=SECRETARIAT)
        )
        assert declined["status"] == "declined"
        assert (await activity(client, created["id"]))["status"] == status
    await problem(
        await client.post(f"/v1/hosting-offers/{offer['id']}/accept", headers=SECRETARIAT),
        409,
        "offer_already_decided",
    )
    assert (await activity(client, created["id"]))["host_countries"] == []


async def test_a_host_on_offer_and_its_withdrawal_are_announced_as_status_updates(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    # The calendar shows an activity's status: proposed <-> host_offered must reach it too.
    plan_id = await new_plan(client)
    created = await new_activity(client, plan_id)
    first = await offer(client, created["id"], "BG")
    second = await offer(client, created["id"], "LV")  # already host_offered: no new status
    for pending in (first, second):
        await ok(
            await client.post(f"/v1/hosting-offers/{pending['id']}/decline", headers=SECRETARIAT)
        )
    events = await settled(client, bus)
    updates = [
        (e.data["changed"], e.data["status"], e.data["revision"])
        for e in of_type(events, "plan.activity.updated.v1")
    ]
    final = await activity(client, created["id"])
    assert updates == [(["status"], "host_offered", 1), (["status"], "proposed", final["revision"])]
    assert final["status"] == "proposed"


async def test_two_hosts_can_be_accepted_and_filtered_on(client: httpx.AsyncClient) -> None:
    plan_id = await new_plan(client)
    shared = await new_activity(client, plan_id, title="Co-hosted study visit", kind="study_visit")
    alone = await new_activity(client, plan_id, title="Research", kind="research", year=2022)
    for country in ("BG", "TR"):
        offer = await ok(
            await client.post(
                f"/v1/activities/{shared['id']}/hosting-offers",
                json={"country": country},
                headers=SECRETARIAT,
            ),
            201,
        )
        await ok(await client.post(f"/v1/hosting-offers/{offer['id']}/accept", headers=SECRETARIAT))
    hosted = await activity(client, shared["id"])
    assert (hosted["status"], hosted["host_countries"]) == ("hosted", ["BG", "TR"])

    async def ids(**params: Any) -> list[str]:
        page = await ok(
            await client.get(f"/v1/plans/{plan_id}/activities", params=params, headers=VIEWER)
        )
        return [a["id"] for a in page["items"]]

    assert await ids(host="tr") == [shared["id"]]
    assert await ids(host="AZ") == []
    assert await ids(status="proposed") == [alone["id"]]
    assert await ids(year=2022, goal=1, kind="research") == [alone["id"]]
    assert await ids() == [shared["id"], alone["id"]]


async def test_unknown_or_foreign_things_are_404_problems(client: httpx.AsyncClient) -> None:
    plan_id = await new_plan(client)
    for path, code in [
        (f"/v1/plans/{MISSING}", "plan_not_found"),
        (f"/v1/plans/{MISSING}/activities", "plan_not_found"),
        (f"/v1/activities/{MISSING}", "activity_not_found"),
        (f"/v1/activities/{MISSING}/hosting-offers", "activity_not_found"),
        (f"/v1/hosting-offers/{MISSING}", "offer_not_found"),
        (f"/v1/amendments/{MISSING}", "amendment_not_found"),
        (f"/v1/plans/{plan_id}/versions/1", "version_not_found"),
    ]:
        await problem(await client.get(path, headers=VIEWER), 404, code)
    for path in (f"/v1/hosting-offers/{MISSING}/accept", f"/v1/amendments/{MISSING}/accept"):
        assert (await client.post(path, headers=SECRETARIAT)).status_code == 404
    assert (await client.get("/v1/activities/not-an-id", headers=VIEWER)).status_code == 422
    assert (await client.get(f"/v1/plans/{plan_id}/versions/0", headers=VIEWER)).status_code == 422


# -- amendments ---------------------------------------------------------------------------------


async def test_each_target_and_action_has_its_effect(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan_id = await new_plan(client, goals=3)
    plan = await ok(await client.get(f"/v1/plans/{plan_id}", headers=VIEWER))
    point_2 = plan["goals"][1]["action_points"][0]["id"]
    point_3 = plan["goals"][2]["action_points"][0]["id"]
    described = await new_activity(client, plan_id, title="Described", goal=2)
    dropped = await new_activity(client, plan_id, title="Dropped", goal=2)
    await circulate(client, plan_id)

    amendments = [
        await amend(client, plan_id, {"type": "plan"}, "add", "A plan-level point"),
        await amend(client, plan_id, {"type": "plan"}, "modify", "Call for Action"),
        await amend(client, plan_id, {"type": "goal", "ref": "3"}, "delete", "Goal 3 goes"),
        await amend(client, plan_id, {"type": "action_point", "ref": point_2}, "add", "Beside 2.1"),
        await amend(client, plan_id, {"type": "action_point", "ref": point_2}, "modify", "2.1 bis"),
        await amend(
            client, plan_id, {"type": "activity", "ref": described["id"]}, "modify", "New text"
        ),
        await amend(
            client, plan_id, {"type": "activity", "ref": dropped["id"]}, "delete", "Not needed"
        ),
        await amend(client, plan_id, {"type": "goal", "ref": 2}, "delete", "Goal 2 goes"),
    ]
    for amendment in amendments[:-1]:
        await ok(await client.post(f"/v1/amendments/{amendment['id']}/accept", headers=SECRETARIAT))
    # Goal 2 still carries activities (a cancelled one too): it stays, and so does the amendment.
    await problem(
        await client.post(f"/v1/amendments/{amendments[-1]['id']}/accept", headers=SECRETARIAT),
        409,
        "goal_has_activities",
    )
    rejected = await ok(
        await client.post(f"/v1/amendments/{amendments[-1]['id']}/reject", headers=SECRETARIAT)
    )
    assert rejected["status"] == "rejected"

    plan = await ok(await client.get(f"/v1/plans/{plan_id}", headers=VIEWER))
    assert plan["title"] == "Call for Action"
    assert [p["text"] for p in plan["action_points"]] == ["A plan-level point"]
    assert [g["number"] for g in plan["goals"]] == [1, 2]
    assert [p["text"] for p in plan["goals"][1]["action_points"]] == ["2.1 bis", "Beside 2.1"]
    assert (await activity(client, described["id"]))["description"] == "New text"
    assert (await activity(client, dropped["id"]))["status"] == "cancelled"

    v2 = await circulate(client, plan_id)
    assert [e["amendment_id"] for e in v2["changelog"]] == [a["id"] for a in amendments[:-1]]
    assert [a["title"] for a in v2["content"]["activities"]] == ["Described"]
    decided = await published(bus, "plan.amendment.decided.v1", 8)
    assert [e.data["status"] for e in decided] == ["accepted"] * 7 + ["rejected"]
    assert decided[2].data == {
        "amendment_id": amendments[2]["id"],
        "plan_id": plan_id,
        "version": 1,
        "proposer": "RS",
        "target": {"type": "goal", "ref": 3},
        "action": "delete",
        "text": "Goal 3 goes",
        "status": "accepted",
    }
    diff = await ok(await client.get(f"/v1/plans/{plan_id}/versions/2/diff", headers=VIEWER))
    assert diff["against"] == 1
    summary = {(c["item"], str(c["ref"]), c["change"]) for c in diff["changes"]}
    assert ("plan", "None", "modified") in summary
    assert ("goal", "3", "removed") in summary
    assert ("action_point", point_3, "removed") in summary
    assert ("action_point", point_2, "modified") in summary
    assert ("activity", dropped["id"], "removed") in summary
    assert ("activity", described["id"], "modified") in summary
    [plan_point] = [
        c for c in diff["changes"] if c["change"] == "added" and c["after"]["goal"] is None
    ]
    assert plan_point["after"]["text"] == "A plan-level point"
    assert len([c for c in diff["changes"] if c["change"] == "added"]) == 2


async def test_an_amendment_whose_target_is_gone_cannot_be_accepted(
    client: httpx.AsyncClient,
) -> None:
    plan_id = await new_plan(client)
    plan = await ok(await client.get(f"/v1/plans/{plan_id}", headers=VIEWER))
    point = {"type": "action_point", "ref": plan["goals"][0]["action_points"][0]["id"]}
    await circulate(client, plan_id)
    first = await amend(client, plan_id, point, "delete", "Remove it")
    second = await amend(client, plan_id, point, "modify", "Reword it")
    await ok(await client.post(f"/v1/amendments/{first['id']}/accept", headers=SECRETARIAT))
    await problem(
        await client.post(f"/v1/amendments/{second['id']}/accept", headers=SECRETARIAT),
        409,
        "amendment_target_gone",
    )
    await problem(
        await client.post(f"/v1/amendments/{first['id']}/accept", headers=SECRETARIAT),
        409,
        "amendment_already_decided",
    )
    listed = await ok(
        await client.get(
            f"/v1/plans/{plan_id}/amendments", params={"status": "proposed"}, headers=VIEWER
        )
    )
    assert [a["id"] for a in listed["items"]] == [second["id"]]


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"version": 7}, 422, "unknown_version"),
        ({"target": {"type": "goal", "ref": 42}}, 422, "unknown_amendment_target"),
        ({"target": {"type": "activity", "ref": MISSING}}, 422, "unknown_amendment_target"),
        ({"target": {"type": "goal", "ref": "one"}}, 422, "validation_failed"),
        ({"target": {"type": "goal"}}, 422, "validation_failed"),
        ({"target": {"type": "plan", "ref": 1}, "action": "add"}, 422, "validation_failed"),
        ({"target": {"type": "activity"}, "action": "add"}, 422, "validation_failed"),
        ({"target": {"type": "plan"}, "action": "delete"}, 422, "amendment_not_applicable"),
        (
            {"target": {"type": "activity", "ref": MISSING}, "action": "add"},
            422,
            "amendment_not_applicable",
        ),
        ({"target": {"type": "plan"}, "text": "x" * 301}, 422, "amendment_not_applicable"),
        ({"proposer": "not a proposer"}, 422, "validation_failed"),
        ({"text": "nul \u0000 byte"}, 422, "validation_failed"),
        ({"text": "   "}, 422, "validation_failed"),
        ({"version": 10**30}, 422, "validation_failed"),
        ({"vote": "yes"}, 422, "validation_failed"),
    ],
)
async def test_invalid_amendments_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, change: dict[str, Any], status: int, code: str
) -> None:
    plan_id = await new_plan(client)
    await circulate(client, plan_id)
    body = {
        "version": 1,
        "proposer": "RS",
        "target": {"type": "goal", "ref": 1},
        "action": "modify",
        "text": "Prevention first",
    } | change
    response = await client.post(f"/v1/plans/{plan_id}/amendments", json=body, headers=SECRETARIAT)
    await problem(response, status, code)
    listed = await ok(await client.get(f"/v1/plans/{plan_id}/amendments", headers=VIEWER))
    assert listed["items"] == []


async def test_the_same_amendment_twice_is_one_amendment(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan_id = await new_plan(client)
    await circulate(client, plan_id)
    first = await amend(client, plan_id, {"type": "goal", "ref": 1}, "add", "Regional  cooperation")
    body = {
        "version": 1,
        "proposer": "rs",
        "target": {"type": "goal", "ref": "1"},
        "action": "add",
        "text": "Regional cooperation ",
    }
    response = await client.post(f"/v1/plans/{plan_id}/amendments", json=body, headers=SECRETARIAT)
    await problem(response, 409, "duplicate_amendment")
    heard = intervention_event(
        "amendment_request",
        delegation="RS",
        plan_id=plan_id,
        plan_version=1,
        amendment={
            "target": {"type": "goal", "ref": 1},
            "action": "add",
            "text": "Regional cooperation",
        },
    )
    await deliver(bus, heard)
    listed = await ok(await client.get(f"/v1/plans/{plan_id}/amendments", headers=VIEWER))
    assert [a["id"] for a in listed["items"]] == [first["id"]]


# -- versions -----------------------------------------------------------------------------------


async def test_endorsement_supersedes_and_freezes(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan_id = await new_plan(client)
    await circulate(client, plan_id)
    meeting_id = str(uuid.uuid4())
    endorsed = await ok(
        await client.post(
            f"/v1/plans/{plan_id}/versions/1/endorse",
            json={"meeting_id": meeting_id},
            headers=SECRETARIAT,
        )
    )
    assert (endorsed["status"], endorsed["endorsed_by_meeting_id"]) == ("endorsed", meeting_id)

    # Updating an endorsed plan: a new version is circulated for comments; v1 stays in force.
    v2 = await circulate(client, plan_id)
    assert v2["changelog"] == []
    plan = await ok(await client.get(f"/v1/plans/{plan_id}", headers=VIEWER))
    assert plan["current_version"] == {"number": 2, "status": "circulated"}
    assert plan["endorsement"]["version"] == 1
    v3 = await circulate(client, plan_id)
    versions = await ok(
        await client.get(f"/v1/plans/{plan_id}/versions", params={"limit": 2}, headers=VIEWER)
    )
    assert [(v["number"], v["status"]) for v in versions["items"]] == [
        (1, "endorsed"),
        (2, "superseded"),
    ]
    rest = await ok(
        await client.get(
            f"/v1/plans/{plan_id}/versions",
            params={"cursor": versions["next_cursor"]},
            headers=VIEWER,
        )
    )
    assert [(v["number"], v["status"]) for v in rest["items"]] == [(3, "circulated")]
    assert "next_cursor" not in rest or rest["next_cursor"] is None

    # A superseded draft still takes comments; a version once endorsed never does.
    body = {"proposer": "MK", "target": {"type": "plan"}, "action": "add", "text": "Skopje"}
    late = await client.post(
        f"/v1/plans/{plan_id}/amendments", json=body | {"version": 2}, headers=SECRETARIAT
    )
    assert (await ok(late, 201))["version"] == 2
    await problem(
        await client.post(
            f"/v1/plans/{plan_id}/amendments", json=body | {"version": 1}, headers=SECRETARIAT
        ),
        409,
        "version_endorsed",
    )
    await ok(await client.post(f"/v1/plans/{plan_id}/versions/3/endorse", headers=SECRETARIAT))
    await problem(
        await client.post(
            f"/v1/plans/{plan_id}/amendments",
            json=body | {"version": 1, "text": "Again"},
            headers=SECRETARIAT,
        ),
        409,
        "version_endorsed",
    )
    plan = await ok(await client.get(f"/v1/plans/{plan_id}", headers=VIEWER))
    assert plan["endorsement"]["version"] == 3
    assert plan["endorsement"]["meeting_id"] is None
    first = await ok(await client.get(f"/v1/plans/{plan_id}/versions/1", headers=VIEWER))
    assert first["status"] == "superseded"
    assert first["content"] == v3["content"] == endorsed["content"]
    assert len(await published(bus, "plan.endorsed.v1", 2)) == 2

    same = await ok(
        await client.get(f"/v1/plans/{plan_id}/versions/3/diff?against=1", headers=VIEWER)
    )
    assert same["changes"] == []
    await problem(
        await client.get(f"/v1/plans/{plan_id}/versions/1/diff", headers=VIEWER),
        422,
        "diff_base_required",
    )
    await problem(
        await client.get(f"/v1/plans/{plan_id}/versions/3/diff?against=9", headers=VIEWER),
        404,
        "version_not_found",
    )


async def test_endorsement_decisions_from_meetings(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan_id = await new_plan(client)
    await circulate(client, plan_id)
    await circulate(client, plan_id)

    def decision(**fields: Any) -> CloudEvent:
        data = {
            "decision_id": str(uuid.uuid4()),
            "meeting_id": MEETING,
            "kind": "endorsement",
            "text": "Endorsed",
            "plan_id": plan_id,
            "plan_version": None,
            "reservations": [],
        }
        return CloudEvent(
            type="meetings.decision.recorded.v1",
            source="/meetings",
            subject=MEETING,
            data=data | fields,
        )

    await deliver(
        bus,
        decision(kind="take_note"),
        decision(plan_id=None),
        decision(plan_id=MISSING),
        decision(plan_version=1),  # superseded by version 2: not endorsable, skipped
    )
    plan = await ok(await client.get(f"/v1/plans/{plan_id}", headers=VIEWER))
    assert plan["endorsement"] is None
    assert bus.dead_letters == []
    premature = decision(plan_version=3)
    await deliver(bus, premature)
    assert [d.event.id for d in bus.dead_letters] == [premature.id]
    endorse_latest = decision()
    await deliver(bus, endorse_latest, dataclasses.replace(endorse_latest, id=str(uuid.uuid4())))
    plan = await ok(await client.get(f"/v1/plans/{plan_id}", headers=VIEWER))
    assert (plan["endorsement"]["version"], plan["endorsement"]["meeting_id"]) == (2, MEETING)
    assert len(await published(bus, "plan.endorsed.v1", 1)) == 1
    assert len(bus.dead_letters) == 1


# -- meetings' events that are not for plan-api, or malformed -------------------------------------


async def test_events_about_unknown_things_are_skipped_and_malformed_ones_dead_lettered(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan_id = await new_plan(client)
    await circulate(client, plan_id)
    created = await new_activity(client, plan_id)
    ignored = [
        meeting_event("scheduled", None),
        meeting_event("held", MISSING),
        intervention_event("offer_to_host", activity_id=MISSING),
        intervention_event("offer_to_host", activity_id=None),
        intervention_event(
            "offer_to_host",
            activity_id=created["id"],
            delegation="IOM",
            delegation_type="organisation",
        ),
        intervention_event("support", activity_id=created["id"]),
        intervention_event(
            "amendment_request",
            plan_id=MISSING,
            amendment={"target": {"type": "plan"}, "action": "add", "text": "x"},
        ),
        intervention_event("amendment_request", plan_id=None),
        # Well-formed, but the plan refuses them: skipped, not retried.
        intervention_event(
            "amendment_request",
            plan_id=plan_id,
            amendment={"target": {"type": "plan"}, "action": "delete", "text": "Drop it"},
        ),
    ]
    await deliver(bus, *ignored)
    assert bus.dead_letters == []
    assert await activity(client, created["id"]) == created

    malformed = [
        meeting_event("held", "not-a-uuid"),
        meeting_event("scheduled", created["id"], starts_on="soon"),
        intervention_event("offer_to_host", activity_id=created["id"], delegation="Latvia"),
        intervention_event("offer_to_host", activity_id=created["id"], year=99999),
        intervention_event("amendment_request", plan_id=plan_id),
        intervention_event(
            "amendment_request",
            plan_id=plan_id,
            amendment={"target": {"type": "goal"}, "action": "modify", "text": "x"},
        ),
        # A version the plan does not have (yet): kept for a re-drive once it is circulated.
        intervention_event(
            "amendment_request",
            plan_id=plan_id,
            plan_version=9,
            amendment={"target": {"type": "goal", "ref": "1"}, "action": "add", "text": "x"},
        ),
    ]
    await deliver(bus, *malformed)
    assert sorted(d.event.id for d in bus.dead_letters) == sorted(e.id for e in malformed)
    assert await activity(client, created["id"]) == created
    listed = await ok(await client.get(f"/v1/plans/{plan_id}/amendments", headers=VIEWER))
    assert listed["items"] == []


# -- plans, validation and lists ----------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"goals": []},
        {"goals": [{"number": 1, "title": "A"}, {"number": 1, "title": "B"}]},
        {"goals": [{"number": 100, "title": "A"}]},
        {"period_end": 2019},
        {"period_start": 10**20},
        {"title": "x" * 301},
        {"title": "\u0000"},
        {"owner": "ICMPD"},
    ],
)
async def test_invalid_plans_are_refused(client: httpx.AsyncClient, change: dict[str, Any]) -> None:
    body = {
        "title": "Plan",
        "period_start": 2020,
        "period_end": 2024,
        "goals": [{"number": 1, "title": "Goal"}],
    } | change
    await problem(
        await client.post("/v1/plans", json=body, headers=SECRETARIAT), 422, "validation_failed"
    )
    assert (await ok(await client.get("/v1/plans", headers=VIEWER)))["items"] == []


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"goal": 4}, "unknown_goal"),
        ({"year": 2019}, "year_outside_plan_period"),
        ({"year": 2**63}, "validation_failed"),
        ({"quarter": 5}, "validation_failed"),
        ({"kind": "party"}, "validation_failed"),
        ({"title": "Réunion à Bakou — ﻿Баку"}, None),
    ],
)
async def test_activity_creation_is_validated(
    client: httpx.AsyncClient, change: dict[str, Any], code: str | None
) -> None:
    plan_id = await new_plan(client)
    body = {"title": "Meeting", "goal": 1, "kind": "meeting", "year": 2020} | change
    response = await client.post(f"/v1/plans/{plan_id}/activities", json=body, headers=SECRETARIAT)
    if code is None:
        assert (await ok(response, 201))["title"] == change["title"].strip()
    else:
        await problem(response, 422, code)
        listed = await ok(await client.get(f"/v1/plans/{plan_id}/activities", headers=VIEWER))
        assert listed["items"] == []


async def test_lists_walk_every_item_once(client: httpx.AsyncClient) -> None:
    plans = [await new_plan(client, goals=1) for _ in range(3)]
    for year in (2024, 2020, 2022, 2021, 2023):
        await new_activity(client, plans[0], year=year)

    async def walk(path: str, limit: int) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
            page = await ok(await client.get(path, params=params, headers=VIEWER))
            seen += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return seen

    assert sorted(p["id"] for p in await walk("/v1/plans", 2)) == sorted(plans)
    years = [a["year"] for a in await walk(f"/v1/plans/{plans[0]}/activities", 2)]
    assert years == [2020, 2021, 2022, 2023, 2024]

    forged = base64.urlsafe_b64encode(orjson.dumps([2**62, "not-an-id"])).decode()
    for cursor in ("%%%", forged):
        await problem(
            await client.get(
                f"/v1/plans/{plans[0]}/activities", params={"cursor": cursor}, headers=VIEWER
            ),
            422,
            "invalid_cursor",
        )
    await problem(
        await client.get("/v1/plans", params={"limit": 0}, headers=VIEWER), 422, "validation_failed"
    )
    await problem(
        await client.get(f"/v1/plans/{plans[0]}/activities", params={"host": "XX"}, headers=VIEWER),
        422,
        "validation_failed",
    )


async def test_the_service_refuses_requests_without_the_gateway_identity(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/v1/plans")).status_code == 401
    assert (await client.post("/v1/plans", json={})).status_code == 401
