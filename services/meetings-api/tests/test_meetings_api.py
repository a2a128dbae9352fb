from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bp_common.events.memory_bus import InMemoryBus
from bp_common.security import Role
from bp_common.testing import eventually, identity_headers, running
from meetings_api.app import create_app
from meetings_api.settings import MeetingsSettings

SECRETARIAT = identity_headers(Role.SECRETARIAT)
VIEWER = identity_headers(Role.VIEWER)

ISTANBUL = {
    "title": "Senior Officials Meeting",
    "kind": "senior_officials_meeting",
    "starts_on": "2019-12-04",
    "ends_on": "2019-12-05",
    "city": "Istanbul",
    "country": "TR",
    "chair": "Turkey",
    "co_chair": "Hungary",
}


@pytest.fixture
def bus() -> InMemoryBus:
    return InMemoryBus()


@pytest.fixture
async def client(tmp_path: Path, bus: InMemoryBus) -> AsyncIterator[httpx.AsyncClient]:
    settings = MeetingsSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/meetings.db")
    app = create_app(settings, bus=bus)
    async with running(app) as client:
        await bus.start()
        yield client
        await bus.stop()


async def create(client: httpx.AsyncClient, **overrides: object) -> dict[str, object]:
    response = await client.post("/v1/meetings", json=ISTANBUL | overrides, headers=SECRETARIAT)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_meeting_is_scheduled_read_and_listed(client: httpx.AsyncClient) -> None:
    meeting = await create(client)
    assert meeting["status"] == "planned"
    fetched = await client.get(f"/v1/meetings/{meeting['id']}", headers=VIEWER)
    assert fetched.json() == meeting
    listed = await client.get("/v1/meetings", headers=VIEWER)
    assert [m["id"] for m in listed.json()["items"]] == [meeting["id"]]


async def test_holding_emits_the_held_event_once(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    meeting = await create(client)
    held = await client.post(f"/v1/meetings/{meeting['id']}/hold", headers=SECRETARIAT)
    assert held.json()["status"] == "held"
    again = await client.post(f"/v1/meetings/{meeting['id']}/hold", headers=SECRETARIAT)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["code"] == "meeting_state_conflict"
    await _wait_for_events(bus, 2)
    types = [e.type for e in bus.log["meetings.events"]]
    assert types == ["meetings.meeting.scheduled.v1", "meetings.meeting.held.v1"]
    assert bus.log["meetings.events"][1].subject == meeting["id"]


async def test_a_cancelled_meeting_cannot_be_held(client: httpx.AsyncClient) -> None:
    meeting = await create(client)
    await client.post(f"/v1/meetings/{meeting['id']}/cancel", headers=SECRETARIAT)
    refused = await client.post(f"/v1/meetings/{meeting['id']}/hold", headers=SECRETARIAT)
    assert refused.status_code == 409
    current = await client.get(f"/v1/meetings/{meeting['id']}", headers=VIEWER)
    assert current.json()["status"] == "cancelled"


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"country": "XX"}, "country"),
        ({"country": "Turkey"}, "country"),
        ({"ends_on": "2019-12-01"}, "body"),
        ({"kind": "party"}, "kind"),
        ({"title": ""}, "title"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
async def test_invalid_meetings_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, override: dict[str, object], field: str
) -> None:
    response = await client.post("/v1/meetings", json=ISTANBUL | override, headers=SECRETARIAT)
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["code"] == "validation_failed"
    assert any(field in [str(part) for part in error["loc"]] for error in problem["errors"])
    listed = await client.get("/v1/meetings", headers=VIEWER)
    assert listed.json()["items"] == []


async def test_pagination_walks_every_meeting_once_in_date_order(client: httpx.AsyncClient) -> None:
    for day in range(1, 8):
        await create(client, starts_on=f"2020-03-0{day}", ends_on=f"2020-03-0{day}")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/meetings", params=params, headers=VIEWER)).json()
        seen += [m["starts_on"] for m in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert seen == sorted(seen)
    assert len(seen) == 7


async def test_filters_by_period_and_status(client: httpx.AsyncClient) -> None:
    await create(client)
    later = await create(client, starts_on="2020-06-01", ends_on="2020-06-02", country="BG")
    page = await client.get("/v1/meetings", params={"from": "2020-01-01"}, headers=VIEWER)
    assert [m["id"] for m in page.json()["items"]] == [later["id"]]
    page = await client.get("/v1/meetings", params={"country": "bg"}, headers=VIEWER)
    assert [m["id"] for m in page.json()["items"]] == [later["id"]]
    page = await client.get("/v1/meetings", params={"status": "held"}, headers=VIEWER)
    assert page.json()["items"] == []


async def test_a_bad_cursor_is_a_client_error(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/meetings", params={"cursor": "%%%"}, headers=VIEWER)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_cursor"


async def test_the_service_refuses_requests_without_the_gateway_identity(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/v1/meetings")).status_code == 401
    forged = {"x-bp-identity": identity_headers(secret="not the secret")["x-bp-identity"]}
    assert (await client.get("/v1/meetings", headers=forged)).status_code == 401


async def test_a_viewer_cannot_write(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/meetings", json=ISTANBUL, headers=VIEWER)
    assert response.status_code == 403
    assert (await client.get("/v1/meetings", headers=VIEWER)).json()["items"] == []


async def test_unknown_meeting_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/meetings/00000000-0000-0000-0000-000000000000", headers=VIEWER)
    assert response.status_code == 404
    assert response.json()["code"] == "meeting_not_found"
    assert (await client.get("/v1/meetings/not-a-uuid", headers=VIEWER)).status_code == 422


async def _wait_for_events(bus: InMemoryBus, count: int) -> None:
    async def published() -> bool:
        return len(bus.log["meetings.events"]) >= count

    await eventually(published, within_s=3)
