"""notifications-api on the real broker, as users run it (deploy/stack.sh, fresh databases and
namespace): writes through the gateway reach a webhook receiver on loopback, verified with the
``standardwebhooks`` library, and an SSE client (httpx-sse) through the gateway; a client that
reconnects with Last-Event-ID gets exactly what it missed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from httpx_sse import ServerSentEvent, aconnect_sse
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bp_common.testing import eventually

from .stack import hold_a_meeting_once_ready, stack_running

ADMIN_KEY = "bp_admin_notifications-test-key"
# Apart from test_distributed_stack's (18000-18004) and test_prometheus's.
PORTS = {
    "GATEWAY_PORT": 18200,
    "MEETINGS_PORT": 18201,
    "PLAN_PORT": 18202,
    "INDICATORS_PORT": 18203,
    "NOTIFICATIONS_PORT": 18204,
    "GATEWAY_METRICS_PORT": 18290,
}
# The receiver listens on loopback over http: allowed for this stack only.
DEVELOPMENT_RECEIVER = {
    "NOTIFICATIONS_WEBHOOK_ALLOW_HTTP": "true",
    "NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",
}
MEETING_TYPES = "meetings.meeting.*"
PATIENCE_S = 60  # a safety net against a hung stream, not a measure


@dataclass
class Receiver:
    """A partner's receiver: verifies each delivery, applies each webhook-id once."""

    secret: str = ""
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: int = 0
    refused: int = 0

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        self.received += 1
        try:
            payload = Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.refused += 1
            return Response(status_code=401)
        self.applied.setdefault(request.headers["webhook-id"], payload)
        return Response(status_code=204)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def receiving(receiver: Receiver, port: int) -> AsyncIterator[None]:
    app = Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def gateway(
    fresh_database: Callable[[str], Awaitable[str]], namespace: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        stack_running(
            PORTS, fresh_database, namespace, tmp_path, ADMIN_KEY, **DEVELOPMENT_RECEIVER
        ),
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{PORTS['GATEWAY_PORT']}",
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            timeout=30,
        ) as client,
    ):
        yield client


async def take(messages: AsyncIterator[ServerSentEvent], count: int) -> list[ServerSentEvent]:
    taken: list[ServerSentEvent] = []
    async with asyncio.timeout(PATIENCE_S):
        async for message in messages:
            if message.data:  # httpx-sse also yields an empty message for a heartbeat comment
                taken.append(message)
            if len(taken) == count:
                break
    return taken


def stream(gateway: httpx.AsyncClient, last_event_id: str) -> Any:
    return aconnect_sse(
        gateway,
        "GET",
        "/v1/stream",
        params={"types": MEETING_TYPES},
        headers={"last-event-id": last_event_id},
    )


def event_ids(messages: list[ServerSentEvent]) -> list[str]:
    return [json.loads(m.data)["id"] for m in messages]


async def test_writes_reach_a_verified_webhook_and_a_resumable_stream_on_the_real_broker(
    gateway: httpx.AsyncClient,
) -> None:
    receiver, port = Receiver(), free_port()
    async with receiving(receiver, port):

        async def ready() -> bool:
            return (await gateway.get("/readyz")).status_code == 200

        await eventually(ready, within_s=PATIENCE_S, every_s=0.25)
        created = await gateway.post(
            "/v1/webhooks",
            json={"url": f"http://127.0.0.1:{port}/hook", "event_types": [MEETING_TYPES]},
        )
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]
        await hold_a_meeting_once_ready(gateway)  # two events

        # From the start of the log (a fresh database): scheduled and held of the first meeting,
        # then those of the meetings held while the client is connected.
        async with stream(gateway, "0") as source:
            assert source.response.status_code == 200
            assert source.response.headers["content-type"].startswith("text/event-stream")
            messages = source.aiter_sse()
            first = await take(messages, 2)
            await hold_a_meeting_once_ready(gateway)
            live = await take(messages, 2)
        # Away: two more meetings held; back with the last id seen.
        for _ in range(2):
            await hold_a_meeting_once_ready(gateway)
        async with stream(gateway, live[-1].id or "") as source:
            messages = source.aiter_sse()
            missed = await take(messages, 4)
            await hold_a_meeting_once_ready(gateway)
            after = await take(messages, 2)
        async with stream(gateway, "0") as source:
            everything = await take(source.aiter_sse(), 10)

        heard = first + live + missed + after
        # No gap, no repeat: what the client heard in three connections is the log, in order.
        assert event_ids(heard) == event_ids(everything)
        assert [int(m.id or 0) for m in heard] == sorted(int(m.id or 0) for m in heard)
        assert [m.event for m in heard] == [
            "meetings.meeting.scheduled.v1",
            "meetings.meeting.held.v1",
        ] * 5
        envelope = json.loads(heard[0].data)
        assert envelope["specversion"] == "1.0"
        assert envelope["actor"]

        # The webhook: the same ten events, each applied once, every signature verified.
        expected = set(event_ids(heard))

        async def delivered() -> bool:
            return {p["id"] for p in receiver.applied.values()} >= expected

        await eventually(delivered, within_s=PATIENCE_S, every_s=0.1)
    assert receiver.refused == 0
    assert {p["id"] for p in receiver.applied.values()} == expected
    assert len(receiver.applied) == len(expected)
    subject = json.loads(heard[-1].data)["subject"]
    history = await gateway.get("/v1/history", params={"subject": subject})
    items = history.json()["items"]
    assert [i["type"] for i in items if i["type"].startswith("meetings.")] == [
        "meetings.meeting.scheduled.v1",
        "meetings.meeting.held.v1",
    ]
    # Each names who caused it: the admin key's principal.
    assert None not in {i["actor"] for i in items if i["type"].startswith("meetings.")}

    # The endpoint's own history went the same way (notifications.events, its own consumer).
    async def endpoint_recorded() -> bool:
        got = await gateway.get("/v1/history", params={"subject": created.json()["id"]})
        return [i["type"] for i in got.json()["items"]] == ["notifications.webhook.created.v1"]

    await eventually(endpoint_recorded, within_s=PATIENCE_S, every_s=0.1)
