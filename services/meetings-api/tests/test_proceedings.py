import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest

from bp_common.events.memory_bus import InMemoryBus
from bp_common.security import Role
from bp_common.testing import identity_headers

Settle = Callable[[], Awaitable[None]]
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
    {"participant": "CZ", "headcount": 2},
    {"participant": "IOM", "headcount": 1},
]
AMENDMENT_REQUEST = {
    "delegation": "RS",
    "kind": "amendment_request",
    "text": "Add the word 'prevention' when mentioning counteracting irregular migration.",
    "plan_id": PLAN_ID,
    "plan_version": 1,
    "amendment": {
        "target": {"type": "goal", "ref": "1"},
        "action": "modify",
        "text": "Prevent and counteract irregular migration.",
    },
}
OFFER = {
    "delegation": "BG",
    "kind": "offer_to_host",
    "text": "Bulgaria will host a meeting in 2020.",
    "activity_id": ACTIVITY_ID,
    "year": 2020,
}
ENDORSEMENT = {
    "kind": "endorsement",
    "text": "The meeting endorses the Implementation Plan.",
    "plan_id": PLAN_ID,
    "plan_version": 2,
    "reservations": ["cz"],
}


@pytest.fixture
async def meeting_path(client: httpx.AsyncClient) -> str:
    created = await client.post("/v1/meetings", json=MEETING, headers=SECRETARIAT)
    path = f"/v1/meetings/{created.json()['id']}"
    put = await client.put(f"{path}/delegations", json=DELEGATIONS, headers=SECRETARIAT)
    assert put.status_code == 200, put.text
    return path


async def test_an_amendment_request_is_recorded_and_published(
    client: httpx.AsyncClient, bus: InMemoryBus, settle: Settle, meeting_path: str
) -> None:
    item = {"position": 1, "title": "Plenary"}
    agenda_item = await client.post(f"{meeting_path}/agenda-items", json=item, headers=SECRETARIAT)
    body = AMENDMENT_REQUEST | {"delegation": "rs", "agenda_item_id": agenda_item.json()["id"]}
    recorded = await client.post(f"{meeting_path}/interventions", json=body, headers=SECRETARIAT)
    assert recorded.status_code == 201, recorded.text
    intervention = recorded.json()
    assert (intervention["delegation"], intervention["delegation_type"]) == ("RS", "state")
    await settle()
    event = bus.log["meetings.events"][-1]
    assert event.type == "meetings.intervention.recorded.v1"
    # The subject is the intervention itself; the key stays its meeting (the aggregate).
    meeting_id = meeting_path.rsplit("/", 1)[1]
    assert (event.subject, event.key) == (intervention["id"], meeting_id.encode())
    assert event.dataschema == (
        "https://api.budapestprocess.org/v1/events/schemas/meetings.intervention.recorded.v1.json"
    )
    assert event.data == {
        "intervention_id": intervention["id"],
        "meeting_id": meeting_id,
        "delegation": "RS",
        "delegation_type": "state",
        "kind": "amendment_request",
        "text": AMENDMENT_REQUEST["text"],
        "agenda_item_id": agenda_item.json()["id"],
        "plan_id": PLAN_ID,
        "plan_version": 1,
        "activity_id": None,
        "year": None,
        "amendment": {
            "target": {"type": "goal", "ref": "1"},
            "action": "modify",
            "text": "Prevent and counteract irregular migration.",
            "rationale": None,
        },
    }


