"""The vertical slice in the embedded mode: a meeting held in meetings-api is counted by
indicators-api through the outbox, the in-process bus and the inbox, all behind the gateway."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bp_common.testing import eventually, running
from bpctl.embedded import EmbeddedPlatform

KEY = "bp_admin_embedded-test"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[tuple[EmbeddedPlatform, httpx.AsyncClient]]:
    embedded = EmbeddedPlatform(tmp_path, KEY, load_demo_data=False)
    async with running(embedded.gateway) as client:
        yield embedded, client


async def meetings_held(client: httpx.AsyncClient) -> float:
    response = await client.get("/v1/event-metrics/meetings_held", headers=AUTH)
    assert response.status_code == 200, response.text
    return float(response.json()["value"])


async def test_holding_a_meeting_is_counted_by_indicators(
    platform: tuple[EmbeddedPlatform, httpx.AsyncClient],
) -> None:
    embedded, client = platform
    created = await client.post(
        "/v1/meetings",
        headers=AUTH,
        json={
            "title": "Senior Officials Meeting",
            "kind": "senior_officials_meeting",
            "starts_on": "2019-12-04",
            "ends_on": "2019-12-05",
            "city": "Istanbul",
            "country": "TR",
        },
    )
    assert created.status_code == 201, created.text
    assert await meetings_held(client) == 0
    held = await client.post(f"/v1/meetings/{created.json()['id']}/hold", headers=AUTH)
    assert held.status_code == 200

    async def counted() -> bool:
        return await meetings_held(client) >= 1

    await eventually(counted)
    await embedded.bus.wait_idle()
    assert await meetings_held(client) == 1
    by_country = await client.get(
        "/v1/event-metrics/meetings_held", params={"country": "TR", "year": 2019}, headers=AUTH
    )
    assert by_country.json()["breakdown"] == [
        {"metric": "meetings_held", "country": "TR", "year": 2019, "value": 1.0}
    ]


async def test_without_a_key_the_answer_is_a_401_problem(
    platform: tuple[EmbeddedPlatform, httpx.AsyncClient],
) -> None:
    _, client = platform
    response = await client.get("/v1/meetings")
    assert response.status_code == 401
    assert response.json()["status"] == 401
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/readyz")).json()["status"] == "ready"
