from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bp_common.events.memory_bus import InMemoryBus
from bp_common.testing import running, settle
from meetings_api.app import create_app
from meetings_api.organisations.announcer import Announcer
from meetings_api.settings import MeetingsSettings

Settle = Callable[[], Awaitable[None]]


@pytest.fixture
def bus() -> InMemoryBus:
    return InMemoryBus()


@pytest.fixture
def app(tmp_path: Path, bus: InMemoryBus) -> FastAPI:
    settings = MeetingsSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/meetings.db",
        public_base_url="https://api.example.org",
    )
    return create_app(settings, bus=bus)


@pytest.fixture
async def client(app: FastAPI, bus: InMemoryBus) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        await bus.start()
        # The registry's seeded organisations are announced once at start: done and published
        # before the test, so its own events come after them, never interleaved.
        await app.state.runtime.worker(Announcer).wait()
        await settle(app, bus)
        yield client
        await bus.stop()


@pytest.fixture(name="settle")
def settle_fixture(app: FastAPI, bus: InMemoryBus) -> Settle:
    """Wait until every event written so far is published and consumed (the calendar)."""
    return partial(settle, app, bus)