async def test_a_repeated_intervention_is_recorded_once(
    client: httpx.AsyncClient, bus: InMemoryBus, settle: Settle, meeting_path: str
) -> None:
    first = await client.post(f"{meeting_path}/interventions", json=OFFER, headers=SECRETARIAT)
    assert first.status_code == 201, first.text
    again = await client.post(f"{meeting_path}/interventions", json=OFFER, headers=SECRETARIAT)
    assert again.status_code == 409
    assert again.json()["code"] == "already_recorded"
    await settle()
    recorded = [
        e for e in bus.log["meetings.events"] if e.type.endswith("intervention.recorded.v1")
    ]
    assert len(recorded) == 1
    listed = await client.get(f"{meeting_path}/interventions", headers=VIEWER)
    assert [i["id"] for i in listed.json()["items"]] == [first.json()["id"]]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            AMENDMENT_REQUEST | {"amendment": None, "plan_id": None, "plan_version": None},
            {("amendment", "required_for_kind"), ("plan_id", "required_for_kind")},
        ),
        (
            OFFER | {"activity_id": None, "year": None},
            {("activity_id", "required_for_kind"), ("year", "required_for_kind")},
        ),
        (OFFER | {"delegation": "IOM"}, {("delegation", "host_must_be_a_state")}),
        (OFFER | {"year": 2018}, {("year", "year_in_past")}),
        (OFFER | {"delegation": "LV"}, {("delegation", "delegation_not_at_meeting")}),
        (OFFER | {"delegation": "XX"}, {("delegation", "delegation_not_at_meeting")}),
        (
            OFFER | {"agenda_item_id": str(uuid.uuid4())},
            {("agenda_item_id", "agenda_item_not_found")},
        ),
        (
            {
                "delegation": "TR",
                "kind": "support",
                "text": "Yes.",
                "amendment": AMENDMENT_REQUEST["amendment"],
            },
            {("amendment", "not_allowed_for_kind")},
        ),
        (
            {"delegation": "TR", "kind": "support", "text": "Yes.", "plan_version": 1},
            {("plan_id", "required_for_kind")},
        ),
    ],
)
async def test_an_intervention_missing_what_its_kind_requires_is_refused(
    client: httpx.AsyncClient,
    meeting_path: str,
    body: dict[str, object],
    expected: set[tuple[str, str]],
) -> None:
    refused = await client.post(f"{meeting_path}/interventions", json=body, headers=SECRETARIAT)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "invalid_intervention"
    assert {(e["loc"][1], e["code"]) for e in refused.json()["errors"]} == expected
    assert (await client.get(f"{meeting_path}/interventions", headers=VIEWER)).json()["items"] == []


@pytest.mark.parametrize(
    "amendment",
    [
        {"target": {"type": "goal"}, "action": "modify", "text": "x"},
        {"target": {"type": "goal", "ref": "one"}, "action": "modify", "text": "x"},
        {"target": {"type": "plan", "ref": "1"}, "action": "add", "text": "x"},
        {"target": {"type": "chapter", "ref": "1"}, "action": "add", "text": "x"},
        {"target": {"type": "plan"}, "action": "rewrite", "text": "x"},
        {"target": {"type": "plan"}, "action": "add", "text": ""},
    ],
)
async def test_a_malformed_amendment_is_refused(
    client: httpx.AsyncClient, meeting_path: str, amendment: dict[str, object]
) -> None:
    body = AMENDMENT_REQUEST | {"amendment": amendment}
    refused = await client.post(f"{meeting_path}/interventions", json=body, headers=SECRETARIAT)
    assert refused.status_code == 422
    assert refused.json()["code"] == "validation_failed"


