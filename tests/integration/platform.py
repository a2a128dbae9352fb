"""meetings-api and indicators-api in this process, on the real PostgreSQL and Kafka (the
`platform` fixture of conftest.py), with the shortcuts the tests of the event path share."""

from __future__ import annotations

import httpx

from bp_common.security import Role
from bp_common.testing import eventually, identity_headers

SECRETARIAT = identity_headers(Role.SECRETARIAT)
MEETING = {
    "title": "Senior Officials Meeting",
    "kind": "senior_officials_meeting",
    "starts_on": "2019-12-04",
    "ends_on": "2019-12-05",
    "city": "Istanbul",
    "country": "TR",
}


class Platform:
    def __init__(self, meetings: httpx.AsyncClient, indicators: httpx.AsyncClient) -> None:
        self.meetings = meetings
        self.indicators = indicators
        self.meetings_app = meetings._transport.app  # type: ignore[attr-defined]
        self.indicators_app = indicators._transport.app  # type: ignore[attr-defined]

    async def hold_new_meeting(self, **overrides: str) -> str:
        created = await self.meetings.post(
            "/v1/meetings", json=MEETING | overrides, headers=SECRETARIAT
        )
        assert created.status_code == 201, created.text
        meeting_id = str(created.json()["id"])
        held = await self.meetings.post(f"/v1/meetings/{meeting_id}/hold", headers=SECRETARIAT)
        assert held.status_code == 200, held.text
        return meeting_id

    async def meetings_held(self, country: str | None = None) -> float:
        params = {"country": country} if country else {}
        response = await self.indicators.get(
            "/v1/event-metrics/meetings_held", params=params, headers=SECRETARIAT
        )
        assert response.status_code == 200, response.text
        return float(response.json()["value"])

    async def wait_for_held(self, expected: float, country: str | None = None, within_s=30.0):  # type: ignore[no-untyped-def]
        async def reached() -> bool:
            return await self.meetings_held(country) >= expected

        await eventually(reached, within_s=within_s, every_s=0.05)
