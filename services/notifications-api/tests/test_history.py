from __future__ import annotations

import pytest

from bp_common.events.envelope import CloudEvent
from bp_common.security import Role
from notifications_api.access import Listener, may_hear
from notifications_api.event_log import repository

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


def endpoint_changed(subject: str, organisation: str) -> CloudEvent:
    return CloudEvent(
        type="notifications.webhook.updated.v1",
        source="/notifications",
        subject=subject,
        data={"endpoint_id": subject, "owner": "key-elsewhere", "organisation": organisation},
    )


async def test_history_pages_are_full_when_events_the_caller_may_not_hear_sit_between(
    api: Api,
) -> None:
    """The access rule is applied in the query, before the page is cut: a page is short only
    at the end, however many private events lie between the ones the caller may hear."""
    mixed: list[CloudEvent] = []
    for _ in range(4):
        mixed += [endpoint_changed("w-1", "UNODC") for _ in range(3)]
        mixed.append(endpoint_changed("w-1", "IOM"))
    await api.store(*mixed)
    heard = [e.id for e in mixed if e.data["organisation"] == "IOM"]

    pages: list[list[str]] = []
    cursor = None
    while True:
        params = {"subject": "w-1", "limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await api.client.get("/v1/history", params=params, headers=api.IOM)
        assert response.status_code == 200, response.text
        pages.append([i["event_id"] for i in response.json()["items"]])
        cursor = response.json().get("next_cursor")
        if not cursor:
            break
    assert pages == [heard[:2], heard[2:]]

    viewer = await api.client.get("/v1/history", params={"subject": "w-1"}, headers=api.VIEWER)
    assert viewer.json() == {"items": [], "next_cursor": None}
    everything = await api.client.get(
        "/v1/history", params={"subject": "w-1", "limit": 500}, headers=api.SECRETARIAT
    )
    assert [i["event_id"] for i in everything.json()["items"]] == [e.id for e in mixed]


@pytest.mark.parametrize("role", list(Role))
async def test_the_historys_query_applies_the_same_rule_as_the_stream(api: Api, role: Role) -> None:
    """``repository.hearable`` (SQL) against ``access.may_hear`` (Python), for every role and a
    private event of each kind of claim (owner, organisation, country, none)."""
    listener = Listener("key-mine", role, organisation="IOM", country="BG")
    datas = [
        {"owner": "key-mine"},
        {"owner": "key-other", "organisation": "IOM"},
        {"owner": "key-other", "country": "BG"},
        {"owner": "key-other", "organisation": "UNODC", "country": "HU"},
        {},
    ]
    events = [
        CloudEvent(type=event_type, source="/t", subject="rule", data=data)
        for event_type in ["gateway.key.issued.v1", "notifications.webhook.created.v1"]
        for data in datas
    ] + [api.meeting_event("rule")]
    await api.store(*events)
    async with api.app.state.runtime.database.transaction() as session:
        rows = await repository.history(
            session, listener, "rule", types=[], since=None, after_seq=None, limit=100
        )
    assert [r.event_id for r in rows] == [
        e.id for e in events if may_hear(listener, e.type, e.data)
    ]
