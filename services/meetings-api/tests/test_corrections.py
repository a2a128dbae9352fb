"""Corrections and withdrawals of a meeting's records: each by-id record answers its ETag, a
correction or withdrawal needs a current If-Match (428 without, 412 when stale, nothing changed),
a withdrawal keeps a readable tombstone that lists leave out unless asked, a corrected record
passes the rules of recording again, and what plan-api made final (an accepted offer, an
endorsed version) is refused."""

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from bp_common.events.envelope import CloudEvent
from bp_common.events.memory_bus import InMemoryBus
from bp_common.security import Role
from bp_common.testing import current_if_match, deliver, identity_headers, running
from meetings_api.app import create_app
from meetings_api.plan_facts.models import EndorsedPlanVersion, KnownHostingOffer
from meetings_api.settings import MeetingsSettings

from .conftest import Settle

SECRETARIAT = identity_headers(Role.SECRETARIAT)
VIEWER = identity_headers(Role.VIEWER)
PLAN_ID = str(uuid.uuid4())
ACTIVITY_ID = str(uuid.uuid4())
MEETING = {
    "title": "Senior Officials Meeting",
    "kind": "senior_officials_meeting",
    "starts_on": "2019-12-04",
    "ends_on": "2019-12-05",
    "city": "Istanbul",
    "country": "TR",
}
DELEGATIONS = [
    {"participant": "TR", "headcount": 5},
    {"participant": "RS", "headcount": 2},
    {"participant": "BG", "headcount": 2},
    {"participant": "TM", "headcount": 1},
    {"participant": "IOM", "headcount": 1},
]
STATEMENT = {"delegation": "RS", "kind": "statement", "text": "Serbia supports the plan."}
OFFER = {
    "delegation": "BG",
    "kind": "offer_to_host",
    "text": "Bulgaria will host the training in 2020.",
    "activity_id": ACTIVITY_ID,
    "year": 2020,
}
ENDORSEMENT = {
    "kind": "endorsement",
    "text": "The meeting endorses the Implementation Plan.",
    "plan_id": PLAN_ID,
    "plan_version": 2,
    "reservations": [],
}


def with_etag(etag: str) -> dict[str, str]:
    return SECRETARIAT | {"If-Match": etag}


@pytest.fixture
async def meeting_id(client: httpx.AsyncClient) -> str:
    created = await client.post("/v1/meetings", json=MEETING, headers=SECRETARIAT)
    meeting_id = str(created.json()["id"])
    put = await client.put(
        f"/v1/meetings/{meeting_id}/delegations", json=DELEGATIONS, headers=SECRETARIAT
    )
    assert put.status_code == 200, put.text
    return meeting_id


async def record(client: httpx.AsyncClient, meeting_id: str, what: str, body: Any) -> str:
    response = await client.post(
        f"/v1/meetings/{meeting_id}/{what}", json=body, headers=SECRETARIAT
    )
    assert response.status_code == 201, response.text
    # A record starts at revision 1, answered as its ETag.
    assert response.headers["ETag"] == '"1"'
    return str(response.json()["id"])


async def read(client: httpx.AsyncClient, path: str) -> httpx.Response:
    response = await client.get(path, headers=VIEWER)
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == f'"{response.json()["revision"]}"'
    return response


async def hold(client: httpx.AsyncClient, meeting_id: str) -> None:
    held = await client.post(f"/v1/meetings/{meeting_id}/hold", headers=SECRETARIAT)
    assert held.status_code == 200, held.text


def events_of(bus: InMemoryBus, event_type: str) -> list[dict[str, Any]]:
    return [e.data for e in bus.log["meetings.events"] if e.type == event_type]


def plan_event(event_type: str, data: dict[str, Any]) -> CloudEvent:
    return CloudEvent(type=event_type, source="/plan", subject=str(uuid.uuid4()), data=data)


# -- the rules every correction shares, per kind of record -------------------------------------


RECORDS = {
    "intervention": ("interventions", STATEMENT, {"text": "Serbia fully supports the plan."}),
    "decision": ("decisions", ENDORSEMENT, {"reservations": ["TM"]}),
    "agenda_item": ("agenda-items", {"position": 1, "title": "Opening"}, {"title": "Opening."}),
}


