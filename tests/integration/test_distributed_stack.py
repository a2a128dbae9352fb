"""The distributed mode as users run it: `deploy/stack.sh` starts each service and the gateway
as its own process, on PostgreSQL and Kafka; the slice works through the gateway."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from bp_common.testing import eventually
from bpctl.demo import load_demo
from tests.story import check_story

from .conftest import KAFKA

REPO = Path(__file__).resolve().parents[2]
ADMIN_KEY = "bp_admin_stack-test-key"
PORTS = {
    "GATEWAY_PORT": 18000,
    "MEETINGS_PORT": 18001,
    "PLAN_PORT": 18002,
    "INDICATORS_PORT": 18003,
}


@pytest.fixture
async def gateway(
    fresh_database: Callable[[str], Awaitable[str]], namespace: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    env = (
        os.environ
        | {k: str(v) for k, v in PORTS.items()}
        | {
            "BP_VAR_DIR": str(tmp_path),
            "KAFKA_NAMESPACE": namespace,
            "KAFKA_BOOTSTRAP_SERVERS": KAFKA,
            "ADMIN_API_KEY": ADMIN_KEY,
            "MEETINGS_DATABASE_URL": await fresh_database("meetings"),
            "PLAN_DATABASE_URL": await fresh_database("plan"),
            "INDICATORS_DATABASE_URL": await fresh_database("indicators"),
            "GATEWAY_DATABASE_URL": await fresh_database("gateway"),
        }
    )
    stack = ["bash", str(REPO / "deploy" / "stack.sh")]
    await asyncio.to_thread(subprocess.run, [*stack, "start"], check=True, env=env, timeout=180)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{PORTS['GATEWAY_PORT']}",
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            timeout=15,
        ) as client:
            yield client
    finally:
        await asyncio.to_thread(subprocess.run, [*stack, "stop"], check=False, env=env, timeout=120)


async def test_the_slice_works_across_processes(gateway: httpx.AsyncClient) -> None:
    async def ready() -> bool:
        return (await gateway.get("/readyz")).status_code == 200

    await eventually(ready, within_s=30, every_s=0.25)
    created = await gateway.post(
        "/v1/meetings",
        json={
            "title": "Working group meeting",
            "kind": "working_group_meeting",
            "starts_on": "2020-04-01",
            "ends_on": "2020-04-02",
            "city": "Sofia",
            "country": "BG",
        },
    )
    assert created.status_code == 201, created.text
    held = await gateway.post(f"/v1/meetings/{created.json()['id']}/hold")
    assert held.status_code == 200
    assert held.headers["x-request-id"]

    async def counted() -> bool:
        response = await gateway.get("/v1/event-metrics/meetings_held")
        return float(response.json()["value"]) == 1

    await eventually(counted, within_s=30, every_s=0.1)
    unauthenticated = await gateway.get("/v1/meetings", headers={"Authorization": ""})
    assert unauthenticated.status_code == 401
    async with httpx.AsyncClient(timeout=5) as client:
        direct = await client.get(f"http://127.0.0.1:{PORTS['MEETINGS_PORT']}/v1/meetings")
    assert direct.status_code == 401


async def test_the_istanbul_story_works_across_processes(gateway: httpx.AsyncClient) -> None:
    """The same story as tests/test_istanbul_story.py, over PostgreSQL and Kafka."""
    demo = await load_demo(gateway, ADMIN_KEY, within_s=60)
    await check_story(gateway, ADMIN_KEY, demo)


async def test_a_stopped_service_is_a_quick_502_and_readiness_names_it(
    gateway: httpx.AsyncClient, tmp_path: Path
) -> None:
    pid = int((tmp_path / "stack" / "meetings-api.pid").read_text())
    os.killpg(pid, signal.SIGKILL)

    async def refused() -> bool:
        return (await gateway.get("/v1/meetings")).status_code == 502

    await eventually(refused, every_s=0.1)
    response = await gateway.get("/v1/meetings")
    # Refused at once, not waited out: a timeout would be a 504 upstream_timeout.
    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "upstream_unavailable"
    readiness = await gateway.get("/readyz")
    assert readiness.status_code == 503
    assert readiness.json()["checks"] == {
        "database": True,
        "meetings": False,
        "plan": True,
        "indicators": True,
    }
    # The other services still answer.
    assert (await gateway.get("/v1/plans")).status_code == 200
