"""Corrections and withdrawals in plan-api (issue 17): hosting offers and amendments withdrawn as
tombstones, goals and action points corrected before endorsement, If-Match on every one of them
and on the activity PATCH; and what follows from meetings-api's corrected and withdrawn
interventions and decisions, order-safe and idempotent."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from bp_common.events.bus import RetryPolicy
from bp_common.events.envelope import CloudEvent
from bp_common.events.memory_bus import InMemoryBus
from bp_common.security import Role
from bp_common.testing import deliver, identity_headers, running, settle
from plan_api.app import create_app
from plan_api.settings import PlanSettings

SECRETARIAT = identity_headers(Role.SECRETARIAT)
VIEWER = identity_headers(Role.VIEWER)
BULGARIA = identity_headers(Role.MEMBER, country="BG")
LATVIA = identity_headers(Role.MEMBER, country="LV")
IOM = identity_headers(Role.PARTNER, organisation="IOM")
MEETING = str(uuid.uuid4())
WHY = {"reason": "Recorded under the wrong delegation."}


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


async def new_plan(client: httpx.AsyncClient) -> dict[str, Any]:
    body = {
        "title": "Implementation Plan",
        "period_start": 2020,
        "period_end": 2024,
        "goals": [
            {"number": n, "title": f"Goal {n}", "action_points": [f"Point {n}.1"]} for n in (1, 2)
        ],
    }
    return dict(await ok(await client.post("/v1/plans", json=body, headers=SECRETARIAT), 201))


async def new_activity(client: httpx.AsyncClient, plan_id: str) -> dict[str, Any]:
    body = {"title": "Thematic meeting", "goal": 1, "kind": "meeting", "year": 2021}
    response = await client.post(f"/v1/plans/{plan_id}/activities", json=body, headers=SECRETARIAT)
    return dict(await ok(response, 201))


async def read(client: httpx.AsyncClient, path: str) -> tuple[dict[str, Any], str]:
    """The record and its ETag."""
    response = await client.get(path, headers=VIEWER)
    body = await ok(response)
    return body, response.headers["ETag"]


async def circulate(client: httpx.AsyncClient, plan_id: str) -> None:
    await ok(await client.post(f"/v1/plans/{plan_id}/versions", headers=SECRETARIAT), 201)


async def propose(client: httpx.AsyncClient, plan_id: str, proposer: str = "BG") -> dict[str, Any]:
    body = {
        "version": 1,
        "proposer": proposer,
        "target": {"type": "goal", "ref": 1},
        "action": "modify",
        "text": "Prevent and counteract irregular migration",
    }
    response = await client.post(f"/v1/plans/{plan_id}/amendments", json=body, headers=SECRETARIAT)
    return dict(await ok(response, 201))


async def plan_events(client: httpx.AsyncClient, bus: InMemoryBus, event_type: str) -> list[Any]:
    await settle(client._transport.app, bus)  # type: ignore[attr-defined]
    return [e.data for e in bus.log["plan.events"] if e.type == event_type]


def meetings_event(kind: str, data: dict[str, Any]) -> CloudEvent:
    return CloudEvent(type=f"meetings.{kind}.v1", source="/meetings", subject=MEETING, data=data)


def intervention(kind: str = "offer_to_host", **fields: Any) -> dict[str, Any]:
    return {
        "intervention_id": str(uuid.uuid4()),
        "meeting_id": MEETING,
        "delegation": "LV",
        "delegation_type": "state",
        "kind": kind,
        "text": "Latvia is willing to host",
        "agenda_item_id": None,
        "plan_id": None,
        "plan_version": None,
        "activity_id": None,
        "year": None,
        "amendment": None,
    } | fields


def corrected(record: dict[str, Any], revision: int, **changes: Any) -> CloudEvent:
    return meetings_event(
        "intervention.corrected",
        record | changes | {"revision": revision, "changed": sorted(changes)},
    )


def withdrawn(record: dict[str, Any], revision: int) -> CloudEvent:
    fields = ("intervention_id", "meeting_id", "delegation", "kind", "plan_id", "plan_version")
    data = {name: record[name] for name in fields}
    data |= {"activity_id": record["activity_id"], "year": record["year"]}
    return meetings_event(
        "intervention.withdrawn", data | {"reason": "Never said", "revision": revision}
    )


# -- hosting offers withdrawn -----------------------------------------------------------------


async def test_the_offering_state_withdraws_its_offer_and_a_tombstone_stays(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan = await new_plan(client)
    activity = await new_activity(client, plan["id"])
    offers = f"/v1/activities/{activity['id']}/hosting-offers"
    offer = await ok(await client.post(offers, json={"country": "BG"}, headers=BULGARIA), 201)
    path = f"/v1/hosting-offers/{offer['id']}"
    withdraw = f"{path}/withdraw"
    before = await read(client, path)
    tag = before[1]
    assert tag == '"1"'

    await problem(await client.post(withdraw, json=WHY, headers=BULGARIA), 428, "if_match_required")
    stale = await problem(
        await client.post(withdraw, json=WHY, headers={**BULGARIA, "If-Match": '"0"'}),
        412,
        "stale_revision",
    )
    assert "revision 1" in stale["detail"]
    await problem(
        await client.post(withdraw, json=WHY, headers={**LATVIA, "If-Match": tag}),
        403,
        "not_own_country",
    )
    assert await read(client, path) == before

    response = await client.post(withdraw, json=WHY, headers={**BULGARIA, "If-Match": tag})
    gone = await ok(response)
    assert response.headers["ETag"] == '"2"'
    assert (gone["withdrawn_by"], gone["withdrawal_reason"]) == ("test-member", WHY["reason"])
    assert gone["withdrawn_at"] is not None
    assert gone["status"] == "offered"
    assert (await read(client, path)) == (gone, '"2"')
    assert (await ok(await client.get(offers, headers=VIEWER)))["items"] == []
    listed = await ok(await client.get(f"{offers}?include_withdrawn=true", headers=VIEWER))
    assert [o["id"] for o in listed["items"]] == [offer["id"]]
    # The last offer gone, no host is on offer any more.
    assert (await read(client, f"/v1/activities/{activity['id']}"))[0]["status"] == "proposed"

    await problem(
        await client.post(withdraw, json=WHY, headers={**SECRETARIAT, "If-Match": '"2"'}),
        409,
        "already_withdrawn",
    )
    await problem(
        await client.post(f"{path}/accept", headers=SECRETARIAT), 409, "already_withdrawn"
    )
    # The state may offer again: the tombstone does not count as its standing offer.
    again = await ok(await client.post(offers, json={"country": "BG"}, headers=BULGARIA), 201)
    assert again["id"] != offer["id"]
    [event] = await plan_events(client, bus, "plan.hosting.withdrawn.v1")
    assert event == {
        "offer_id": offer["id"],
        "activity_id": activity["id"],
        "plan_id": plan["id"],
        "country": "BG",
        "year": 2021,
        "reason": WHY["reason"],
        "withdrawn_by": "test-member",
        "intervention_id": None,
        "meeting_id": None,
        "revision": 2,
    }


async def test_an_accepted_offer_is_never_withdrawn(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan = await new_plan(client)
    activity = await new_activity(client, plan["id"])
    offers = f"/v1/activities/{activity['id']}/hosting-offers"
    offer = await ok(await client.post(offers, json={"country": "BG"}, headers=SECRETARIAT), 201)
    path = f"/v1/hosting-offers/{offer['id']}"
    accepted = await client.post(f"{path}/accept", headers=SECRETARIAT)
    assert accepted.headers["ETag"] == '"2"'
    before = await read(client, path)
    refused = await problem(
        await client.post(f"{path}/withdraw", json=WHY, headers={**SECRETARIAT, "If-Match": '"2"'}),
        409,
        "offer_accepted",
    )
    assert "BG hosts the activity" in refused["detail"]
    assert await read(client, path) == before
    [hosted] = await plan_events(client, bus, "plan.activity.hosted.v1")
    assert (hosted["offer_id"], hosted["country"], hosted["intervention_id"]) == (
        offer["id"],
        "BG",
        None,
    )


# -- amendments withdrawn ----------------------------------------------------------------------


async def test_the_proposer_withdraws_its_amendment_before_a_decision(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan = await new_plan(client)
    await circulate(client, plan["id"])
    amendment = await propose(client, plan["id"])
    path = f"/v1/amendments/{amendment['id']}"
    withdraw = f"{path}/withdraw"
    before, tag = await read(client, path)
    assert tag == '"1"'
    assert before["revision"] == 1

    await problem(await client.post(withdraw, json=WHY, headers=BULGARIA), 428, "if_match_required")
    await problem(
        await client.post(withdraw, json=WHY, headers={**BULGARIA, "If-Match": '"7"'}),
        412,
        "stale_revision",
    )
    for stranger, code in ((LATVIA, "not_the_proposer"), (IOM, "not_the_proposer")):
        await problem(
            await client.post(withdraw, json=WHY, headers={**stranger, "If-Match": tag}), 403, code
        )
    await problem(
        await client.post(withdraw, json={"reason": " "}, headers={**BULGARIA, "If-Match": tag}),
        422,
        "validation_failed",
    )
    assert await read(client, path) == (before, tag)

    response = await client.post(withdraw, json=WHY, headers={**BULGARIA, "If-Match": tag})
    gone = await ok(response)
    assert response.headers["ETag"] == '"2"'
    assert (gone["status"], gone["withdrawn_by"]) == ("proposed", "test-member")
    assert (await read(client, path))[0] == gone
    amendments = f"/v1/plans/{plan['id']}/amendments"
    assert (await ok(await client.get(amendments, headers=VIEWER)))["items"] == []
    listed = await ok(await client.get(f"{amendments}?include_withdrawn=true", headers=VIEWER))
    assert [a["id"] for a in listed["items"]] == [amendment["id"]]
    await problem(
        await client.post(f"{path}/accept", headers=SECRETARIAT), 409, "already_withdrawn"
    )
    # A withdrawn proposal may be made again.
    assert (await propose(client, plan["id"]))["number"] == 2
    [event] = await plan_events(client, bus, "plan.amendment.withdrawn.v1")
    assert event == {
        "amendment_id": amendment["id"],
        "plan_id": plan["id"],
        "number": 1,
        "version": 1,
        "proposer": "BG",
        "reason": WHY["reason"],
        "withdrawn_by": "test-member",
        "intervention_id": None,
        "revision": 2,
    }


async def test_an_organisations_amendment_is_withdrawn_by_its_partner_key_never_once_decided(
    client: httpx.AsyncClient,
) -> None:
    plan = await new_plan(client)
    await circulate(client, plan["id"])
    by_iom = await propose(client, plan["id"], proposer="IOM")
    path = f"/v1/amendments/{by_iom['id']}/withdraw"
    await problem(
        await client.post(path, json=WHY, headers={**BULGARIA, "If-Match": '"1"'}),
        403,
        "not_the_proposer",
    )
    await ok(await client.post(path, json=WHY, headers={**IOM, "If-Match": '"1"'}))

    decided = await propose(client, plan["id"], proposer="TR")
    await ok(await client.post(f"/v1/amendments/{decided['id']}/reject", headers=SECRETARIAT))
    before, tag = await read(client, f"/v1/amendments/{decided['id']}")
    await problem(
        await client.post(
            f"/v1/amendments/{decided['id']}/withdraw",
            json=WHY,
            headers={**SECRETARIAT, "If-Match": tag},
        ),
        409,
        "amendment_already_decided",
    )
    assert await read(client, f"/v1/amendments/{decided['id']}") == (before, tag)


# -- goals and action points corrected before endorsement -------------------------------------


async def test_goals_and_action_points_are_corrected_until_a_version_is_endorsed(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan = await new_plan(client)
    goal_path = f"/v1/plans/{plan['id']}/goals/1"
    point_id = plan["goals"][0]["action_points"][0]["id"]
    point_path = f"/v1/plans/{plan['id']}/action-points/{point_id}"
    goal, goal_tag = await read(client, goal_path)
    assert (goal["title"], goal["revision"], goal_tag) == ("Goal 1", 1, '"1"')
    assert [p["id"] for p in goal["action_points"]] == [point_id]

    fix = {"title": "Goal 1: irregular migration"}
    await problem(
        await client.patch(goal_path, json=fix, headers=SECRETARIAT), 428, "if_match_required"
    )
    await problem(
        await client.patch(goal_path, json=fix, headers={**SECRETARIAT, "If-Match": '"9"'}),
        412,
        "stale_revision",
    )
    assert (
        await client.patch(goal_path, json=fix, headers={**LATVIA, "If-Match": goal_tag})
    ).status_code == 403
    assert await read(client, goal_path) == (goal, goal_tag)
    response = await client.patch(
        goal_path, json=fix, headers={**SECRETARIAT, "If-Match": goal_tag}
    )
    assert (await ok(response))["title"] == fix["title"]
    assert response.headers["ETag"] == '"2"'
    point_fix = {"text": "Point 1.1, corrected"}
    response = await client.patch(
        point_path, json=point_fix, headers={**SECRETARIAT, "If-Match": '"1"'}
    )
    assert ((await ok(response))["text"], response.headers["ETag"]) == (point_fix["text"], '"2"')
    shown = await ok(await client.get(f"/v1/plans/{plan['id']}", headers=VIEWER))
    assert shown["goals"][0]["title"] == fix["title"]
    assert shown["goals"][0]["action_points"][0]["text"] == point_fix["text"]
    await problem(
        await client.get(f"/v1/plans/{plan['id']}/goals/9", headers=VIEWER), 404, "goal_not_found"
    )
    await problem(
        await client.get(f"/v1/plans/{plan['id']}/action-points/{uuid.uuid4()}", headers=VIEWER),
        404,
        "action_point_not_found",
    )

    # A circulated version does not stop corrections (they go into the next one); an endorsed
    # one does.
    await circulate(client, plan["id"])
    await ok(
        await client.post(
            f"/v1/plans/{plan['id']}/versions/1/endorse", json={}, headers=SECRETARIAT
        )
    )
    goal, goal_tag = await read(client, goal_path)
    refused = await problem(
        await client.patch(
            goal_path, json={"title": "Late"}, headers={**SECRETARIAT, "If-Match": goal_tag}
        ),
        409,
        "plan_endorsed",
    )
    assert "an endorsed version never changes" in refused["detail"]
    await problem(
        await client.patch(
            point_path, json={"text": "Late"}, headers={**SECRETARIAT, "If-Match": '"2"'}
        ),
        409,
        "plan_endorsed",
    )
    assert await read(client, goal_path) == (goal, goal_tag)
    assert await plan_events(client, bus, "plan.goal.corrected.v1") == [
        {
            "goal_id": goal["id"],
            "plan_id": plan["id"],
            "number": 1,
            "title": fix["title"],
            "revision": 2,
            "changed": ["title"],
        }
    ]
    assert await plan_events(client, bus, "plan.action_point.corrected.v1") == [
        {
            "action_point_id": point_id,
            "plan_id": plan["id"],
            "goal": 1,
            "text": point_fix["text"],
            "revision": 2,
            "changed": ["text"],
        }
    ]


# -- the activity PATCH checks If-Match when sent -----------------------------------------------


async def test_the_activity_patch_checks_if_match_only_when_sent(client: httpx.AsyncClient) -> None:
    plan = await new_plan(client)
    body = {"title": "Thematic meeting", "goal": 1, "kind": "meeting", "year": 2021}
    created = await client.post(
        f"/v1/plans/{plan['id']}/activities", json=body, headers=SECRETARIAT
    )
    assert created.headers["ETag"] == '"0"'
    path = f"/v1/activities/{(await ok(created, 201))['id']}"
    _, tag = await read(client, path)
    assert tag == '"0"'
    response = await client.patch(path, json={"title": "Without If-Match"}, headers=SECRETARIAT)
    assert (await ok(response))["revision"] == 1
    assert response.headers["ETag"] == '"1"'
    before = await read(client, path)
    await problem(
        await client.patch(path, json={"title": "Stale"}, headers={**SECRETARIAT, "If-Match": tag}),
        412,
        "stale_revision",
    )
    assert await read(client, path) == before
    response = await client.patch(
        path, json={"title": "Current"}, headers={**SECRETARIAT, "If-Match": '"1"'}
    )
    assert (await ok(response))["title"] == "Current"
    assert response.headers["ETag"] == '"2"'


# -- meetings-api's corrections and withdrawals -------------------------------------------------


async def test_a_withdrawn_offer_to_host_withdraws_its_offer_unless_accepted(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan = await new_plan(client)
    first = await new_activity(client, plan["id"])
    second = await new_activity(client, plan["id"])
    pending = intervention(activity_id=first["id"], year=2021)
    accepted = intervention(activity_id=second["id"], year=2021, delegation="BG")
    await deliver(
        bus,
        meetings_event("intervention.recorded", pending),
        meetings_event("intervention.recorded", accepted),
    )
    [pending_offer] = (
        await ok(await client.get(f"/v1/activities/{first['id']}/hosting-offers", headers=VIEWER))
    )["items"]
    [accepted_offer] = (
        await ok(await client.get(f"/v1/activities/{second['id']}/hosting-offers", headers=VIEWER))
    )["items"]
    await ok(
        await client.post(f"/v1/hosting-offers/{accepted_offer['id']}/accept", headers=SECRETARIAT)
    )

    await deliver(bus, withdrawn(pending, 2), withdrawn(accepted, 2))
    gone = (await read(client, f"/v1/hosting-offers/{pending_offer['id']}"))[0]
    assert gone["withdrawn_by"] == "meetings-api"
    assert gone["withdrawal_reason"] == "Its intervention at the meeting was withdrawn: Never said"
    assert (await read(client, f"/v1/activities/{first['id']}"))[0]["status"] == "proposed"
    # The race meetings-api could not see: the accepted offer stays, the activity hosted.
    kept = (await read(client, f"/v1/hosting-offers/{accepted_offer['id']}"))[0]
    assert (kept["status"], kept["withdrawn_at"]) == ("accepted", None)
    assert (await read(client, f"/v1/activities/{second['id']}"))[0]["host_countries"] == ["BG"]
    [event] = await plan_events(client, bus, "plan.hosting.withdrawn.v1")
    assert (event["offer_id"], event["intervention_id"], event["meeting_id"]) == (
        pending_offer["id"],
        pending["intervention_id"],
        MEETING,
    )
    offered = await plan_events(client, bus, "plan.hosting.offered.v1")
    assert {(o["intervention_id"], o["meeting_id"]) for o in offered} == {
        (pending["intervention_id"], MEETING),
        (accepted["intervention_id"], MEETING),
    }
    [hosted] = await plan_events(client, bus, "plan.activity.hosted.v1")
    assert hosted["intervention_id"] == accepted["intervention_id"]

    # The recorded event heard again (a re-driven dead letter, a replay) revives nothing.
    await deliver(bus, dataclasses.replace(meetings_event("intervention.recorded", pending)))
    listed = await ok(
        await client.get(f"/v1/activities/{first['id']}/hosting-offers", headers=VIEWER)
    )
    assert listed["items"] == []


async def test_a_corrected_offer_to_host_remakes_its_offer(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan = await new_plan(client)
    activity = await new_activity(client, plan["id"])
    offers = f"/v1/activities/{activity['id']}/hosting-offers"
    record = intervention(activity_id=activity["id"])
    await deliver(bus, meetings_event("intervention.recorded", record))
    [first] = (await ok(await client.get(offers, headers=VIEWER)))["items"]
    # The text alone: the same offer.
    await deliver(bus, corrected(record, 2, text="Latvia offers Riga"))
    assert [o["id"] for o in (await ok(await client.get(offers, headers=VIEWER)))["items"]] == [
        first["id"]
    ]
    # Recorded under the wrong delegation: Latvia's offer goes, Bulgaria's comes.
    await deliver(bus, corrected(record, 3, delegation="BG"))
    [second] = (await ok(await client.get(offers, headers=VIEWER)))["items"]
    assert (second["country"], second["intervention_id"]) == ("BG", record["intervention_id"])
    assert (await read(client, f"/v1/hosting-offers/{first['id']}"))[0]["withdrawn_at"] is not None
    # Older news (revision 2 again) changes nothing; no offer to host any more withdraws it.
    await deliver(bus, corrected(record, 2, delegation="LV"))
    assert [o["id"] for o in (await ok(await client.get(offers, headers=VIEWER)))["items"]] == [
        second["id"]
    ]
    await deliver(bus, corrected(record, 4, kind="statement", delegation="BG"))
    assert (await ok(await client.get(offers, headers=VIEWER)))["items"] == []
    assert (await read(client, offers.replace("/hosting-offers", "")))[0]["status"] == "proposed"
    assert len(await plan_events(client, bus, "plan.hosting.withdrawn.v1")) == 2


async def test_a_corrected_offer_to_host_leaves_an_accepted_offer_alone(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan = await new_plan(client)
    activity = await new_activity(client, plan["id"])
    offers = f"/v1/activities/{activity['id']}/hosting-offers"
    record = intervention(activity_id=activity["id"])
    await deliver(bus, meetings_event("intervention.recorded", record))
    [offer] = (await ok(await client.get(offers, headers=VIEWER)))["items"]
    await ok(await client.post(f"/v1/hosting-offers/{offer['id']}/accept", headers=SECRETARIAT))
    # meetings-api could not know yet: the offer stays accepted, no second offer is made.
    await deliver(bus, corrected(record, 2, delegation="BG"))
    listed = await ok(await client.get(f"{offers}?include_withdrawn=true", headers=VIEWER))
    assert [(o["id"], o["status"], o["withdrawn_at"]) for o in listed["items"]] == [
        (offer["id"], "accepted", None)
    ]
    assert await plan_events(client, bus, "plan.hosting.withdrawn.v1") == []
    assert bus.dead_letters == []


async def test_a_corrected_amendment_request_revises_its_pending_amendment(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan = await new_plan(client)
    await circulate(client, plan["id"])
    amendments = f"/v1/plans/{plan['id']}/amendments"
    request = intervention(
        "amendment_request",
        delegation="IOM",
        delegation_type="organisation",
        plan_id=plan["id"],
        amendment={"target": {"type": "goal", "ref": "2"}, "action": "modify", "text": "Widen 2"},
    )
    await deliver(bus, meetings_event("intervention.recorded", request))
    [amendment] = (await ok(await client.get(amendments, headers=VIEWER)))["items"]
    assert (amendment["proposer"], amendment["revision"]) == ("IOM", 1)

    fixed = {"target": {"type": "goal", "ref": "1"}, "action": "modify", "text": "Widen 1"}
    await deliver(
        bus, corrected(request, 2, amendment=fixed, delegation="TR", delegation_type="state")
    )
    revised, tag = await read(client, f"/v1/amendments/{amendment['id']}")
    assert (revised["proposer"], revised["target"], revised["text"], tag) == (
        "TR",
        {"type": "goal", "ref": 1},
        "Widen 1",
        '"2"',
    )
    [event] = await plan_events(client, bus, "plan.amendment.revised.v1")
    assert (event["changed"], event["revision"], event["intervention_id"]) == (
        ["proposer", "target", "text"],
        2,
        request["intervention_id"],
    )
    # Decided meanwhile: a later correction leaves it as decided.
    await ok(await client.post(f"/v1/amendments/{amendment['id']}/accept", headers=SECRETARIAT))
    await deliver(bus, corrected(request, 3, amendment=fixed | {"text": "Too late"}))
    assert (await read(client, f"/v1/amendments/{amendment['id']}"))[0]["text"] == "Widen 1"
    await deliver(bus, withdrawn(request, 4))
    assert (await read(client, f"/v1/amendments/{amendment['id']}"))[0]["withdrawn_at"] is None
    assert bus.dead_letters == []


async def test_a_withdrawn_amendment_request_withdraws_its_amendment_in_any_order(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan = await new_plan(client)
    await circulate(client, plan["id"])
    amendments = f"/v1/plans/{plan['id']}/amendments"
    proposal = {"target": {"type": "plan"}, "action": "add", "text": "A regional point"}
    request = intervention("amendment_request", plan_id=plan["id"], amendment=proposal)
    recorded = meetings_event("intervention.recorded", request)
    await deliver(bus, recorded, withdrawn(request, 2))
    assert (await ok(await client.get(amendments, headers=VIEWER)))["items"] == []
    [tombstone] = (
        await ok(await client.get(f"{amendments}?include_withdrawn=true", headers=VIEWER))
    )["items"]
    assert (
        tombstone["withdrawal_reason"]
        == "Its intervention at the meeting was withdrawn: Never said"
    )

    # The withdrawal heard before the request (the request re-driven from the dead letters),
    # or everything heard twice, leaves the same state.
    late = intervention(
        "amendment_request", plan_id=plan["id"], amendment=proposal | {"text": "Late"}
    )
    await deliver(bus, withdrawn(late, 2), meetings_event("intervention.recorded", late))
    await deliver(
        bus,
        *(
            dataclasses.replace(e, id=str(uuid.uuid4()))
            for e in (recorded, withdrawn(request, 2), corrected(request, 3))
        ),
    )
    listed = await ok(await client.get(f"{amendments}?include_withdrawn=true", headers=VIEWER))
    assert [a["id"] for a in listed["items"]] == [tombstone["id"]]
    assert len(await plan_events(client, bus, "plan.amendment.withdrawn.v1")) == 1


def decision(happened: str, plan_id: str, **fields: Any) -> CloudEvent:
    data = {
        "decision_id": fields.pop("decision_id", str(uuid.uuid4())),
        "meeting_id": MEETING,
        "kind": "endorsement",
        "text": "Endorsed",
        "plan_id": plan_id,
        "plan_version": 1,
        "reservations": [],
    } | fields
    if happened == "withdrawn":
        data = {k: v for k, v in data.items() if k not in ("text", "reservations")}
        data |= {"reason": "Recorded at the wrong meeting", "revision": data.get("revision", 2)}
    return meetings_event(f"decision.{happened}", data)


async def test_an_endorsement_decision_withdrawn_before_plan_api_endorsed_never_endorses(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan = await new_plan(client)
    await circulate(client, plan["id"])
    decision_id = str(uuid.uuid4())
    # Version 2 does not exist yet: the decision waits in the dead letters.
    premature = decision("recorded", plan["id"], decision_id=decision_id, plan_version=2)
    await deliver(bus, premature)
    assert [d.event.id for d in bus.dead_letters] == [premature.id]
    await deliver(bus, decision("withdrawn", plan["id"], decision_id=decision_id, plan_version=2))
    await circulate(client, plan["id"])
    await deliver(bus, premature)  # re-driven once version 2 is there
    shown = await ok(await client.get(f"/v1/plans/{plan['id']}", headers=VIEWER))
    assert shown["endorsement"] is None
    assert await plan_events(client, bus, "plan.endorsed.v1") == []


async def test_an_endorsed_version_never_changes_whatever_its_decision_becomes(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    plan = await new_plan(client)
    await circulate(client, plan["id"])
    await circulate(client, plan["id"])
    decision_id = str(uuid.uuid4())
    await deliver(bus, decision("recorded", plan["id"], decision_id=decision_id, plan_version=2))
    endorsed = (await ok(await client.get(f"/v1/plans/{plan['id']}", headers=VIEWER)))[
        "endorsement"
    ]
    assert endorsed["version"] == 2
    version = await ok(await client.get(f"/v1/plans/{plan['id']}/versions/2", headers=VIEWER))
    assert version["endorsed_by_decision_id"] == decision_id
    [event] = await plan_events(client, bus, "plan.endorsed.v1")
    assert (event["decision_id"], event["version"]) == (decision_id, 2)

    await deliver(
        bus,
        decision(
            "corrected",
            plan["id"],
            decision_id=decision_id,
            plan_version=1,
            revision=2,
            changed=["plan_version"],
        ),
        decision(
            "corrected",
            plan["id"],
            decision_id=decision_id,
            kind="take_note",
            revision=3,
            changed=["kind"],
        ),
        decision("withdrawn", plan["id"], decision_id=decision_id, revision=4),
    )
    assert (await ok(await client.get(f"/v1/plans/{plan['id']}", headers=VIEWER)))[
        "endorsement"
    ] == endorsed
    assert len(await plan_events(client, bus, "plan.endorsed.v1")) == 1
    assert bus.dead_letters == []


@pytest.mark.parametrize("path", ["/v1/hosting-offers/{}/withdraw", "/v1/amendments/{}/withdraw"])
async def test_withdrawing_something_unknown_is_a_404(client: httpx.AsyncClient, path: str) -> None:
    response = await client.post(
        path.format(uuid.uuid4()), json=WHY, headers={**SECRETARIAT, "If-Match": '"1"'}
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


# -- replaying meetings' news rebuilds the same plan ------------------------------------------


async def plan_state(client: httpx.AsyncClient, plan_id: str, activity_id: str) -> Any:
    """What the news made, without the ids and times this service draws itself."""
    offers = await ok(
        await client.get(
            f"/v1/activities/{activity_id}/hosting-offers?include_withdrawn=true", headers=VIEWER
        )
    )
    amendments = await ok(
        await client.get(f"/v1/plans/{plan_id}/amendments?include_withdrawn=true", headers=VIEWER)
    )
    shown = await ok(await client.get(f"/v1/plans/{plan_id}", headers=VIEWER))
    return (
        sorted(
            (o["country"], o["status"], o["withdrawn_at"] is not None, o["revision"])
            for o in offers["items"]
        ),
        [
            (a["proposer"], a["text"], a["status"], a["withdrawn_at"] is not None, a["revision"])
            for a in amendments["items"]
        ],
        (await read(client, f"/v1/activities/{activity_id}"))[0]["status"],
        None if shown["endorsement"] is None else shown["endorsement"]["version"],
    )


def correction_story(plan_id: str, activity_id: str) -> list[CloudEvent]:
    """A meeting's record, corrected and withdrawn the ways the Secretariat does."""
    offer = intervention(activity_id=activity_id, year=2021)
    proposal = {"target": {"type": "goal", "ref": "1"}, "action": "modify", "text": "Goal one"}
    request = intervention("amendment_request", plan_id=plan_id, amendment=proposal)
    dropped = intervention(
        "amendment_request", delegation="TR", plan_id=plan_id, amendment=proposal | {"text": "x"}
    )
    endorsement = str(uuid.uuid4())
    return [
        meetings_event("intervention.recorded", offer),
        meetings_event("intervention.recorded", request),
        meetings_event("intervention.recorded", dropped),
        corrected(offer, 2, delegation="BG"),
        corrected(request, 2, amendment=proposal | {"text": "Goal one, as agreed"}),
        withdrawn(dropped, 2),
        decision("recorded", plan_id, decision_id=endorsement),
        decision("withdrawn", plan_id, decision_id=endorsement),
    ]


