"""Helpers for the services' tests: a running app with a client, gateway-signed identities, and
waiting for events to travel through the in-process bus."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
from fastapi import FastAPI

from bp_common.events.envelope import CloudEvent
from bp_common.events.memory_bus import InMemoryBus
from bp_common.security import IDENTITY_HEADER, Identity, Role, sign_identity
from bp_common.settings import DEV_IDENTITY_SECRET


def identity_headers(
    role: Role = Role.SECRETARIAT,
    *,
    organisation: str | None = None,
    country: str | None = None,
    secret: str = DEV_IDENTITY_SECRET,
) -> dict[str, str]:
    identity = Identity(
        principal=f"test-{role.value}", role=role, organisation=organisation, country=country
    )
    return {IDENTITY_HEADER: sign_identity(identity, secret)}


@contextlib.asynccontextmanager
async def running(app: FastAPI, base_url: str = "http://test") -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan entered, and a client talking to it in-process."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as client,
    ):
        yield client


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within_s: float = 5.0, every_s: float = 0.02
) -> None:
    """Wait until ``check()`` holds: effects that travel through the bus arrive asynchronously."""
    deadline = asyncio.get_running_loop().time() + within_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within_s}s")
        await asyncio.sleep(every_s)


async def deliver(bus: InMemoryBus, *events: CloudEvent) -> None:
    """Publish ``events`` as another service would, and wait until every consumer handled them."""
    await bus.publish(events)
    await bus.wait_idle()


async def settle(app: FastAPI, bus: InMemoryBus) -> None:
    """Wait until what ``app`` committed to its outbox is published and every consumer handled it
    (the relay publishes after the commit, so a response comes before its events)."""
    relay = app.state.runtime.relay

    async def outbox_empty() -> bool:
        return bool(await relay.pending_count() == 0)

    await eventually(outbox_empty)
    await bus.wait_idle()
