"""The live stream, read with httpx-sse from the service served on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx_sse import ServerSentEvent, aconnect_sse

from bp_common.events.envelope import CloudEvent
from notifications_api.settings import NotificationsSettings
from notifications_api.stream import hub as hub_module
from notifications_api.stream.hub import StreamHub

from .conftest import Api, running_api, settings_for

# A safety net against a hung stream, not a measure: the events come within milliseconds.
PATIENCE_S = 30


async def take(messages: AsyncIterator[ServerSentEvent], count: int) -> list[ServerSentEvent]:
    taken: list[ServerSentEvent] = []
    async with asyncio.timeout(PATIENCE_S):
        async for message in messages:
            taken.append(message)
            if len(taken) == count:
                return taken
    return taken


def stream(api: Api, headers: Any, **kwargs: Any) -> Any:
    # httpx-sse adds its Accept header to a plain dict: the identity is signed here.
    return aconnect_sse(api.client, "GET", "/v1/stream", headers=dict(headers), **kwargs)


def ids_of(messages: list[ServerSentEvent]) -> list[str]:
    return [json.loads(m.data)["id"] for m in messages]


async def test_a_client_that_reconnects_with_last_event_id_gets_exactly_what_it_missed(
    api: Api,
) -> None:
    events = [api.meeting_event(f"s-{i}") for i in range(9)]
    await api.publish(*events[:3])
    headers = api.VIEWER | {"last-event-id": "0"}
    async with stream(api, headers) as source:
        assert source.response.status_code == 200
        messages = source.aiter_sse()
        backlog = await take(messages, 3)
        await api.publish(*events[3:5])
        live = await take(messages, 2)
    assert ids_of(backlog + live) == [e.id for e in events[:5]]
    assert [m.event for m in live] == ["meetings.meeting.scheduled.v1"] * 2
    assert json.loads(live[0].data)["data"] == events[3].data

    await api.publish(*events[5:8])  # while the client is away
    headers = api.VIEWER | {"last-event-id": live[-1].id}
    async with stream(api, headers) as source:
        messages = source.aiter_sse()
        missed = await take(messages, 3)
        await api.publish(events[8])
        after = await take(messages, 1)
    # No gap, no repeat: the missed three, then the next live one.
    assert ids_of(missed + after) == [e.id for e in events[5:9]]
    assert [int(m.id) for m in missed + after] == sorted(int(m.id) for m in missed + after)


async def test_the_stream_carries_only_the_types_asked_for(api: Api) -> None:
    held = api.meeting_event("s-held", "held")
    await api.publish(api.meeting_event("s-a"), held, api.meeting_event("s-b"))
    headers = api.VIEWER | {"last-event-id": "0"}
    params = {"types": "meetings.meeting.held.v1,plan.*"}
    async with stream(api, headers, params=params) as source:
        messages = source.aiter_sse()
        first = await take(messages, 1)
        marker = api.meeting_event("s-marker", "held")
        await api.publish(api.meeting_event("s-c"), marker)
        second = await take(messages, 1)
    assert ids_of(first + second) == [held.id, marker.id]


def endpoint_event(owner: str) -> CloudEvent:
    return CloudEvent(
        type="notifications.webhook.disabled.v1",
        source="/notifications",
        subject="endpoint-1",
        data={"endpoint_id": "endpoint-1", "owner": owner, "organisation": "IOM"},
    )


async def test_a_viewers_stream_never_carries_an_event_meant_for_an_endpoints_owner(
    api: Api,
) -> None:
    private, marker = endpoint_event(owner="test-partner"), api.meeting_event("s-public")
    heard: dict[str, list[str]] = {}
    for name, headers in {"viewer": api.VIEWER, "owner": api.IOM}.items():
        await api.store(private, marker)
        start = {"last-event-id": "0"}
        async with stream(api, headers | start) as source:
            messages = source.aiter_sse()
            wanted = 1 if name == "viewer" else 2
            heard[name] = ids_of(await take(messages, wanted))
    assert heard == {"viewer": [marker.id], "owner": [private.id, marker.id]}


@pytest.fixture
async def forgetful(tmp_path: Any) -> AsyncIterator[Api]:
    settings: NotificationsSettings = settings_for(tmp_path, stream_retention_s=0)
    async with running_api(settings) as running:
        yield running


async def test_a_position_older_than_the_retention_starts_with_a_reset(forgetful: Api) -> None:
    api = forgetful
    await api.publish(*(api.meeting_event(f"s-old-{i}") for i in range(3)))
    assert await api.app.state.runtime.worker(StreamHub).prune() == 2  # the newest stays
    headers = api.VIEWER | {"last-event-id": "1"}
    async with stream(api, headers) as source:
        messages = source.aiter_sse()
        [reset] = await take(messages, 1)
        fresh = api.meeting_event("s-new")
        await api.publish(fresh)
        [after] = await take(messages, 1)
    assert reset.event == "reset"
    assert ids_of([after]) == [fresh.id]
    assert int(after.id) > int(reset.id)


async def test_bad_stream_requests_are_problems_before_the_stream_starts(api: Api) -> None:
    for headers, params, code in [
        (api.VIEWER | {"last-event-id": "abc"}, {}, "invalid_last_event_id"),
        (api.VIEWER, {"types": "meetings.nothing.v1"}, "unknown_event_type"),
        (api.VIEWER, {"types": " , "}, "no_event_types"),
    ]:
        response = await api.client.get("/v1/stream", headers=headers, params=params)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == code
    assert (await api.client.get("/v1/stream")).status_code == 401


async def test_streams_share_a_short_tail_and_read_behind_it_from_the_log(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub keeps the newest events for every open stream; one resuming behind them reads the
    log. Small sizes here, so both paths and the tail's trimming are taken."""
    monkeypatch.setattr(hub_module, "TAIL_EVENTS", 3)
    monkeypatch.setattr(hub_module, "TAIL_READ_BATCH", 2)
    events = [api.meeting_event(f"tail-{i}") for i in range(10)]
    start = {"last-event-id": "0"}  # the log is empty: from its start, whenever they connect
    async with stream(api, api.VIEWER | start) as first, stream(api, api.IOM | start) as second:
        await api.publish(*events[:7])
        await api.publish(*events[7:])
        heard = [await take(s.aiter_sse(), 10) for s in (first, second)]
    assert [ids_of(h) for h in heard] == [[e.id for e in events]] * 2
    behind = api.VIEWER | {"last-event-id": heard[0][1].id}
    async with stream(api, behind) as source:
        rest = await take(source.aiter_sse(), 8)
    assert ids_of(rest) == [e.id for e in events[2:]]