async def recorded(client: httpx.AsyncClient, meeting_id: str, kind: str) -> tuple[str, str]:
    """The by-id path of a new record of ``kind``, and its list path."""
    collection, body, _ = RECORDS[kind]
    record_id = await record(client, meeting_id, collection, body)
    return f"/v1/{collection}/{record_id}", f"/v1/meetings/{meeting_id}/{collection}"


@pytest.mark.parametrize("kind", RECORDS)
async def test_a_correction_needs_the_current_etag_and_changes_nothing_without_it(
    client: httpx.AsyncClient, bus: InMemoryBus, settle: Settle, meeting_id: str, kind: str
) -> None:
    path, _ = await recorded(client, meeting_id, kind)
    change = RECORDS[kind][2]
    before = (await read(client, path)).json()
    assert before["revision"] == 1
    assert before["withdrawn_at"] is None

    missing = await client.patch(path, json=change, headers=SECRETARIAT)
    assert (missing.status_code, missing.json()["code"]) == (428, "if_match_required")
    stale = await client.patch(path, json=change, headers=with_etag('"7"'))
    assert (stale.status_code, stale.json()["code"]) == (412, "stale_revision")
    assert stale.headers["ETag"] == '"1"'
    gone = await client.delete(path, params={"reason": "x"}, headers=with_etag('"7"'))
    assert gone.status_code == 412
    assert (await read(client, path)).json() == before

    corrected = await client.patch(path, json=change, headers=with_etag('"1"'))
    assert corrected.status_code == 200, corrected.text
    assert corrected.headers["ETag"] == '"2"'
    assert corrected.json() | change == corrected.json()
    assert (await read(client, path)).json()["revision"] == 2
    # The same change again is a repeated request: nothing new.
    again = await client.patch(path, json=change, headers=with_etag('"2"'))
    assert (again.status_code, again.headers["ETag"]) == (200, '"2"')
    await settle()
    [event] = events_of(bus, f"meetings.{kind}.corrected.v1")
    assert (event["revision"], event["changed"]) == (2, sorted(change))


@pytest.mark.parametrize("kind", RECORDS)
async def test_a_withdrawn_record_stays_readable_and_leaves_the_lists(
    client: httpx.AsyncClient, bus: InMemoryBus, settle: Settle, meeting_id: str, kind: str
) -> None:
    path, list_path = await recorded(client, meeting_id, kind)
    missing = await client.delete(path, params={"reason": "Entered twice."}, headers=SECRETARIAT)
    assert missing.status_code == 428
    no_reason = await client.delete(path, headers=with_etag('"1"'))
    assert no_reason.status_code == 422

    withdrawn = await client.delete(
        path, params={"reason": "Entered twice."}, headers=with_etag('"1"')
    )
    assert withdrawn.status_code == 200, withdrawn.text
    tombstone = withdrawn.json()
    assert tombstone["withdrawal_reason"] == "Entered twice."
    assert tombstone["withdrawn_by"]
    assert tombstone["withdrawn_at"]
    assert withdrawn.headers["ETag"] == '"2"'
    assert (await read(client, path)).json() == tombstone

    listed = await client.get(list_path, headers=VIEWER)
    assert listed.json()["items"] == []
    everything = await client.get(list_path, params={"include_withdrawn": "true"}, headers=VIEWER)
    assert [item["id"] for item in everything.json()["items"]] == [tombstone["id"]]

    again = await client.delete(path, params={"reason": "again"}, headers=with_etag('"2"'))
    assert (again.status_code, again.json()["code"]) == (409, "already_withdrawn")
    corrected = await client.patch(path, json=RECORDS[kind][2], headers=with_etag('"2"'))
    assert (corrected.status_code, corrected.json()["code"]) == (409, "already_withdrawn")
    assert (await read(client, path)).json() == tombstone
    await settle()
    [event] = events_of(bus, f"meetings.{kind}.withdrawn.v1")
    assert (event["reason"], event["revision"]) == ("Entered twice.", 2)


