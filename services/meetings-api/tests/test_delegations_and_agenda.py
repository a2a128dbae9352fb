import httpx
import pytest

from bp_common.security import Role
from bp_common.testing import identity_headers

SECRETARIAT = identity_headers(Role.SECRETARIAT)
VIEWER = identity_headers(Role.VIEWER)

MEETING = {
    "title": "Black Sea Regional Working Group",
    "kind": "working_group_meeting",
    "starts_on": "2020-05-12",
    "ends_on": "2020-05-13",
    "city": "Sofia",
    "country": "BG",
    "working_group": "Black Sea",
}


@pytest.fixture
async def meeting_path(client: httpx.AsyncClient) -> str:
    created = await client.post("/v1/meetings", json=MEETING, headers=SECRETARIAT)
    assert created.status_code == 201, created.text
    return f"/v1/meetings/{created.json()['id']}"


async def test_delegations_give_the_attendance(
    client: httpx.AsyncClient, meeting_path: str
) -> None:
    delegations = [
        {
            "participant": "bg",
            "headcount": 4,
            "head_of_delegation": "Head of the Migration Directorate",
        },
        {"participant": "GE", "headcount": 2},
        {"participant": "Frontex", "headcount": 1},
        {"participant": "ICMPD", "headcount": 3},
    ]
    put = await client.put(f"{meeting_path}/delegations", json=delegations, headers=SECRETARIAT)
    assert put.status_code == 200, put.text
    assert [(d["participant"], d["participant_type"]) for d in put.json()["items"]] == [
        ("BG", "state"),
        ("GE", "state"),
        ("FRONTEX", "organisation"),
        ("ICMPD", "organisation"),
    ]
    expected = {"participants": 10, "countries": 2, "organisations": 2}
    assert put.json()["attendance"] == expected
    assert (await client.get(meeting_path, headers=VIEWER)).json()["attendance"] == expected
    listed = await client.get("/v1/meetings", headers=VIEWER)
    assert listed.json()["items"][0]["attendance"] == expected
    assert (await client.get(f"{meeting_path}/delegations", headers=VIEWER)).json() == put.json()

    replaced = await client.put(
        f"{meeting_path}/delegations",
        json=[{"participant": "GE", "headcount": 1}],
        headers=SECRETARIAT,
    )
    assert replaced.json()["attendance"] == {"participants": 1, "countries": 1, "organisations": 0}
    emptied = await client.put(f"{meeting_path}/delegations", json=[], headers=SECRETARIAT)
    assert emptied.json() == {
        "items": [],
        "attendance": {"participants": 0, "countries": 0, "organisations": 0},
    }


