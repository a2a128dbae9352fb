"""What depends on the passing of days or seconds, with the clock held by time-machine (or, for
the stream's heartbeat, a clock of the test's own): nothing here waits for real time to pass."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from fastapi.sse import ServerSentEvent
from httpx_sse import aconnect_sse

from bp_common.testing import eventually
from notifications_api.stream.follow import HEARTBEAT, Heartbeat, follow
from notifications_api.stream.hub import StreamedEvent, StreamHub

from .conftest import Api, Receiver, free_port, running_api, serve, settings_for
from .test_stream import take

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def attempts(api: Api, endpoint_id: str) -> list[dict[str, Any]]:
    [delivery] = await api.deliveries(endpoint_id)
    return list(delivery["attempts"])


async def endpoint_state(api: Api, endpoint_id: str) -> dict[str, Any]:
    response = await api.client.get(f"/v1/webhooks/{endpoint_id}", headers=api.SECRETARIAT)
    return dict(response.json())


async def test_an_endpoint_failing_for_three_days_is_disabled(api: Api) -> None:
    receiver, port = Receiver(status=503), free_port()
    with time_machine.travel(T0, tick=False) as clock:
        async with serve(receiver.app(), port):
            endpoint = await api.endpoint(f"http://127.0.0.1:{port}/hook", ["meetings.*"])
            receiver.secrets = [endpoint["secret"]]
            await api.publish(api.meeting_event("m-failing"))

            async def attempted(count: int) -> bool:
                return len(await attempts(api, endpoint["id"])) == count

            # Each step of the clock makes the next retry due; the dispatcher makes it.
            await eventually(lambda: attempted(1))
            for step, count in [(timedelta(days=1), 2), (timedelta(days=2, minutes=-1), 3)]:
                clock.shift(step)
                await eventually(lambda count=count: attempted(count))  # type: ignore[misc]
                assert (await endpoint_state(api, endpoint["id"]))["enabled"] is True
            clock.shift(timedelta(minutes=1))  # three days since the first failure
            await eventually(lambda: attempted(4))
            state = await endpoint_state(api, endpoint["id"])
            [delivery] = await api.deliveries(endpoint["id"])

            async def announced() -> bool:
                history = await api.client.get(
                    "/v1/history", params={"subject": endpoint["id"]}, headers=api.SECRETARIAT
                )
                return [i["type"] for i in history.json()["items"]][-1:] == [
                    "notifications.webhook.disabled.v1"
                ]

            await eventually(announced)
    assert state["enabled"] is False
    assert state["disabled_reason"] == "failing"
    assert state["failing_since"].startswith("2026-03-02T09:00:00")  # T0, the first failure
    assert delivery["status"] == "failed"
    assert [a["status_code"] for a in delivery["attempts"]] == [503] * 4
    assert len(receiver.applied) == 1  # one message, tried four times


@contextlib.asynccontextmanager
async def week_old_log(tmp_path: Any) -> AsyncIterator[Api]:
    """Three events stored at T0, two six days later; the retention (7 days, the default)
    applied at T0 + 8 days: the first three are forgotten."""
    with time_machine.travel(T0, tick=False) as clock:
        async with running_api(settings_for(tmp_path)) as api:
            await api.publish(*(api.meeting_event(f"old-{i}") for i in range(3)))
            clock.shift(timedelta(days=6))
            await api.publish(*(api.meeting_event(f"kept-{i}") for i in range(2)))
            clock.shift(timedelta(days=2))
            assert await api.app.state.runtime.worker(StreamHub).prune() == 3
            yield api


async def test_a_position_the_retention_dropped_starts_with_a_reset_and_a_kept_one_resumes(
    tmp_path: Any,
) -> None:
    async with week_old_log(tmp_path) as api:
        heard: dict[str, list[ServerSentEvent]] = {}
        for last_event_id, count in [("2", 2), ("3", 4)]:
            headers = dict(api.VIEWER) | {"last-event-id": last_event_id}
            async with aconnect_sse(api.client, "GET", "/v1/stream", headers=headers) as source:
                messages = source.aiter_sse()
                first = await take(messages, count - 1)
                fresh = api.meeting_event(f"fresh-after-{last_event_id}")
                await api.publish(fresh)
                heard[last_event_id] = first + await take(messages, 1)
    # Event 3 is gone, so after 2 something is missing: reload, then follow the new events.
    reset, *after_reset = heard["2"]
    assert reset.event == "reset"
    assert "reload" in reset.json()["reason"]
    assert [m.id for m in after_reset] == ["6"]
    # Everything after 3 is still kept: the two kept events, the first fresh one, the second.
    assert [m.id for m in heard["3"]] == ["4", "5", "6", "7"]
    assert [m.event for m in heard["3"]] == ["meetings.meeting.scheduled.v1"] * 4


# -- the heartbeat ------------------------------------------------------------------------------


@dataclass
class FakeTime:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class QuietLog:
    """A log whose events appear at given times of a fake clock; waiting moves the clock on
    (by the poll interval at most, as the hub does) instead of sleeping."""

    clock: FakeTime
    appear_at: dict[int, float] = field(default_factory=dict)  # seq -> when stored
    poll_s: float = 1.0

    def signal(self) -> None:
        return None

    async def read_after(self, position: int, limit: int) -> Sequence[StreamedEvent]:
        return [
            StreamedEvent(seq, "meetings.meeting.held.v1", {}, "{}")
            for seq, at in sorted(self.appear_at.items())
            if seq > position and at <= self.clock.now
        ][:limit]

    async def wait(self, signal: None, at_most_s: float) -> None:
        self.clock.now += min(self.poll_s, at_most_s)


async def first_messages(log: QuietLog, count: int) -> list[tuple[float, str]]:
    """(fake time, "heartbeat" or the event's id) of the first ``count`` messages."""

    def message_of(row: StreamedEvent) -> ServerSentEvent:
        return ServerSentEvent(id=str(row.seq), data="{}")

    found: list[tuple[float, str]] = []
    stream = follow(log, 0, message_of, Heartbeat(15.0, clock=log.clock))
    async for message in stream:
        found.append((log.clock.now, HEARTBEAT if message.comment == HEARTBEAT else message.id))
        if len(found) == count:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    return found


async def test_an_idle_stream_sends_a_heartbeat_every_15_seconds() -> None:
    idle = await first_messages(QuietLog(FakeTime()), 3)
    assert idle == [(15.0, HEARTBEAT), (30.0, HEARTBEAT), (45.0, HEARTBEAT)]


async def test_a_message_puts_the_next_heartbeat_off_by_15_seconds() -> None:
    busy = await first_messages(QuietLog(FakeTime(), {1: 10.0, 2: 31.0}), 4)
    assert busy == [(10.0, "1"), (25.0, HEARTBEAT), (31.0, "2"), (46.0, HEARTBEAT)]


async def test_the_heartbeat_is_a_comment_line_on_the_wire(tmp_path: Any) -> None:
    """The same loop served: with a short interval, an idle stream's body carries it."""
    async with (
        running_api(settings_for(tmp_path, stream_heartbeat_s=0.05)) as api,
        api.client.stream("GET", "/v1/stream", headers=dict(api.VIEWER)) as response,
    ):
        assert response.status_code == 200
        lines = response.aiter_lines()
        async with asyncio.timeout(30):
            first = await anext(lines)
    assert first == f": {HEARTBEAT}"
