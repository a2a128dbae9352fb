"""In the embedded mode, behind the gateway: a meeting's record corrected or withdrawn in
meetings-api, and its effects in the other services through the events: plan-api withdraws the
hosting offer of a withdrawn ``offer_to_host`` and revises or withdraws the amendment of an
``amendment_request``; indicators-api counts a held meeting's corrected attendance; the calendar
follows a corrected title; and meetings-api, told by
plan-api's events what became final, refuses to take back an offer that was accepted or the
decision that endorsed a version."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bp_common.testing import current_if_match, eventually, running, settle
from bpctl.embedded import EmbeddedPlatform

KEY = "bp_admin_meeting-corrections"
AUTH = {"Authorization": f"Bearer {KEY}"}
GOALS = [{"number": n, "title": f"Goal {n}"} for n in range(1, 4)]
DELEGATIONS = [
    {"participant": "TR", "headcount": 5},
    {"participant": "BG", "headcount": 2},
    {"participant": "RS", "headcount": 2},
    {"participant": "IOM", "headcount": 1},
]


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[tuple[EmbeddedPlatform, httpx.AsyncClient]]:
    embedded = EmbeddedPlatform(tmp_path, KEY, load_demo_data=False)
    async with running(embedded.gateway) as client:
        yield embedded, client


@pytest.fixture
def client(platform: tuple[EmbeddedPlatform, httpx.AsyncClient]) -> httpx.AsyncClient:
    return platform[1]


async def quiet(embedded: EmbeddedPlatform) -> None:
    """Every service's events published and handled, and those their handlers wrote too."""
    for _ in range(2):
        for app in embedded.services.values():
            await settle(app, embedded.bus)


