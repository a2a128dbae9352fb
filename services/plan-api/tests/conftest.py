from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bp_common.events.bus import RetryPolicy
from bp_common.events.memory_bus import InMemoryBus
from bp_common.testing import running
from plan_api.app import create_app
from plan_api.settings import PlanSettings


@pytest.fixture
def bus() -> InMemoryBus:
    # Quick retries: malformed events reach the dead letters within the test.
    return InMemoryBus(RetryPolicy(max_attempts=2, backoff_s=0.01))


@pytest.fixture
async def client(tmp_path: Path, bus: InMemoryBus) -> AsyncIterator[httpx.AsyncClient]:
    settings = PlanSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/plan.db", outbox_poll_interval_s=0.05
    )
    app = create_app(settings, bus=bus)
    async with running(app) as client:
        await bus.start()
        yield client
        await bus.stop()
