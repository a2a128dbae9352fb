from datetime import UTC, datetime, timedelta

import httpx
import pytest
import time_machine

from bp_common.events.envelope import CloudEvent
from bp_common.events.memory_bus import InMemoryBus
from bp_common.pagination import encode_cursor
from bp_common.security import IDENTITY_MAX_AGE_S, Role
from bp_common.testing import eventually, identity_headers

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


def meeting_events(bus: InMemoryBus) -> list[CloudEvent]:
    """The meetings' events (the registry also announces its seeded organisations at start)."""
    return [e for e in bus.log["meetings.events"] if e.type.startswith("meetings.meeting.")]


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
    types = [e.type for e in meeting_events(bus)]
    assert types == ["meetings.meeting.scheduled.v1", "meetings.meeting.held.v1"]
    assert meeting_events(bus)[1].subject == meeting["id"]


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
    forged = {
        "x-bp-identity": identity_headers(secret="not the secret, though long enough")[
            "x-bp-identity"
        ]
    }
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
        return len(meeting_events(bus)) >= count

    await eventually(published)


# -- changes and rescheduling ------------------------------------------------------------------


async def test_new_dates_reschedule_and_keep_the_previous_ones(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    meeting = await create(client)
    path = f"/v1/meetings/{meeting['id']}"
    moved = await client.patch(
        path, json={"starts_on": "2019-12-10", "ends_on": "2019-12-11"}, headers=SECRETARIAT
    )
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert (body["starts_on"], body["ends_on"], body["status"]) == (
        "2019-12-10",
        "2019-12-11",
        "planned",
    )
    assert body["revision"] == meeting["revision"] + 1
    assert [(p["starts_on"], p["ends_on"]) for p in body["previous_dates"]] == [
        ("2019-12-04", "2019-12-05")
    ]
    again = await client.patch(
        path, json={"starts_on": "2019-12-10", "ends_on": "2019-12-11"}, headers=SECRETARIAT
    )
    assert again.json() == body  # a repeated request changes nothing
    await _wait_for_events(bus, 2)
    rescheduled = meeting_events(bus)[1]
    assert rescheduled.type == "meetings.meeting.rescheduled.v1"
    assert rescheduled.data["previous"] == {"starts_on": "2019-12-04", "ends_on": "2019-12-05"}
    assert rescheduled.data["starts_on"] == "2019-12-10"
    assert len(meeting_events(bus)) == 2


async def test_other_changes_are_published_as_an_update(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    meeting = await create(client, working_group="Silk Routes")
    changed = await client.patch(
        f"/v1/meetings/{meeting['id']}",
        json={"city": "Ankara", "working_group": None},
        headers=SECRETARIAT,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["city"], changed.json()["working_group"]) == ("Ankara", None)
    assert changed.json()["previous_dates"] == []
    await _wait_for_events(bus, 2)
    updated = meeting_events(bus)[1]
    assert updated.type == "meetings.meeting.updated.v1"
    assert updated.data["changed"] == ["city", "working_group"]
    assert updated.data["revision"] == 1


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"ends_on": "2019-12-01"}, 422, "dates_out_of_order"),
        ({"starts_on": "2019-12-06"}, 422, "dates_out_of_order"),
        ({"title": None}, 422, "validation_failed"),
        ({"country": "XX"}, 422, "validation_failed"),
        ({"status": "held"}, 422, "validation_failed"),
        ({"starts_on": "2019-12-05"}, 409, "agenda_beyond_dates"),
    ],
)
async def test_refused_changes_store_nothing(
    client: httpx.AsyncClient, change: dict[str, object], status: int, code: str
) -> None:
    meeting = await create(client)
    path = f"/v1/meetings/{meeting['id']}"
    item = {"position": 1, "title": "Endorsement", "day": 2}
    assert (await client.post(f"{path}/agenda-items", json=item, headers=SECRETARIAT)).is_success
    refused = await client.patch(path, json=change, headers=SECRETARIAT)
    assert refused.status_code == status
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == code
    unchanged = (await client.get(path, headers=VIEWER)).json()
    assert unchanged | {"goals": []} == meeting | {"goals": []}