@pytest.mark.parametrize("collection", ["interventions", "decisions", "agenda-items"])
async def test_an_unknown_record_is_a_404(client: httpx.AsyncClient, collection: str) -> None:
    path = f"/v1/{collection}/{uuid.uuid4()}"
    assert (await client.get(path, headers=VIEWER)).status_code == 404
    patched = await client.patch(path, json={"text": "x"}, headers=with_etag('"1"'))
    assert patched.status_code in (404, 422)
    deleted = await client.delete(path, params={"reason": "x"}, headers=with_etag('"1"'))
    assert deleted.status_code == 404


@pytest.mark.parametrize("kind", RECORDS)
async def test_only_the_secretariat_corrects(
    client: httpx.AsyncClient, meeting_id: str, kind: str
) -> None:
    path, _ = await recorded(client, meeting_id, kind)
    partner = identity_headers(Role.PARTNER, organisation="IOM") | {"If-Match": '"1"'}
    assert (await client.patch(path, json=RECORDS[kind][2], headers=partner)).status_code == 403
    deleted = await client.delete(path, params={"reason": "x"}, headers=partner)
    assert deleted.status_code == 403
    assert (await read(client, path)).json()["revision"] == 1


# -- interventions ---------------------------------------------------------------------------


async def test_a_corrected_intervention_passes_the_rules_of_recording(
    client: httpx.AsyncClient, bus: InMemoryBus, settle: Settle, meeting_id: str
) -> None:
    path = f"/v1/interventions/{await record(client, meeting_id, 'interventions', STATEMENT)}"
    absent = await client.patch(path, json={"delegation": "FR"}, headers=with_etag('"1"'))
    assert (absent.status_code, absent.json()["code"]) == (422, "invalid_intervention")
    assert absent.json()["errors"][0]["code"] == "delegation_not_at_meeting"
    # An offer needs its activity and year, and a state to make it.
    offer = await client.patch(path, json={"kind": "offer_to_host"}, headers=with_etag('"1"'))
    assert {e["code"] for e in offer.json()["errors"]} == {"required_for_kind"}
    by_iom = await client.patch(
        path,
        json={
            "kind": "offer_to_host",
            "delegation": "IOM",
            "activity_id": ACTIVITY_ID,
            "year": 2020,
        },
        headers=with_etag('"1"'),
    )
    assert by_iom.json()["errors"][0]["code"] == "host_must_be_a_state"
    cleared = await client.patch(path, json={"text": None}, headers=with_etag('"1"'))
    assert cleared.status_code == 422
    assert (await read(client, path)).json()["revision"] == 1

    moved = await client.patch(path, json={"delegation": "tm"}, headers=with_etag('"1"'))
    assert moved.status_code == 200, moved.text
    assert (moved.json()["delegation"], moved.json()["delegation_type"]) == ("TM", "state")
    await settle()
    [event] = events_of(bus, "meetings.intervention.corrected.v1")
    assert event | {"delegation": "TM", "changed": ["delegation"], "revision": 2} == event
    assert event["text"] == STATEMENT["text"]


async def test_a_corrected_intervention_cannot_name_a_withdrawn_agenda_item(
    client: httpx.AsyncClient, meeting_id: str
) -> None:
    item_id = await record(client, meeting_id, "agenda-items", {"position": 1, "title": "Plenary"})
    path = f"/v1/interventions/{await record(client, meeting_id, 'interventions', STATEMENT)}"
    withdrawn = await client.delete(
        f"/v1/agenda-items/{item_id}", params={"reason": "Wrong day."}, headers=with_etag('"1"')
    )
    assert withdrawn.status_code == 200
    named = await client.patch(path, json={"agenda_item_id": item_id}, headers=with_etag('"1"'))
    assert named.json()["errors"][0]["code"] == "agenda_item_not_found"