@pytest.mark.parametrize(
    ("bad", "loc", "code"),
    [
        ({"participant": "XX", "headcount": 1}, ["body", 1, "participant"], "unknown_participant"),
        ({"participant": "WHO", "headcount": 1}, ["body", 1, "participant"], "unknown_participant"),
        (
            {"participant": "GE", "headcount": 1},
            ["body", 1, "participant"],
            "duplicate_participant",
        ),
        ({"participant": "IOM", "headcount": 0}, ["body", 1, "headcount"], "greater_than_equal"),
        ({"participant": "IOM", "headcount": 10**30}, ["body", 1, "headcount"], "less_than_equal"),
        ({"participant": "IOM"}, ["body", 1, "headcount"], "missing"),
        ({"participant": "IOM", "headcount": 1, "x": 1}, ["body", 1, "x"], "extra_forbidden"),
    ],
)
async def test_a_bad_delegation_names_its_index_and_nothing_is_stored(
    client: httpx.AsyncClient,
    meeting_path: str,
    bad: dict[str, object],
    loc: list[object],
    code: str,
) -> None:
    good = [{"participant": "GE", "headcount": 2}]
    await client.put(f"{meeting_path}/delegations", json=good, headers=SECRETARIAT)
    refused = await client.put(
        f"{meeting_path}/delegations", json=[*good, bad], headers=SECRETARIAT
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert [(e["loc"], e["code"]) for e in refused.json()["errors"]] == [(loc, code)]
    kept = await client.get(f"{meeting_path}/delegations", headers=VIEWER)
    assert [d["participant"] for d in kept.json()["items"]] == ["GE"]


async def test_delegations_are_refused_in_bulk_beyond_the_limit(
    client: httpx.AsyncClient, meeting_path: str
) -> None:
    too_many = [{"participant": "GE", "headcount": 1}] * 501
    refused = await client.put(f"{meeting_path}/delegations", json=too_many, headers=SECRETARIAT)
    assert refused.status_code == 422
    not_a_list = await client.put(
        f"{meeting_path}/delegations", json={"participant": "GE"}, headers=SECRETARIAT
    )
    assert not_a_list.status_code == 422


async def test_delegations_of_a_held_or_unknown_meeting_are_refused(
    client: httpx.AsyncClient, meeting_path: str
) -> None:
    await client.post(f"{meeting_path}/hold", headers=SECRETARIAT)
    body = [{"participant": "GE", "headcount": 1}]
    held = await client.put(f"{meeting_path}/delegations", json=body, headers=SECRETARIAT)
    assert held.status_code == 409
    unknown = "/v1/meetings/00000000-0000-0000-0000-000000000001/delegations"
    assert (await client.put(unknown, json=body, headers=SECRETARIAT)).status_code == 404
    assert (await client.get(unknown, headers=VIEWER)).status_code == 404
    viewer = await client.put(f"{meeting_path}/delegations", json=body, headers=VIEWER)
    assert viewer.status_code == 403


async def test_the_agenda_is_ordered_by_day_and_position(
    client: httpx.AsyncClient, meeting_path: str
) -> None:
    items = [
        {"day": 2, "position": 1, "title": "Return and reintegration", "goal": 1},
        {"day": 1, "position": 2, "title": "Tour de table", "duration_minutes": 60},
        {"position": 1, "title": "Opening", "presenter": "Bulgaria (Chair)"},
        {"day": 2, "position": 2, "title": "Legal pathways", "goal": 2, "project_code": "LP-1"},
    ]
    for item in items:
        created = await client.post(f"{meeting_path}/agenda-items", json=item, headers=SECRETARIAT)
        assert created.status_code == 201, created.text
    titles: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (
            await client.get(f"{meeting_path}/agenda-items", params=params, headers=VIEWER)
        ).json()
        titles += [item["title"] for item in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert titles == ["Opening", "Tour de table", "Return and reintegration", "Legal pathways"]
    day_two = await client.get(f"{meeting_path}/agenda-items", params={"day": 2}, headers=VIEWER)
    assert [i["position"] for i in day_two.json()["items"]] == [1, 2]
    assert (await client.get(meeting_path, headers=VIEWER)).json()["goals"] == [1, 2]


@pytest.mark.parametrize(
    ("item", "status", "code"),
    [
        ({"position": 1, "title": "Same place"}, 409, "agenda_position_taken"),
        ({"position": 1, "title": "Day three", "day": 3}, 422, "day_outside_meeting"),
        ({"position": 0, "title": "Zero"}, 422, "validation_failed"),
        ({"position": 2, "title": "Goal", "goal": 0}, 422, "validation_failed"),
        ({"position": 2, "title": "Long", "duration_minutes": 10**9}, 422, "validation_failed"),
        ({"position": 2, "title": "x" * 301}, 422, "validation_failed"),
    ],
)
async def test_bad_agenda_items_are_refused(
    client: httpx.AsyncClient,
    meeting_path: str,
    item: dict[str, object],
    status: int,
    code: str,
) -> None:
    first = {"position": 1, "title": "Opening"}
    await client.post(f"{meeting_path}/agenda-items", json=first, headers=SECRETARIAT)
    refused = await client.post(f"{meeting_path}/agenda-items", json=item, headers=SECRETARIAT)
    assert refused.status_code == status
    assert refused.json()["code"] == code
    agenda = await client.get(f"{meeting_path}/agenda-items", headers=VIEWER)
    assert [i["title"] for i in agenda.json()["items"]] == ["Opening"]


async def test_the_agenda_of_a_held_meeting_is_closed(
    client: httpx.AsyncClient, meeting_path: str
) -> None:
    await client.post(f"{meeting_path}/hold", headers=SECRETARIAT)
    item = {"position": 1, "title": "Late item"}
    refused = await client.post(f"{meeting_path}/agenda-items", json=item, headers=SECRETARIAT)
    assert refused.status_code == 409
    assert refused.json()["code"] == "meeting_state_conflict"