async def test_interventions_filter_and_page_in_recorded_order(
    client: httpx.AsyncClient, meeting_path: str
) -> None:
    bodies = [
        {"delegation": delegation, "kind": kind, "text": f"{delegation} {kind}"}
        for delegation, kind in [
            ("TR", "statement"),
            ("BG", "support"),
            ("RS", "support"),
            ("IOM", "presentation"),
            ("CZ", "commitment"),
        ]
    ]
    for body in bodies:
        created = await client.post(f"{meeting_path}/interventions", json=body, headers=SECRETARIAT)
        assert created.status_code == 201, created.text
    texts: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (
            await client.get(f"{meeting_path}/interventions", params=params, headers=VIEWER)
        ).json()
        texts += [i["text"] for i in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert texts == [body["text"] for body in bodies]
    support = await client.get(
        f"{meeting_path}/interventions", params={"kind": "support"}, headers=VIEWER
    )
    assert [i["delegation"] for i in support.json()["items"]] == ["BG", "RS"]
    by_iom = await client.get(
        f"{meeting_path}/interventions", params={"delegation": "iom"}, headers=VIEWER
    )
    assert [i["kind"] for i in by_iom.json()["items"]] == ["presentation"]


async def test_an_endorsement_with_a_reservation_is_recorded_and_published(
    client: httpx.AsyncClient, bus: InMemoryBus, settle: Settle, meeting_path: str
) -> None:
    recorded = await client.post(f"{meeting_path}/decisions", json=ENDORSEMENT, headers=SECRETARIAT)
    assert recorded.status_code == 201, recorded.text
    decision = recorded.json()
    assert decision["reservations"] == ["CZ"]
    await settle()
    event = bus.log["meetings.events"][-1]
    assert event.type == "meetings.decision.recorded.v1"
    assert event.data == {
        "decision_id": decision["id"],
        "meeting_id": decision["meeting_id"],
        "kind": "endorsement",
        "text": ENDORSEMENT["text"],
        "plan_id": PLAN_ID,
        "plan_version": 2,
        "reservations": ["CZ"],
    }
    again = await client.post(f"{meeting_path}/decisions", json=ENDORSEMENT, headers=SECRETARIAT)
    assert again.status_code == 409
    note = {"kind": "take_note", "text": "The meeting takes note of the learning tool."}
    await client.post(f"{meeting_path}/decisions", json=note, headers=SECRETARIAT)
    endorsements = await client.get(
        f"{meeting_path}/decisions", params={"kind": "endorsement"}, headers=VIEWER
    )
    assert [d["id"] for d in endorsements.json()["items"]] == [decision["id"]]
    everything = await client.get(f"{meeting_path}/decisions", headers=VIEWER)
    assert [d["kind"] for d in everything.json()["items"]] == ["endorsement", "take_note"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            ENDORSEMENT | {"plan_id": None, "plan_version": None},
            {(("plan_id",), "required_for_kind"), (("plan_version",), "required_for_kind")},
        ),
        (
            ENDORSEMENT | {"reservations": ["LV"]},
            {(("reservations", 0), "reservation_not_at_meeting")},
        ),
        (
            ENDORSEMENT | {"reservations": ["IO"]},
            {(("reservations", 0), "reservation_not_at_meeting")},
        ),
        (
            ENDORSEMENT | {"reservations": ["CZ", "cz"]},
            {(("reservations", 1), "duplicate_reservation")},
        ),
        ({"kind": "other", "text": "x", "plan_version": 1}, {(("plan_id",), "required_for_kind")}),
    ],
)
async def test_an_invalid_decision_is_refused(
    client: httpx.AsyncClient,
    meeting_path: str,
    body: dict[str, object],
    expected: set[tuple[tuple[object, ...], str]],
) -> None:
    refused = await client.post(f"{meeting_path}/decisions", json=body, headers=SECRETARIAT)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "invalid_decision"
    assert {(tuple(e["loc"][1:]), e["code"]) for e in refused.json()["errors"]} == expected
    assert (await client.get(f"{meeting_path}/decisions", headers=VIEWER)).json()["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        ENDORSEMENT | {"reservations": ["Czechia"]},
        ENDORSEMENT | {"kind": "veto"},
        ENDORSEMENT | {"plan_version": 0},
        ENDORSEMENT | {"plan_version": 10**20},
        ENDORSEMENT | {"plan_id": "plan-1"},
        ENDORSEMENT | {"text": "\x00"},
    ],
)
async def test_a_malformed_decision_is_a_validation_problem(
    client: httpx.AsyncClient, meeting_path: str, body: dict[str, object]
) -> None:
    refused = await client.post(f"{meeting_path}/decisions", json=body, headers=SECRETARIAT)
    assert refused.status_code == 422
    assert refused.json()["code"] == "validation_failed"


async def test_nothing_is_recorded_for_a_cancelled_meeting(
    client: httpx.AsyncClient, meeting_path: str
) -> None:
    await client.post(f"{meeting_path}/cancel", headers=SECRETARIAT)
    intervention = await client.post(
        f"{meeting_path}/interventions", json=OFFER, headers=SECRETARIAT
    )
    decision = await client.post(f"{meeting_path}/decisions", json=ENDORSEMENT, headers=SECRETARIAT)
    assert (intervention.status_code, decision.status_code) == (409, 409)
    unknown = "/v1/meetings/00000000-0000-0000-0000-000000000002"
    missing = await client.post(f"{unknown}/decisions", json=ENDORSEMENT, headers=SECRETARIAT)
    assert missing.status_code == 404
    assert (await client.get(f"{unknown}/interventions", headers=VIEWER)).status_code == 404


async def test_the_record_of_a_held_meeting_can_still_be_completed(
    client: httpx.AsyncClient, meeting_path: str
) -> None:
    await client.post(f"{meeting_path}/hold", headers=SECRETARIAT)
    late = await client.post(f"{meeting_path}/decisions", json=ENDORSEMENT, headers=SECRETARIAT)
    assert late.status_code == 201
