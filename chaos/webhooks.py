"""A partner's webhook receiver beside the stack: it verifies every delivery with the
``standardwebhooks`` library and applies each message once (dedupe on ``webhook-id``), as the
Standard Webhooks specification asks of receivers. At the end of each scenario its account says
what reached the partner: lost (an acknowledged write's event never applied), doubled (one event
applied under two webhook-ids: two deliveries of the same event, which the receiver cannot
dedupe) and redelivered (one webhook-id received again: at-least-once, deduped, not an error)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chaos.stack import ChaosError, Stack, log, pg_connection

# The domain's events (an endpoint of "*" would also hear about itself).
PATTERNS = ["meetings.*", "plan.*", "indicators.*"]


@dataclass
class Receiver:
    secret: str = ""
    # webhook-id -> the CloudEvent id it carried (the first time; applied once).
    applied: dict[str, str] = field(default_factory=dict)
    arrivals: Counter[str] = field(default_factory=Counter)  # per webhook-id
    refused: int = 0

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        try:
            payload: dict[str, Any] = Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.refused += 1
            return Response(status_code=401)
        message_id = request.headers["webhook-id"]
        self.arrivals[message_id] += 1
        self.applied.setdefault(message_id, str(payload["id"]))
        return Response(status_code=204)

    def applied_events(self) -> Counter[str]:
        """How many times each event was applied (more than once: under several webhook-ids)."""
        return Counter(self.applied.values())


@contextlib.asynccontextmanager
async def receiving(port: int) -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server._serve(), name="chaos-webhook-receiver")
    while not server.started:
        if task.done():
            task.result()
            raise ChaosError(f"the webhook receiver could not listen on {port}")
        await asyncio.sleep(0.01)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task


async def subscribe(client: httpx.AsyncClient, receiver: Receiver, port: int) -> str:
    """An endpoint for ``receiver``, registered through the gateway; its id."""
    response = await client.post(
        "/v1/webhooks", json={"url": f"http://127.0.0.1:{port}/hook", "event_types": PATTERNS}
    )
    if response.status_code != 201:
        raise ChaosError(f"webhook endpoint refused: {response.status_code} {response.text}")
    receiver.secret = response.json()["secret"]
    log(f"webhook receiver on port {port}, endpoint {response.json()['id']}")
    return str(response.json()["id"])


@dataclass
class WebhookAccount:
    expected: int = 0
    applied: int = 0
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    # Since the run began (the receiver's whole life): deliveries received again, deduped.
    redelivered: int = 0
    refused: int = 0
    settled_after_s: float = 0.0


async def pending_deliveries(stack: Stack) -> int:
    async with pg_connection(stack.database("notifications-api")) as connection:
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM webhook_delivery WHERE status::text IN ('pending', 'PENDING')"
            )
        )


async def account_webhooks(
    stack: Stack, receiver: Receiver, sent: Iterable[str], within_s: float
) -> WebhookAccount:
    """Once every delivery is settled (none pending, or ``within_s`` passed): the events of
    ``sent`` (the scenario's, by CloudEvent id) against what the receiver applied."""
    expected = set(sent)
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        with contextlib.suppress(Exception):
            done = expected <= set(receiver.applied.values())
            if done and await pending_deliveries(stack) == 0:
                break
        if loop.time() - started > within_s:
            break
        await asyncio.sleep(1)
    applied = receiver.applied_events()
    return WebhookAccount(
        expected=len(expected),
        applied=sum(1 for event_id in expected if applied[event_id]),
        lost=sorted(expected - set(applied)),
        doubled=sorted(e for e in expected if applied[e] > 1),
        redelivered=sum(n - 1 for n in receiver.arrivals.values()),
        refused=receiver.refused,
        settled_after_s=round(loop.time() - started, 1),
    )
