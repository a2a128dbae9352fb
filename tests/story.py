"""What the Istanbul 2019 story must have done across the services, checked through the gateway
only. Shared by the embedded and the distributed scenario tests."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from statistics import fmean
from typing import Any

import httpx

from bp_common.testing import eventually
from bpctl.demo import BULGARIA_LATER, OFFERED_2020, Demo, reported_results


class Gateway:
    def __init__(self, client: httpx.AsyncClient, admin_key: str) -> None:
        self.client = client
        self.admin = {"Authorization": f"Bearer {admin_key}"}

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.client.get(path, params=params, headers=self.admin)
        assert response.status_code == 200, response.text
        return response.json()

    async def items(self, path: str, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = await self.get(
                path, limit=500, **params, **({"cursor": cursor} if cursor else {})
            )
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    async def rollup(self, indicator: str, by: str, **filters: Any) -> dict[tuple[Any, ...], float]:
        rows = await self.get("/v1/rollups", indicator=indicator, by=by, **filters)
        dimensions = by.split(",")
        return {tuple(row[d] for d in dimensions): row["value"] for row in rows}


async def check_meeting(gateway: Gateway, demo: Demo) -> None:
    meeting = await gateway.get(f"/v1/meetings/{demo.meeting_id}")
    assert meeting["status"] == "held"
    assert meeting["attendance"] == {"participants": 82, "countries": 37, "organisations": 11}
    assert (meeting["city"], meeting["country"]) == ("Istanbul", "TR")
    reservations = [
        decision["reservations"]
        for decision in await gateway.items(f"/v1/meetings/{demo.meeting_id}/decisions")
        if decision["kind"] == "endorsement"
    ]
    assert reservations == [["CZ"]]


async def check_plan(gateway: Gateway, demo: Demo) -> None:
    plan = await gateway.get(f"/v1/plans/{demo.plan_id}")
    assert [goal["number"] for goal in plan["goals"]] == [1, 2, 3, 4, 5, 6]
    assert plan["current_version"] == {"number": 2, "status": "endorsed"}
    assert plan["endorsement"]["version"] == 2
    assert plan["endorsement"]["meeting_id"] == demo.meeting_id
    version = await gateway.get(f"/v1/plans/{demo.plan_id}/versions/2")
    proposers = sorted(entry["proposer"] for entry in version["changelog"])
    assert proposers == ["MK", "MK", "MK", "RS"]
    assert "prevent" in plan["goals"][0]["title"].lower()
    assert len(plan["action_points"]) == 3  # North Macedonia's regional points
    amendments = await gateway.items(f"/v1/plans/{demo.plan_id}/amendments")
    assert sorted(a["status"] for a in amendments) == ["accepted"] * 4


async def check_hosting_and_calendar(gateway: Gateway, demo: Demo) -> None:
    expected_hosts = {
        demo.activities[activity["title"]]: [country] for country, activity in OFFERED_2020.items()
    }
    for activity_id, hosts in expected_hosts.items():
        activity = await gateway.get(f"/v1/activities/{activity_id}")
        assert (activity["status"], activity["host_countries"]) == ("hosted", hosts)
    later = await gateway.get(f"/v1/activities/{demo.activities[BULGARIA_LATER]}")
    assert (later["status"], later["host_countries"]) == ("hosted", ["BG"])

    calendar_2020 = await gateway.items(
        "/v1/calendar", **{"from": "2020-01-01", "to": "2020-12-31"}
    )
    hosted = {e["id"]: e["host_countries"] for e in calendar_2020 if e["status"] == "hosted"}
    assert hosted == expected_hosts
    assert demo.meeting_id not in {e["id"] for e in calendar_2020}
    bulgarian = await gateway.items("/v1/calendar", country="BG", source="activity")
    assert {e["id"] for e in bulgarian} >= {
        demo.activities[OFFERED_2020["BG"]["title"]],
        demo.activities[BULGARIA_LATER],
    }


async def check_event_fed_indicators(gateway: Gateway) -> None:
    """indicators-api counts from the other services' events, on its own time: the calendar
    (meetings-api) may show a host before these rollups do, so each is waited for."""
    expected = {
        ("BP-MEETINGS-HELD", "country,year"): {("TR", 2019): 1},
        ("BP-PARTICIPANTS", "year"): {(2019,): 82},
        ("BP-COUNTRIES", "year"): {(2019,): 37},
        ("BP-ACTIVITIES-HOSTED", "country,year"): {
            ("BG", 2020): 1,
            ("LV", 2020): 1,
            ("AZ", 2020): 1,
            ("BG", 2021): 1,
        },
    }
    for (code, by), values in expected.items():

        async def counted(code: str = code, by: str = by, values: Any = values) -> bool:
            return bool(await gateway.rollup(code, by) == values)

        with contextlib.suppress(AssertionError):
            await eventually(counted, within_s=30, every_s=0.1)
        assert await gateway.rollup(code, by) == values, code


async def check_reported_rollups(gateway: Gateway, demo: Demo) -> None:
    rows = reported_results()
    assert demo.imports["IOM"]["created"] == len(rows["IOM"])
    assert demo.imports["UNODC"]["created"] == len(rows["UNODC"])
    assert demo.imports["IOM"]["rejected"] == demo.imports["UNODC"]["rejected"] == 0
    stored = await gateway.items("/v1/results")
    assert len(stored) == len(rows["IOM"]) + len(rows["UNODC"])
    # Independently of the service: each indicator's rule over the stored rows.
    groups: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for result in stored:
        groups[(result["indicator"], result["country"], int(result["period"][:4]))].append(
            float(result["value"])
        )
    rules = {"MRC-COUNSELLED": sum, "GLOACT-TRAINED": sum, "FACILITY-SATISFACTION": fmean}
    for indicator, rule in rules.items():
        expected = {
            (country, year): rule(values)
            for (code, country, year), values in groups.items()
            if code == indicator
        }
        actual = await gateway.rollup(indicator, "country,year")
        assert actual.keys() == expected.keys(), indicator
        for key, value in expected.items():
            assert abs(actual[key] - value) < 1e-9, (indicator, key)


async def check_rights(gateway: Gateway, demo: Demo) -> None:
    """Refusals the people of the story meet: each is a 403 that stores nothing."""
    client = gateway.client
    before = len(await gateway.items("/v1/results"))
    iom = {"Authorization": f"Bearer {demo.keys['IOM']}"}
    not_theirs = {
        "results": [
            {
                "external_id": "IOM-IBM-1",
                "project": "IBM-SILK-ROUTES",
                "indicator": "MRC-COUNSELLED",
                "period": "2019",
                "country": "AF",
                "value": 1,
            }
        ]
    }
    refused = await client.post("/v1/results/import", json=not_theirs, headers=iom)
    assert refused.status_code == 403, refused.text
    assert len(await gateway.items("/v1/results")) == before

    bulgaria = {"Authorization": f"Bearer {demo.keys['BG']}"}
    latvian_activity = demo.activities[OFFERED_2020["LV"]["title"]]
    for_latvia = await client.post(
        f"/v1/activities/{latvian_activity}/hosting-offers",
        json={"country": "LV"},
        headers=bulgaria,
    )
    assert for_latvia.status_code == 403
    viewer = {"Authorization": f"Bearer {demo.keys['dashboard']}"}
    assert (await client.post("/v1/plans", json={}, headers=viewer)).status_code == 403
    offers = await gateway.items(f"/v1/activities/{latvian_activity}/hosting-offers")
    assert [offer["country"] for offer in offers] == ["LV"]


async def check_story(client: httpx.AsyncClient, admin_key: str, demo: Demo) -> None:
    gateway = Gateway(client, admin_key)
    await check_meeting(gateway, demo)
    await check_plan(gateway, demo)
    await check_hosting_and_calendar(gateway, demo)
    await check_event_fed_indicators(gateway)
    await check_reported_rollups(gateway, demo)
    await check_rights(gateway, demo)