async def test_fingerprints_follow_the_content_and_a_tombstone_blocks_nothing(
    client: httpx.AsyncClient, meeting_id: str
) -> None:
    first = await record(client, meeting_id, "interventions", STATEMENT)
    other = {**STATEMENT, "text": "Serbia has a question."}
    second = await record(client, meeting_id, "interventions", other)
    # Corrected into a copy of another standing one: refused.
    copy = await client.patch(
        f"/v1/interventions/{second}", json={"text": STATEMENT["text"]}, headers=with_etag('"1"')
    )
    assert (copy.status_code, copy.json()["code"]) == (409, "already_recorded")
    # Corrected, its old words are free: recording them again is a new intervention.
    corrected = await client.patch(
        f"/v1/interventions/{first}", json={"text": "Serbia supports it."}, headers=with_etag('"1"')
    )
    assert corrected.status_code == 200
    again = await record(client, meeting_id, "interventions", STATEMENT)
    # Withdrawn, the right one is recorded after it.
    await client.delete(
        f"/v1/interventions/{again}", params={"reason": "Wrong."}, headers=with_etag('"1"')
    )
    assert await record(client, meeting_id, "interventions", STATEMENT) != again
    repeated = await client.post(
        f"/v1/meetings/{meeting_id}/interventions", json=STATEMENT, headers=SECRETARIAT
    )
    assert (repeated.status_code, repeated.json()["code"]) == (409, "already_recorded")


async def test_an_accepted_offer_keeps_its_intervention(
    client: httpx.AsyncClient, bus: InMemoryBus, settle: Settle, meeting_id: str
) -> None:
    intervention_id = await record(client, meeting_id, "interventions", OFFER)
    path = f"/v1/interventions/{intervention_id}"
    offer_id = str(uuid.uuid4())
    offered = {
        "offer_id": offer_id,
        "activity_id": ACTIVITY_ID,
        "plan_id": PLAN_ID,
        "country": "BG",
        "year": 2020,
        "note": OFFER["text"],
        "status": "offered",
    }
    await deliver(bus, plan_event("plan.hosting.offered.v1", offered))
    # Offered only: it may still be corrected.
    fixed = await client.patch(
        path, json={"text": "Bulgaria will host it."}, headers=with_etag('"1"')
    )
    assert fixed.status_code == 200, fixed.text

    hosted = {
        "activity_id": ACTIVITY_ID,
        "plan_id": PLAN_ID,
        "title": "Training on return",
        "kind": "training",
        "year": 2020,
        "status": "hosted",
        "host_countries": ["BG"],
        "revision": 2,
        "offer_id": offer_id,
    }
    await deliver(bus, plan_event("plan.activity.hosted.v1", hosted))
    for refused in (
        await client.patch(path, json={"year": 2021}, headers=with_etag('"2"')),
        await client.delete(path, params={"reason": "Wrong."}, headers=with_etag('"2"')),
    ):
        assert (refused.status_code, refused.json()["code"]) == (409, "hosting_offer_accepted")
        assert offer_id in refused.json()["detail"]
    assert (await read(client, path)).json()["revision"] == 2
    # Another state's offer of the same activity is not bound by it.
    other = await record(client, meeting_id, "interventions", OFFER | {"delegation": "TM"})
    withdrawn = await client.delete(
        f"/v1/interventions/{other}", params={"reason": "Wrong."}, headers=with_etag('"1"')
    )
    assert withdrawn.status_code == 200, withdrawn.text


async def test_an_offer_plan_api_links_to_its_intervention_binds_that_one_only(
    client: httpx.AsyncClient, bus: InMemoryBus, meeting_id: str
) -> None:
    first = await record(client, meeting_id, "interventions", OFFER)
    second = await record(client, meeting_id, "interventions", OFFER | {"text": "Sofia, again."})
    offer_id = str(uuid.uuid4())
    # Accepted without its offered news seen first: the hosted news names the intervention.
    hosted = {
        "activity_id": ACTIVITY_ID,
        "plan_id": PLAN_ID,
        "title": "Training on return",
        "kind": "training",
        "year": 2020,
        "status": "hosted",
        "host_countries": ["BG"],
        "revision": 2,
        "offer_id": offer_id,
        "country": "BG",
        "intervention_id": second,
    }
    await deliver(bus, plan_event("plan.activity.hosted.v1", hosted))
    refused = await client.delete(
        f"/v1/interventions/{second}", params={"reason": "x"}, headers=with_etag('"1"')
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "hosting_offer_accepted")
    withdrawn = await client.delete(
        f"/v1/interventions/{first}", params={"reason": "Said twice."}, headers=with_etag('"1"')
    )
    assert withdrawn.status_code == 200, withdrawn.text