async def test_replaying_the_news_rebuilds_the_same_plan(
    client: httpx.AsyncClient, bus: InMemoryBus, tmp_path: Path
) -> None:
    async def told_the_story(target: httpx.AsyncClient, target_bus: InMemoryBus) -> Any:
        plan = await new_plan(target)
        activity = await new_activity(target, plan["id"])
        await circulate(target, plan["id"])
        story = correction_story(plan["id"], activity["id"])
        await deliver(target_bus, *story)
        state = await plan_state(target, plan["id"], activity["id"])
        # Heard again from offset 0 (new deliveries of the same records), nothing changes.
        await deliver(target_bus, *(dataclasses.replace(e, id=str(uuid.uuid4())) for e in story))
        assert await plan_state(target, plan["id"], activity["id"]) == state
        return state

    first = await told_the_story(client, bus)
    assert first == (
        [("BG", "offered", False, 1), ("LV", "offered", True, 2)],
        [("LV", "Goal one, as agreed", "proposed", False, 2), ("TR", "x", "proposed", True, 2)],
        "host_offered",
        1,
    )
    # A second plan-api fed the same story from scratch ends in the same state.
    other_bus = InMemoryBus(RetryPolicy(max_attempts=2, backoff_s=0.01))
    settings = PlanSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/other.db", outbox_poll_interval_s=0.05
    )
    async with running(create_app(settings, bus=other_bus)) as other:
        await other_bus.start()
        assert await told_the_story(other, other_bus) == first
        await other_bus.stop()