async def call(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
    headers = {**AUTH, **kwargs.pop("headers", {})}
    response = await client.request(method, path, headers=headers, **kwargs)
    assert response.status_code < 300, f"{method} {path}: {response.text}"
    return response.json() if response.content else None


async def correct(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
    if_match = await current_if_match(client, path, AUTH)
    return await call(client, method, path, headers=if_match, **kwargs)


async def refused(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
    headers = AUTH | await current_if_match(client, path, AUTH)
    response = await client.request(method, path, headers=headers, **kwargs)
    assert response.status_code == 409, response.text
    return response.json()


async def until(check: Any) -> None:
    async def holds() -> bool:
        return bool(await check())

    await eventually(holds, within_s=20)


async def circulated_plan(client: httpx.AsyncClient) -> tuple[str, str]:
    """A plan with an activity, its version 1 circulated: (plan id, activity id)."""
    body = {"title": "Plan", "period_start": 2020, "period_end": 2024, "goals": GOALS}
    plan = await call(client, "POST", "/v1/plans", json=body)
    activity = await call(
        client,
        "POST",
        f"/v1/plans/{plan['id']}/activities",
        json={"title": "Training on return", "goal": 1, "kind": "training", "year": 2021},
    )
    await call(client, "POST", f"/v1/plans/{plan['id']}/versions")
    return str(plan["id"]), str(activity["id"])


async def meeting(client: httpx.AsyncClient) -> str:
    body = {
        "title": "Senior Officials Meeting",
        "kind": "senior_officials_meeting",
        "starts_on": "2020-12-04",
        "ends_on": "2020-12-05",
        "city": "Istanbul",
        "country": "TR",
    }
    meeting_id = str((await call(client, "POST", "/v1/meetings", json=body))["id"])
    await call(client, "PUT", f"/v1/meetings/{meeting_id}/delegations", json=DELEGATIONS)
    return meeting_id


async def offers_of(client: httpx.AsyncClient, activity_id: str) -> list[dict[str, Any]]:
    path = f"/v1/activities/{activity_id}/hosting-offers?include_withdrawn=true"
    return list((await call(client, "GET", path))["items"])


async def test_a_withdrawn_offer_to_host_withdraws_its_offer_and_an_accepted_one_stays(
    platform: tuple[EmbeddedPlatform, httpx.AsyncClient],
) -> None:
    embedded, client = platform
    _, activity_id = await circulated_plan(client)
    meeting_id = await meeting(client)
    offer = {"kind": "offer_to_host", "activity_id": activity_id, "year": 2021}
    said = await call(
        client,
        "POST",
        f"/v1/meetings/{meeting_id}/interventions",
        json=offer | {"delegation": "RS", "text": "Serbia offers to host it."},
    )

    async def offered_by(country: str) -> dict[str, Any] | None:
        found = [o for o in await offers_of(client, activity_id) if o["country"] == country]
        return found[0] if found else None

    await until(lambda: offered_by("RS"))
    await correct(client, "DELETE", f"/v1/interventions/{said['id']}?reason=It+was+Bulgaria.")

    async def rs_offer_withdrawn() -> bool:
        rs = await offered_by("RS")
        return rs is not None and rs["withdrawn_at"] is not None

    await until(rs_offer_withdrawn)

    # Bulgaria's offer, accepted in the plan: the intervention that made it stays as it is.
    bulgaria = await call(
        client,
        "POST",
        f"/v1/meetings/{meeting_id}/interventions",
        json=offer | {"delegation": "BG", "text": "Bulgaria offers to host it."},
    )
    await until(lambda: offered_by("BG"))
    bg_offer = await offered_by("BG")
    assert bg_offer is not None
    assert bg_offer["intervention_id"] == bulgaria["id"]
    await call(client, "POST", f"/v1/hosting-offers/{bg_offer['id']}/accept")
    await quiet(embedded)  # meetings-api heard plan.activity.hosted.v1
    path = f"/v1/interventions/{bulgaria['id']}"
    assert (await refused(client, "DELETE", f"{path}?reason=x"))["code"] == (
        "hosting_offer_accepted"
    )
    problem = await refused(client, "PATCH", path, json={"year": 2022})
    assert problem["code"] == "hosting_offer_accepted"
    assert bg_offer["id"] in problem["detail"]
    assert (await call(client, "GET", path))["withdrawn_at"] is None
    accepted = await call(client, "GET", f"/v1/hosting-offers/{bg_offer['id']}")
    assert (accepted["status"], accepted["withdrawn_at"]) == ("accepted", None)


async def test_an_amendment_request_corrected_or_withdrawn_is_followed_by_its_amendment(
    client: httpx.AsyncClient,
) -> None:
    plan_id, _ = await circulated_plan(client)
    meeting_id = await meeting(client)
    request = {
        "delegation": "IOM",
        "kind": "amendment_request",
        "text": "IOM proposes to widen goal 2.",
        "plan_id": plan_id,
        "plan_version": 1,
        "amendment": {
            "target": {"type": "goal", "ref": "2"},
            "action": "modify",
            "text": "Legal migration and mobility.",
        },
    }
    said = await call(client, "POST", f"/v1/meetings/{meeting_id}/interventions", json=request)
    amendments = f"/v1/plans/{plan_id}/amendments?include_withdrawn=true"

    async def amendment() -> dict[str, Any] | None:
        found = [
            a
            for a in (await call(client, "GET", amendments))["items"]
            if a["intervention_id"] == said["id"]
        ]
        return found[0] if found else None

    await until(amendment)
    path = f"/v1/interventions/{said['id']}"
    new_text = "Legal migration, mobility and labour migration."
    await correct(
        client, "PATCH", path, json={"amendment": request["amendment"] | {"text": new_text}}
    )

    async def revised() -> bool:
        found = await amendment()
        return found is not None and found["text"] == new_text

    await until(revised)
    await correct(client, "DELETE", f"{path}?reason=Asked+by+mistake.")

    async def withdrawn() -> bool:
        found = await amendment()
        return found is not None and found["withdrawn_at"] is not None

    await until(withdrawn)


async def test_the_decision_that_endorsed_a_version_is_not_withdrawn(
    platform: tuple[EmbeddedPlatform, httpx.AsyncClient],
) -> None:
    embedded, client = platform
    plan_id, _ = await circulated_plan(client)
    meeting_id = await meeting(client)
    decision = await call(
        client,
        "POST",
        f"/v1/meetings/{meeting_id}/decisions",
        json={
            "kind": "endorsement",
            "text": "The meeting endorses the plan.",
            "plan_id": plan_id,
            "plan_version": 1,
        },
    )

    async def endorsed() -> bool:
        version = await call(client, "GET", f"/v1/plans/{plan_id}/versions/1")
        return version["endorsed_at"] is not None

    await until(endorsed)
    await quiet(embedded)  # meetings-api heard plan.endorsed.v1
    path = f"/v1/decisions/{decision['id']}"
    problem = await refused(client, "DELETE", f"{path}?reason=Wrong+meeting.")
    assert problem["code"] == "plan_version_endorsed"
    # The meeting's own words of it may still be corrected.
    corrected = await correct(client, "PATCH", path, json={"reservations": ["RS"]})
    assert corrected["reservations"] == ["RS"]
    version = await call(client, "GET", f"/v1/plans/{plan_id}/versions/1")
    assert version["endorsed_by_decision_id"] == decision["id"]


async def test_a_held_meetings_corrected_attendance_is_counted_again(
    client: httpx.AsyncClient,
) -> None:
    meeting_id = await meeting(client)
    await call(client, "POST", f"/v1/meetings/{meeting_id}/hold")

    async def metric(name: str) -> float:
        return float((await call(client, "GET", f"/v1/event-metrics/{name}"))["value"])

    async def counted(participants: float, countries: float) -> bool:
        return (await metric("participants"), await metric("countries_represented")) == (
            participants,
            countries,
        )

    await until(lambda: counted(10, 3))
    delegations = f"/v1/meetings/{meeting_id}/delegations"
    await correct(client, "PATCH", f"{delegations}/TR", json={"headcount": 8})
    await until(lambda: counted(13, 3))
    await correct(client, "DELETE", f"{delegations}/RS?reason=Serbia+did+not+attend.")
    await until(lambda: counted(11, 2))
    attendance = (await call(client, "GET", f"/v1/meetings/{meeting_id}"))["attendance"]
    assert attendance == {"participants": 11, "countries": 2, "organisations": 1}


async def test_the_calendar_follows_a_planned_meetings_corrected_title(
    client: httpx.AsyncClient,
) -> None:
    meeting_id = await meeting(client)
    path = f"/v1/meetings/{meeting_id}"
    await correct(client, "PATCH", path, json={"title": "SOM Istanbul"})

    async def shown() -> bool:
        page = await call(client, "GET", "/v1/calendar?from=2020-12-01&to=2020-12-31")
        return [e["title"] for e in page["items"] if e["id"] == meeting_id] == ["SOM Istanbul"]

    await until(shown)
