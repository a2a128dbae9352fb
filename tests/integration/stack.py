"""A distributed stack as users run it (deploy/stack.sh), on fresh databases and a namespace."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path

import httpx

from bp_common.testing import eventually

from .conftest import KAFKA

REPO = Path(__file__).resolve().parents[2]


@contextlib.asynccontextmanager
async def stack_running(
    ports: Mapping[str, int],
    fresh_database: Callable[[str], Awaitable[str]],
    namespace: str,
    var_dir: Path,
    admin_key: str,
    **extra_env: str,
) -> AsyncIterator[None]:
    """``ports``: GATEWAY_PORT, MEETINGS_PORT, PLAN_PORT, INDICATORS_PORT (and optionally
    NOTIFICATIONS_PORT, by default the gateway's + 4, and GATEWAY_METRICS_PORT); the stack's pid
    files and logs go to ``var_dir``/stack. ``extra_env``: settings of the processes."""
    # Never stack.sh's defaults (8004, the shared "notifications" database): another stack's.
    notifications_port = ports.get("NOTIFICATIONS_PORT", int(ports["GATEWAY_PORT"]) + 4)
    env = (
        os.environ
        | {k: str(v) for k, v in ports.items()}
        | {"NOTIFICATIONS_PORT": str(notifications_port)}
        | extra_env
        | {
            "BP_VAR_DIR": str(var_dir),
            "KAFKA_NAMESPACE": namespace,
            "KAFKA_BOOTSTRAP_SERVERS": KAFKA,
            "ADMIN_API_KEY": admin_key,
            "MEETINGS_DATABASE_URL": await fresh_database("meetings"),
            "PLAN_DATABASE_URL": await fresh_database("plan"),
            "INDICATORS_DATABASE_URL": await fresh_database("indicators"),
            "NOTIFICATIONS_DATABASE_URL": await fresh_database("notifications"),
            "GATEWAY_DATABASE_URL": await fresh_database("gateway"),
        }
    )
    stack = ["bash", str(REPO / "deploy" / "stack.sh")]
    await asyncio.to_thread(subprocess.run, [*stack, "start"], check=True, env=env, timeout=180)
    try:
        yield
    finally:
        await asyncio.to_thread(subprocess.run, [*stack, "stop"], check=False, env=env, timeout=120)


async def hold_a_meeting_once_ready(gateway: httpx.AsyncClient) -> httpx.Response:
    """Wait for the stack's readiness, then create a meeting and hold it; the hold's answer."""

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
    return held
