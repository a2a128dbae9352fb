"""The compose topology end to end, through the gateway's published port only: the Istanbul story,
then the broker killed and started again under writes. `deploy/compose.sh test` (`make
test-compose`) runs this file against the containers it started; its name keeps it out of the unit
and integration suites, which have no containers to talk to."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bp_common.testing import eventually
from bpctl.demo import load_demo
from tests.story import Gateway, check_story

REPO = Path(__file__).resolve().parents[2]
FAULT_YEAR = 2031  # no story meeting is held then


def setting(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run this file through deploy/compose.sh test")
    return value


@pytest.fixture
def admin_key() -> str:
    return setting("ADMIN_API_KEY")


@pytest.fixture
async def gateway(admin_key: str) -> AsyncIterator[Gateway]:
    async with httpx.AsyncClient(
        base_url=setting("BP_COMPOSE_URL"),
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=15,
    ) as client:
        yield Gateway(client, admin_key)


async def compose(*args: str) -> str:
    done = await asyncio.to_thread(
        subprocess.run,
        ["bash", str(REPO / "deploy" / "compose.sh"), "compose", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout


async def test_the_istanbul_story_through_the_published_port(
    gateway: Gateway, admin_key: str
) -> None:
    """Partner keys, the calendar and the rollups fed by events, as in the distributed stack."""
    demo = await load_demo(gateway.client, admin_key, within_s=90)
    await check_story(gateway.client, admin_key, demo)


async def test_nothing_is_lost_or_doubled_when_kafka_is_killed_under_writes(
    gateway: Gateway,
) -> None:
    held = 0

    async def hold_one() -> None:
        nonlocal held
        created = await gateway.client.post(
            "/v1/meetings",
            json={
                "title": f"Fault meeting {held + 1}",
                "kind": "working_group_meeting",
                "starts_on": f"{FAULT_YEAR}-03-02",
                "ends_on": f"{FAULT_YEAR}-03-03",
                "city": "Budapest",
                "country": "HU",
            },
        )
        assert created.status_code == 201, created.text
        hold = await gateway.client.post(f"/v1/meetings/{created.json()['id']}/hold")
        assert hold.status_code == 200, hold.text  # acknowledged: it must be counted once
        held += 1

    async def counted() -> float:
        rollup = await gateway.rollup("BP-MEETINGS-HELD", "country,year")
        return rollup.get(("HU", FAULT_YEAR), 0)

    before = await counted()  # a run of this test before, on the same volumes

    async def all_counted() -> bool:
        return await counted() >= before + held

    async def kafka(field: str) -> str:
        return (await compose("ps", "--all", "--format", f"{{{{.{field}}}}}", "kafka")).strip()

    for _ in range(5):
        await hold_one()
    await eventually(all_counted, within_s=60, every_s=0.5)
    assert await counted() == before + held

    await compose("kill", "kafka")  # SIGKILL: no clean shutdown, no flush
    assert await kafka("State") == "exited"
    for _ in range(10):  # acknowledged while the broker is down: kept in the outboxes
        await hold_one()
    assert await kafka("State") == "exited"
    await compose("start", "kafka")
    while await kafka("Health") != "healthy":  # and while it starts again
        await hold_one()
    for _ in range(5):
        await hold_one()

    await eventually(all_counted, within_s=180, every_s=1)
    assert await counted() == before + held  # none doubled by the producers' or consumers' retries
