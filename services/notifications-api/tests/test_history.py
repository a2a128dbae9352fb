from __future__ import annotations

from .conftest import Api


async def test_a_records_history_is_its_events_oldest_first_with_who_did_it(api: Api) -> None:
    scheduled = api.meeting_event("m-1")
    other = api.meeting_event("m-2")
    rescheduled = api.meeting_event("m-1", "rescheduled")
    await api.publish(scheduled, other, rescheduled)

    response = await api.client.get("/v1/history", params={"subject": "m-1"}, headers=api.VIEWER)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["event_id"] for i in items] == [scheduled.id, rescheduled.id]
    assert [i["summary"] for i in items] == ["Meeting scheduled", "Meeting rescheduled"]
    assert {i["actor"] for i in items} == {"key-secretariat"}
    assert items[0]["request_id"] == scheduled.requestid
    assert items[0]["data"] == scheduled.data

    only = await api.client.get(
        "/v1/history",
        params={"subject": "m-1", "type": "meetings.meeting.rescheduled.v1"},
        headers=api.VIEWER,
    )
    assert [i["event_id"] for i in only.json()["items"]] == [rescheduled.id]


async def test_history_pages_and_refuses_bad_filters(api: Api) -> None:
    events = [api.meeting_event("m-9", "updated") for _ in range(5)]
    await api.publish(*events)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"subject": "m-9", "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.client.get("/v1/history", params=params, headers=api.SECRETARIAT)).json()
        seen += [i["event_id"] for i in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert seen == [e.id for e in events]

    naive = await api.client.get(
        "/v1/history", params={"subject": "m-9", "since": "2020-01-01T00:00:00"}, headers=api.VIEWER
    )
    assert naive.status_code == 422
    assert naive.headers["content-type"] == "application/problem+json"
    forged = await api.client.get(
        "/v1/history", params={"subject": "m-9", "cursor": "nope"}, headers=api.VIEWER
    )
    assert forged.status_code == 422
    assert forged.json()["code"] == "invalid_cursor"
    assert (await api.client.get("/v1/history", headers=api.VIEWER)).status_code == 422
