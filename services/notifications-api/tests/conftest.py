"""notifications-api on SQLite and the in-process bus, served by uvicorn on loopback (the stream
is an answer that never ends, which an in-process transport cannot carry), with a real webhook
receiver on loopback that verifies every delivery with the ``standardwebhooks`` library."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bp_common.events.envelope import CloudEvent
from bp_common.events.memory_bus import InMemoryBus
from bp_common.security import Role
from bp_common.testing import identity_headers
from notifications_api.app import create_app
from notifications_api.event_log import repository
from notifications_api.event_log.handlers import EVENTS_STORED
from notifications_api.settings import NotificationsSettings

SECRETARIAT = identity_headers(Role.SECRETARIAT)
VIEWER = identity_headers(Role.VIEWER)
IOM = identity_headers(Role.PARTNER, organisation="IOM")
UNODC = identity_headers(Role.PARTNER, organisation="UNODC")
BULGARIA = identity_headers(Role.MEMBER, country="BG")
DOMAIN_PATTERNS = ["meetings.*", "plan.*", "indicators.*"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def serve(app: Any, port: int) -> AsyncIterator[str]:
    """``app`` served by uvicorn on loopback until the block ends; its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def meeting_event(subject: str, kind: str = "scheduled", **data: Any) -> CloudEvent:
    return CloudEvent(
        type=f"meetings.meeting.{kind}.v1",
        source="/meetings",
        subject=subject,
        data={"meeting_id": subject, **data},
        actor="key-secretariat",
        requestid=uuid.uuid4().hex,
    )


@dataclass
class Receiver:
    """A partner's receiver: verifies each delivery against the secrets it knows, applies each
    message once (dedupe on webhook-id), answers with ``status``."""

    secrets: list[str] = field(default_factory=list)
    status: int = 204
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: int = 0
    refused: int = 0
    headers: list[dict[str, str]] = field(default_factory=list)

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        self.received += 1
        self.headers.append(headers)
        for secret in self.secrets:
            try:
                payload = Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            assert headers["content-type"] == "application/cloudevents+json"
            self.applied.setdefault(headers["webhook-id"], payload)
            body_out = b"" if self.status == 204 else b"x" * 3000
            return Response(status_code=self.status, content=body_out)
        self.refused += 1
        return Response(status_code=401)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.handle, methods=["POST"])])


class Api:
    """The service under test, with shortcuts (tests reach helpers through this fixture)."""

    SECRETARIAT = SECRETARIAT
    VIEWER = VIEWER
    IOM = IOM
    UNODC = UNODC
    BULGARIA = BULGARIA
    meeting_event = staticmethod(meeting_event)

    def __init__(self, client: httpx.AsyncClient, bus: InMemoryBus, app: FastAPI) -> None:
        self.client = client
        self.bus = bus
        self.app = app

    async def publish(self, *events: CloudEvent) -> None:
        await self.bus.publish(events)
        await self.bus.wait_idle()

    async def store(self, *events: CloudEvent) -> None:
        """Events written to the log as the consumer writes them, without the bus (how a test
        puts an event of any type, with any data, in the log)."""
        async with self.app.state.runtime.database.transaction() as session:
            for event in events:
                await repository.store(session, event)
            session.info[EVENTS_STORED] = True

    async def endpoint(
        self, url: str, event_types: list[str] | None = None, headers: Any = SECRETARIAT
    ) -> dict[str, Any]:
        # The domain's events by default: an endpoint of "*" also hears about itself.
        body = {"url": url, "event_types": event_types or DOMAIN_PATTERNS}
        response = await self.client.post("/v1/webhooks", json=body, headers=headers)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def deliveries(self, endpoint_id: str, **params: Any) -> list[dict[str, Any]]:
        response = await self.client.get(
            f"/v1/webhooks/{endpoint_id}/deliveries",
            params=params | {"limit": 500},
            headers=SECRETARIAT,
        )
        assert response.status_code == 200, response.text
        return list(response.json()["items"])


def settings_for(tmp_path: Path, **overrides: Any) -> NotificationsSettings:
    """Retries within seconds; the receiver on loopback allowed (unless overridden)."""
    defaults: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/notifications.db",
        "webhook_retry_schedule_s": [0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
        "webhook_dispatch_interval_s": 0.05,
        "webhook_allow_http": True,
        "webhook_allow_private_addresses": True,
        "stream_poll_interval_s": 0.2,
    }
    return NotificationsSettings(**(defaults | overrides))


@pytest.fixture
async def settings(tmp_path: Path) -> NotificationsSettings:
    return settings_for(tmp_path)


@contextlib.asynccontextmanager
async def running_api(settings: NotificationsSettings) -> AsyncIterator[Api]:
    bus = InMemoryBus()
    app = create_app(settings, bus=bus, migrate=True)
    async with (
        serve(app, free_port()) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        await bus.start()
        yield Api(client, bus, app)
        await bus.stop()


@pytest.fixture
async def api(settings: NotificationsSettings) -> AsyncIterator[Api]:
    async with running_api(settings) as running:
        yield running


@pytest.fixture
async def strict_api(tmp_path: Path) -> AsyncIterator[Api]:
    """The service as deployed: https only, no internal address."""
    strict = settings_for(tmp_path, webhook_allow_http=False, webhook_allow_private_addresses=False)
    async with running_api(strict) as running:
        yield running


def now() -> datetime:
    return datetime.now(UTC)