async def test_only_a_planned_meeting_changes(client: httpx.AsyncClient) -> None:
    meeting = await create(client)
    await client.post(f"/v1/meetings/{meeting['id']}/hold", headers=SECRETARIAT)
    refused = await client.patch(
        f"/v1/meetings/{meeting['id']}", json={"city": "Ankara"}, headers=SECRETARIAT
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "meeting_state_conflict"


async def test_the_held_event_carries_attendance_and_goals(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    meeting = await create(client)
    path = f"/v1/meetings/{meeting['id']}"
    delegations = [{"participant": "TR", "headcount": 5}, {"participant": "IOM", "headcount": 2}]
    await client.put(f"{path}/delegations", json=delegations, headers=SECRETARIAT)
    for position, goal in ((1, 5), (2, 1), (3, 5)):
        item = {"position": position, "title": f"Item {position}", "goal": goal}
        await client.post(f"{path}/agenda-items", json=item, headers=SECRETARIAT)
    held = await client.post(f"{path}/hold", headers=SECRETARIAT)
    assert held.json()["attendance"] == {"participants": 7, "countries": 1, "organisations": 1}
    await _wait_for_events(bus, 2)
    event = meeting_events(bus)[1]
    assert event.type == "meetings.meeting.held.v1"
    assert event.data["attendance"] == {"participants": 7, "countries": 1, "organisations": 1}
    assert event.data["goals"] == [1, 5]
    assert event.data["status"] == "held"


async def test_lists_sort_both_ways_and_refuse_a_reversed_period(
    client: httpx.AsyncClient,
) -> None:
    first = await create(client, starts_on="2020-01-01", ends_on="2020-01-01")
    last = await create(client, starts_on="2020-02-01", ends_on="2020-02-01")
    newest_first = await client.get("/v1/meetings", params={"order": "desc"}, headers=VIEWER)
    assert [m["id"] for m in newest_first.json()["items"]] == [last["id"], first["id"]]
    page = await client.get("/v1/meetings", params={"order": "desc", "limit": 1}, headers=VIEWER)
    cursor = page.json()["next_cursor"]
    rest = await client.get(
        "/v1/meetings", params={"order": "desc", "limit": 1, "cursor": cursor}, headers=VIEWER
    )
    assert [m["id"] for m in rest.json()["items"]] == [first["id"]]
    reversed_period = {"from": "2020-02-01", "to": "2020-01-01"}
    refused = await client.get("/v1/meetings", params=reversed_period, headers=VIEWER)
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_period"


@pytest.mark.parametrize(
    "values", [[1, 2], ["2020-01-01", "not-a-uuid"], [None, None], ["x"], [[], {}]]
)
async def test_a_forged_cursor_is_a_client_error(
    client: httpx.AsyncClient, values: list[object]
) -> None:
    cursor = encode_cursor(*values)
    response = await client.get("/v1/meetings", params={"cursor": cursor}, headers=VIEWER)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_cursor"


async def test_test_identities_are_signed_when_sent_not_when_made(
    client: httpx.AsyncClient,
) -> None:
    """A suite that runs longer than the identity's lifetime must not fail on headers made at
    import time: the shared headers sign at each request, a materialised copy does expire."""
    with time_machine.travel(datetime.now(UTC), tick=True) as clock:
        made_early = identity_headers(Role.VIEWER)
        frozen_copy = dict(made_early)
        clock.shift(timedelta(seconds=IDENTITY_MAX_AGE_S + 60))
        assert (await client.get("/v1/meetings", headers=made_early)).status_code == 200
        expired = await client.get("/v1/meetings", headers=frozen_copy)
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"].lower()


async def test_an_unserved_method_is_405_with_allow_and_an_unknown_path_404(
    client: httpx.AsyncClient,
) -> None:
    # Routing comes before the identity check: no identity is needed to learn the methods.
    meeting = "/v1/meetings/00000000-0000-0000-0000-000000000001"
    for method, path, allow in (
        ("DELETE", "/v1/meetings", "GET, POST, OPTIONS"),
        ("PUT", meeting, "GET, PATCH, OPTIONS"),
        ("GET", f"{meeting}/hold", "POST, OPTIONS"),
        ("POST", f"{meeting}/delegations", "GET, PUT, OPTIONS"),
    ):
        refused = await client.request(method, path)
        assert (refused.status_code, refused.headers["allow"]) == (405, allow), path
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "method_not_allowed"
        options = await client.options(path)
        assert (options.status_code, options.headers["allow"]) == (204, allow)
    unknown = await client.delete(f"{meeting}/nothing")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")


async def test_readiness_reports_consumer_lag(client: httpx.AsyncClient, bus: InMemoryBus) -> None:
    """Lag is reported beside the checks, not judged: a read model behind its events answers."""
    await bus.publish(
        [CloudEvent(type="plan.activity.proposed.v1", source="/plan", subject="a", data={})]
    )
    await bus.wait_idle()
    response = await client.get("/readyz")
    assert response.status_code == 200
    lag = response.json()["consumer_lag"]
    assert {"meetings.events", "plan.events"} <= set(lag)
    assert set(lag.values()) == {0}
