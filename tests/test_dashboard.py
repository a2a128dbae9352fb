"""The dashboard's summary over the demo data: a read model of indicators-api, fed by the three
services' events, read through the gateway."""

from pathlib import Path
from typing import Any

import httpx

from bp_common.testing import eventually, running
from bpctl.demo import INDICATORS, OFFERED_2020, OTHER_ACTIVITIES, load_demo, reported_results
from bpctl.embedded import EmbeddedPlatform

KEY = "bp_admin_dashboard-key"


async def test_the_summary_counts_across_the_services(tmp_path: Path) -> None:
    platform = EmbeddedPlatform(tmp_path, KEY, load_demo_data=False)
    async with running(platform.gateway) as client:
        demo = await load_demo(client, KEY)
        viewer = {"Authorization": f"Bearer {demo.keys['dashboard']}"}
        summary = await settled_summary(client, viewer)
    assert summary["unavailable"] == []
    meetings = summary["meetings"]
    assert (meetings["held"], meetings["planned"], meetings["participants"]) == (1, 0, 82)
    plan = summary["plan"]
    assert (plan["current_version"], plan["version_status"], plan["endorsed_version"]) == (
        2,
        "endorsed",
        2,
    )
    hosted = len(OFFERED_2020) + 1  # and Bulgaria's later offer
    assert plan["activities_by_status"] == {
        "hosted": hosted,
        "proposed": len(OFFERED_2020) + len(OTHER_ACTIVITIES) - hosted,
    }
    assert plan["activities_by_host"] == {"AZ": 1, "BG": 2, "LV": 1}
    results = summary["results"]
    assert results["results"] == sum(len(rows) for rows in reported_results().values())
    assert results["organisations"] == 2
    tracked = (
        results["indicators_on_track"]
        + results["indicators_off_track"]
        + results["indicators_without_data"]
    )
    assert tracked == len(INDICATORS)
    # One meeting held of six targeted, three of four activities hosted in 2020.
    assert results["indicators_off_track"] >= 2


async def settled_summary(client: httpx.AsyncClient, headers: dict[str, str]) -> Any:
    """The summary once the events of everything the demo did have reached it."""
    expected_results = sum(len(rows) for rows in reported_results().values())
    answer: dict[str, Any] = {}

    async def caught_up() -> bool:
        response = await client.get("/v1/dashboard/summary", headers=headers)
        assert response.status_code == 200, response.text
        answer.update(response.json())
        plan = answer["plan"] or {}
        return bool(
            answer["results"]["results"] == expected_results
            and plan.get("activities_by_host", {}).get("BG") == 2
            and answer["meetings"]["held"] == 1
        )

    await eventually(caught_up)
    return answer


async def test_without_a_key_the_summary_is_refused(tmp_path: Path) -> None:
    platform = EmbeddedPlatform(tmp_path, KEY, load_demo_data=False)
    async with running(platform.gateway) as client:
        assert (await client.get("/v1/dashboard/summary")).status_code == 401
