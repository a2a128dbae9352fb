"""In the embedded mode: the calendar (meetings-api) follows plan-api's corrections through the
plan.activity.* events it already reads: an activity's corrected title and dates, and its status
when the offer to host it is withdrawn."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bp_common.testing import current_if_match, eventually, running
from bpctl.embedded import EmbeddedPlatform

KEY = "bp_admin_calendar-corrections"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    embedded = EmbeddedPlatform(tmp_path, KEY, load_demo_data=False)
    async with running(embedded.gateway) as client:
        yield client


async def call(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {**AUTH, **kwargs.pop("headers", {})}
    response = await client.request(method, path, headers=headers, **kwargs)
    assert response.status_code < 300, f"{method} {path}: {response.text}"
    return response


async def calendar_entry(client: httpx.AsyncClient, activity_id: str) -> dict[str, Any] | None:
    page = (await call(client, "GET", "/v1/calendar?from=2021-01-01&to=2021-12-31")).json()
    return next((e for e in page["items"] if e["id"] == activity_id), None)


async def shows(client: httpx.AsyncClient, activity_id: str, **expected: Any) -> None:
    async def arrived() -> bool:
        entry = await calendar_entry(client, activity_id)
        return entry is not None and all(entry[k] == v for k, v in expected.items())

    await eventually(arrived)


async def test_the_calendar_follows_activity_corrections_and_offer_withdrawals(
    client: httpx.AsyncClient,
) -> None:
    plan = (
        await call(
            client,
            "POST",
            "/v1/plans",
            json={
                "title": "Plan",
                "period_start": 2020,
                "period_end": 2024,
                "goals": [{"number": 1, "title": "Goal 1"}],
            },
        )
    ).json()
    activity = (
        await call(
            client,
            "POST",
            f"/v1/plans/{plan['id']}/activities",
            json={"title": "Trainnig", "goal": 1, "kind": "training", "year": 2021},
        )
    ).json()
    path = f"/v1/activities/{activity['id']}"
    await shows(client, activity["id"], title="Trainnig", status="proposed")

    offer = (await call(client, "POST", f"{path}/hosting-offers", json={"country": "BG"})).json()
    await shows(client, activity["id"], status="host_offered")
    offer_path = f"/v1/hosting-offers/{offer['id']}"
    await call(
        client,
        "POST",
        f"{offer_path}/withdraw",
        json={"reason": "Offered by mistake"},
        headers=await current_if_match(client, offer_path, AUTH),
    )
    await shows(client, activity["id"], status="proposed")

    before = await current_if_match(client, path, AUTH)
    corrected = await call(
        client,
        "PATCH",
        path,
        json={"title": "Training", "starts_on": "2021-06-08", "ends_on": "2021-06-09"},
        headers=before,
    )
    assert corrected.headers["ETag"] != before["If-Match"]
    await shows(
        client,
        activity["id"],
        title="Training",
        starts_on="2021-06-08",
        ends_on="2021-06-09",
        status="scheduled",
    )