async def test_a_cancelled_meetings_record_is_not_corrected(
    client: httpx.AsyncClient, meeting_id: str
) -> None:
    path = f"/v1/interventions/{await record(client, meeting_id, 'interventions', STATEMENT)}"
    await client.post(f"/v1/meetings/{meeting_id}/cancel", headers=SECRETARIAT)
    refused = await client.patch(path, json={"text": "Later."}, headers=with_etag('"1"'))
    assert (refused.status_code, refused.json()["code"]) == (409, "meeting_state_conflict")
    gone = await client.delete(path, params={"reason": "x"}, headers=with_etag('"1"'))
    assert gone.status_code == 409


# -- decisions -------------------------------------------------------------------------------


async def test_an_endorsed_version_keeps_the_decision_that_endorsed_it(
    client: httpx.AsyncClient, bus: InMemoryBus, meeting_id: str
) -> None:
    path = f"/v1/decisions/{await record(client, meeting_id, 'decisions', ENDORSEMENT)}"
    endorsed = {"plan_id": PLAN_ID, "version": 2, "title": "Plan", "activities": []}
    await deliver(bus, plan_event("plan.endorsed.v1", endorsed))

    gone = await client.delete(path, params={"reason": "Wrong meeting."}, headers=with_etag('"1"'))
    assert (gone.status_code, gone.json()["code"]) == (409, "plan_version_endorsed")
    other = await client.patch(path, json={"plan_version": 3}, headers=with_etag('"1"'))
    assert (other.status_code, other.json()["code"]) == (409, "plan_version_endorsed")
    # Its text and reservations are the meeting's own record: they may be corrected.
    reservations = await client.patch(path, json={"reservations": ["tm"]}, headers=with_etag('"1"'))
    assert reservations.status_code == 200, reservations.text
    assert reservations.json()["reservations"] == ["TM"]


async def test_a_corrected_decision_passes_the_rules_of_recording(
    client: httpx.AsyncClient, meeting_id: str
) -> None:
    path = f"/v1/decisions/{await record(client, meeting_id, 'decisions', ENDORSEMENT)}"
    absent = await client.patch(path, json={"reservations": ["FR"]}, headers=with_etag('"1"'))
    assert absent.json()["errors"][0]["code"] == "reservation_not_at_meeting"
    unnamed = await client.patch(path, json={"plan_id": None}, headers=with_etag('"1"'))
    assert unnamed.json()["errors"][0]["code"] == "required_for_kind"
    assert (await read(client, path)).json()["revision"] == 1


# -- agenda items ----------------------------------------------------------------------------


async def test_an_agenda_item_moved_or_withdrawn_frees_its_place(
    client: httpx.AsyncClient, meeting_id: str
) -> None:
    first = await record(client, meeting_id, "agenda-items", {"position": 1, "title": "Opening"})
    second = await record(client, meeting_id, "agenda-items", {"position": 2, "title": "Plan"})
    taken = await client.patch(
        f"/v1/agenda-items/{second}", json={"position": 1}, headers=with_etag('"1"')
    )
    assert (taken.status_code, taken.json()["code"]) == (409, "agenda_position_taken")
    beyond = await client.patch(
        f"/v1/agenda-items/{second}", json={"day": 3}, headers=with_etag('"1"')
    )
    assert (beyond.status_code, beyond.json()["code"]) == (422, "day_outside_meeting")

    await client.delete(
        f"/v1/agenda-items/{first}", params={"reason": "No opening."}, headers=with_etag('"1"')
    )
    moved = await client.patch(
        f"/v1/agenda-items/{second}", json={"position": 1, "day": 2}, headers=with_etag('"1"')
    )
    assert moved.status_code == 200, moved.text
    third = await record(client, meeting_id, "agenda-items", {"position": 1, "title": "Opening"})
    agenda = await client.get(f"/v1/meetings/{meeting_id}/agenda-items", headers=VIEWER)
    assert [item["id"] for item in agenda.json()["items"]] == [third, second]


async def test_a_held_meetings_goals_stay_as_reported(
    client: httpx.AsyncClient, meeting_id: str
) -> None:
    item = await record(
        client, meeting_id, "agenda-items", {"position": 1, "title": "Goal 2", "goal": 2}
    )
    await hold(client, meeting_id)
    path = f"/v1/agenda-items/{item}"
    regoal = await client.patch(path, json={"goal": 3}, headers=with_etag('"1"'))
    assert (regoal.status_code, regoal.json()["code"]) == (409, "meeting_state_conflict")
    gone = await client.delete(path, params={"reason": "x"}, headers=with_etag('"1"'))
    assert gone.status_code == 409
    typo = await client.patch(path, json={"title": "Goal 2: prevention"}, headers=with_etag('"1"'))
    assert typo.status_code == 200, typo.text
    meeting = await client.get(f"/v1/meetings/{meeting_id}", headers=VIEWER)
    assert meeting.json()["goals"] == [2]


# -- delegations -----------------------------------------------------------------------------


async def test_a_held_meetings_delegation_is_corrected_and_its_attendance_republished(
    client: httpx.AsyncClient, bus: InMemoryBus, settle: Settle, meeting_id: str
) -> None:
    await hold(client, meeting_id)
    path = f"/v1/meetings/{meeting_id}/delegations/tm"
    entry = await read(client, path)
    assert entry.json()["headcount"] == 1

    missing = await client.patch(path, json={"headcount": 3}, headers=SECRETARIAT)
    assert missing.status_code == 428
    stale = await client.patch(path, json={"headcount": 3}, headers=with_etag('"9"'))
    assert (stale.status_code, stale.headers["ETag"]) == (412, '"1"')
    gone = await client.delete(path, params={"reason": "x"}, headers=with_etag('"9"'))
    assert gone.status_code == 412
    assert (await read(client, path)).json() == entry.json()
    corrected = await client.patch(
        path, json={"headcount": 3}, headers=with_etag(entry.headers["ETag"])
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.headers["ETag"] == '"2"'
    meeting = (await client.get(f"/v1/meetings/{meeting_id}", headers=VIEWER)).json()
    assert meeting["attendance"] == {"participants": 13, "countries": 4, "organisations": 1}

    withdrawn = await client.delete(
        path, params={"reason": "Turkmenistan did not attend."}, headers=with_etag('"2"')
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["withdrawal_reason"] == "Turkmenistan did not attend."
    assert (await read(client, path)).json()["withdrawn_at"] is not None
    listed = await client.get(f"/v1/meetings/{meeting_id}/delegations", headers=VIEWER)
    assert "TM" not in [d["participant"] for d in listed.json()["items"]]
    assert listed.json()["attendance"] == {"participants": 10, "countries": 3, "organisations": 1}
    everything = await client.get(
        f"/v1/meetings/{meeting_id}/delegations",
        params={"include_withdrawn": "true"},
        headers=VIEWER,
    )
    assert "TM" in [d["participant"] for d in everything.json()["items"]]
    again = await client.patch(path, json={"headcount": 2}, headers=with_etag('"3"'))
    assert (again.status_code, again.json()["code"]) == (409, "already_withdrawn")

    await settle()
    corrections = events_of(bus, "meetings.meeting.attendance_corrected.v1")
    assert [e["attendance"]["participants"] for e in corrections] == [13, 10]
    assert corrections[-1]["revision"] > corrections[0]["revision"]
    [fixed] = events_of(bus, "meetings.delegation.corrected.v1")
    assert (fixed["participant"], fixed["headcount"], fixed["changed"]) == ("TM", 3, ["headcount"])
    [gone] = events_of(bus, "meetings.delegation.withdrawn.v1")
    assert gone["revision"] == corrections[-1]["revision"]


async def test_a_delegation_that_spoke_is_not_withdrawn(
    client: httpx.AsyncClient, meeting_id: str
) -> None:
    await record(client, meeting_id, "interventions", STATEMENT)
    path = f"/v1/meetings/{meeting_id}/delegations/RS"
    refused = await client.delete(path, params={"reason": "x"}, headers=with_etag('"1"'))
    assert (refused.status_code, refused.json()["code"]) == (409, "delegation_has_records")


async def test_a_planned_meetings_delegation_change_is_an_update_and_a_relisting_is_new(
    client: httpx.AsyncClient, bus: InMemoryBus, settle: Settle, meeting_id: str
) -> None:
    path = f"/v1/meetings/{meeting_id}/delegations/BG"
    withdrawn = await client.delete(path, params={"reason": "x"}, headers=with_etag('"1"'))
    assert withdrawn.status_code == 200
    # Listed again in the whole list: a new entry beside the tombstone.
    put = await client.put(
        f"/v1/meetings/{meeting_id}/delegations", json=DELEGATIONS, headers=SECRETARIAT
    )
    assert put.status_code == 200, put.text
    assert (await read(client, path)).json()["withdrawn_at"] is None
    everything = await client.get(
        f"/v1/meetings/{meeting_id}/delegations",
        params={"include_withdrawn": "true"},
        headers=VIEWER,
    )
    assert [d["participant"] for d in everything.json()["items"]].count("BG") == 2
    await settle()
    [updated] = events_of(bus, "meetings.meeting.updated.v1")
    assert updated["changed"] == ["attendance"]
    assert events_of(bus, "meetings.meeting.attendance_corrected.v1") == []


async def test_a_cancelled_meetings_delegations_are_not_corrected(
    client: httpx.AsyncClient, meeting_id: str
) -> None:
    await client.post(f"/v1/meetings/{meeting_id}/cancel", headers=SECRETARIAT)
    path = f"/v1/meetings/{meeting_id}/delegations/BG"
    refused = await client.patch(path, json={"headcount": 3}, headers=with_etag('"1"'))
    assert (refused.status_code, refused.json()["code"]) == (409, "meeting_state_conflict")


async def test_an_unknown_delegation_is_a_404(client: httpx.AsyncClient, meeting_id: str) -> None:
    path = f"/v1/meetings/{meeting_id}/delegations/FR"
    assert (await client.get(path, headers=VIEWER)).status_code == 404
    patched = await client.patch(path, json={"headcount": 3}, headers=with_etag('"1"'))
    assert (patched.status_code, patched.json()["code"]) == (404, "delegation_not_found")


# -- the meeting -----------------------------------------------------------------------------


async def test_the_meeting_answers_its_etag_and_checks_if_match_only_when_sent(
    client: httpx.AsyncClient, meeting_id: str
) -> None:
    path = f"/v1/meetings/{meeting_id}"
    meeting = await read(client, path)
    stale = await client.patch(path, json={"title": "SOM"}, headers=with_etag('"99"'))
    assert (stale.status_code, stale.json()["code"]) == (412, "stale_revision")
    assert (await read(client, path)).json() == meeting.json()
    current = await client.patch(
        path, json={"title": "SOM"}, headers=with_etag(meeting.headers["ETag"])
    )
    assert current.status_code == 200
    assert current.headers["ETag"] == f'"{meeting.json()["revision"] + 1}"'
    unchecked = await client.patch(path, json={"city": "Ankara"}, headers=SECRETARIAT)
    assert unchecked.status_code == 200
    assert unchecked.headers["ETag"] == f'"{meeting.json()["revision"] + 2}"'


# -- the report ------------------------------------------------------------------------------


async def test_the_report_leaves_out_what_was_withdrawn(
    client: httpx.AsyncClient, meeting_id: str
) -> None:
    item = await record(client, meeting_id, "agenda-items", {"position": 1, "title": "Typo item"})
    said = await record(
        client, meeting_id, "interventions", STATEMENT | {"text": "Withdrawn words."}
    )
    kept = await record(client, meeting_id, "interventions", STATEMENT | {"text": "Kept words."})
    assert kept
    for path in (f"/v1/agenda-items/{item}", f"/v1/interventions/{said}"):
        withdrawn = await client.delete(path, params={"reason": "x"}, headers=with_etag('"1"'))
        assert withdrawn.status_code == 200
    report = await client.get(
        f"/v1/meetings/{meeting_id}/report", params={"format": "md"}, headers=VIEWER
    )
    assert report.status_code == 200, report.text
    assert "Kept words." in report.text
    assert "Withdrawn words." not in report.text
    assert "Typo item" not in report.text


# -- a replay ---------------------------------------------------------------------------------


async def read_models(app: FastAPI, client: httpx.AsyncClient) -> dict[str, Any]:
    """What a replay rebuilds: the calendar and what plan-api made final."""
    calendar = await client.get("/v1/calendar", params={"limit": 100}, headers=VIEWER)
    async with app.state.database.sessionmaker() as session:
        offers = (await session.scalars(select(KnownHostingOffer))).all()
        endorsed = (await session.scalars(select(EndorsedPlanVersion))).all()
    return {
        "calendar": calendar.json()["items"],
        "offers": sorted(
            (str(o.id), str(o.intervention_id), o.country, o.accepted, o.withdrawn) for o in offers
        ),
        "endorsed": sorted((str(e.plan_id), e.version) for e in endorsed),
    }


async def test_a_replay_after_corrections_rebuilds_the_same_read_models(
    app: FastAPI, client: httpx.AsyncClient, bus: InMemoryBus, settle: Settle, tmp_path: Path
) -> None:
    planned = await client.post("/v1/meetings", json=MEETING, headers=SECRETARIAT)
    planned_path = f"/v1/meetings/{planned.json()['id']}"
    held_id = str(
        (
            await client.post(
                "/v1/meetings",
                json=MEETING | {"starts_on": "2019-11-04", "ends_on": "2019-11-05"},
                headers=SECRETARIAT,
            )
        ).json()["id"]
    )
    await client.put(f"/v1/meetings/{held_id}/delegations", json=DELEGATIONS, headers=SECRETARIAT)
    offer_intervention = await record(client, held_id, "interventions", OFFER)
    await hold(client, held_id)
    # Corrections: a planned meeting's title, a held one's delegations.
    if_match = await current_if_match(client, planned_path, VIEWER)
    await client.patch(planned_path, json={"title": "SOM"}, headers=SECRETARIAT | if_match)
    tm = f"/v1/meetings/{held_id}/delegations/TM"
    await client.patch(tm, json={"headcount": 4}, headers=with_etag('"1"'))
    await client.delete(tm, params={"reason": "Absent."}, headers=with_etag('"2"'))
    # plan-api's news: an offer accepted, another withdrawn, a version endorsed.
    accepted, withdrawn = str(uuid.uuid4()), str(uuid.uuid4())
    offered = {"activity_id": ACTIVITY_ID, "plan_id": PLAN_ID, "year": 2020, "note": None}
    await deliver(
        bus,
        plan_event(
            "plan.hosting.offered.v1",
            offered
            | {"offer_id": accepted, "country": "BG", "status": "offered"}
            | {"intervention_id": offer_intervention},
        ),
        plan_event(
            "plan.hosting.offered.v1",
            offered | {"offer_id": withdrawn, "country": "TR", "status": "offered"},
        ),
        plan_event(
            "plan.hosting.withdrawn.v1",
            offered
            | {"offer_id": withdrawn, "country": "TR", "reason": "x", "withdrawn_by": "s"}
            | {"revision": 2},
        ),
        plan_event(
            "plan.activity.hosted.v1",
            {
                "activity_id": ACTIVITY_ID,
                "plan_id": PLAN_ID,
                "title": "Training on return",
                "kind": "training",
                "year": 2020,
                "status": "hosted",
                "host_countries": ["BG"],
                "revision": 2,
                "offer_id": accepted,
            },
        ),
        plan_event(
            "plan.endorsed.v1", {"plan_id": PLAN_ID, "version": 2, "title": "P", "activities": []}
        ),
    )
    await settle()
    original = await read_models(app, client)
    assert [e["title"] for e in original["calendar"] if e["source"] == "meeting"] == [
        "Senior Officials Meeting",
        "SOM",
    ]
    assert [(o[2], o[3], o[4]) for o in original["offers"]] in (
        [("BG", True, False), ("TR", False, True)],
        [("TR", False, True), ("BG", True, False)],
    )

    # A new instance with an empty database reads both topics from the start.
    replay_bus = InMemoryBus()
    for topic in ("meetings.events", "plan.events"):
        replay_bus.log[topic] = list(bus.log[topic])
    settings = MeetingsSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/replayed.db")
    replayed_app = create_app(settings, bus=replay_bus)
    async with running(replayed_app) as replayed:
        await replay_bus.start()
        await replay_bus.wait_idle()
        assert await read_models(replayed_app, replayed) == original
        await replay_bus.stop()
