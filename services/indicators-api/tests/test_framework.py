import uuid
from typing import Any

import pytest

from bp_common.events.envelope import CloudEvent
from bp_common.security import Role
from bp_common.testing import identity_headers

from .conftest import Api

GOALS = [
    {"number": 1, "title": "Prevent and counteract irregular migration"},
    {"number": 2, "title": "Legal migration and mobility"},
    {"number": 3, "title": "Integration"},
    {"number": 4, "title": "Migration and development"},
    {"number": 5, "title": "Trafficking in persons"},
    {"number": 6, "title": "International protection"},
    {"number": 7, "title": "Knowledge"},
]


def endorsed(plan_id: str, version: int, goals: list[dict[str, Any]]) -> CloudEvent:
    return CloudEvent(
        type="plan.endorsed.v1",
        source="/plan",
        subject=plan_id,
        data={
            "plan_id": plan_id,
            "title": "Strategic Document and Implementation Plan",
            "version": version,
            "meeting_id": str(uuid.uuid4()),
            "period_start": 2020,
            "period_end": 2024,
            "goals": goals,
            "activities": [],
        },
    )


async def test_an_indicator_is_created_read_and_listed_by_goal(api: Api) -> None:
    created = await api.indicator(
        "1.1",
        measure="percentage",
        aggregation="mean",
        ascending=False,
        baseline={"year": 2019, "value": 40},
        targets=[{"year": 2021, "value": 20}, {"year": 2020, "value": 30}],
        disaggregations=["sex", "age_band"],
    )
    assert created["targets"] == [{"year": 2020, "value": 30}, {"year": 2021, "value": 20}]
    assert created["source"] == "reported"
    await api.indicator("5.1", goal=5, level="outcome")
    fetched = await api.client.get("/v1/indicators/1.1", headers=api.VIEWER)
    assert fetched.json() == created
    by_goal = await api.client.get("/v1/indicators", params={"goal": 5}, headers=api.VIEWER)
    assert [i["code"] for i in by_goal.json()["items"]] == ["5.1"]
    page = await api.client.get("/v1/indicators", params={"limit": 1}, headers=api.VIEWER)
    rest = await api.client.get(
        "/v1/indicators",
        params={"limit": 1, "cursor": page.json()["next_cursor"]},
        headers=api.VIEWER,
    )
    assert [i["code"] for i in page.json()["items"] + rest.json()["items"]] == ["1.1", "5.1"]


@pytest.mark.parametrize(
    "override",
    [
        {"measure": "percentage", "targets": [{"year": 2020, "value": 120}]},
        {"measure": "unit", "baseline": {"year": 2019, "value": -1}},
        {"measure": "qualitative", "targets": [{"year": 2020, "value": 1}]},
        {"targets": [{"year": 2020, "value": 1}, {"year": 2020, "value": 2}]},
        {"source": "meetings_held", "measure": "percentage"},
        {"source": "participants", "disaggregations": ["sex"]},
        {"disaggregations": ["religion"]},
        {"aggregation": "median"},
        {"level": "activity"},
        {"goal": 0},
        {"colour": "blue"},
    ],
)
async def test_invalid_indicators_are_refused(api: Api, override: dict[str, Any]) -> None:
    response = await api.client.post(
        "/v1/indicators", json=api.indicator_body("1.1", **override), headers=api.SECRETARIAT
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_failed"
    assert (await api.client.get("/v1/indicators", headers=api.VIEWER)).json()["items"] == []


async def test_codes_are_unique_and_only_the_secretariat_writes(api: Api) -> None:
    await api.indicator("1.1")
    again = await api.client.post(
        "/v1/indicators", json=api.indicator_body("1.1"), headers=api.SECRETARIAT
    )
    assert again.status_code == 409
    assert again.json()["code"] == "indicator_exists"
    partner = identity_headers(Role.PARTNER, organisation="IOM")
    refused = await api.client.post(
        "/v1/indicators", json=api.indicator_body("1.2"), headers=partner
    )
    assert refused.status_code == 403
    missing = await api.client.get("/v1/indicators/9.9", headers=api.VIEWER)
    assert missing.json()["code"] == "indicator_not_found"


async def test_goals_follow_the_endorsed_plan_and_each_endorsement_is_kept(api: Api) -> None:
    before = (await api.client.get("/v1/framework", headers=api.VIEWER)).json()
    assert [g["number"] for g in before["goals"]] == [1, 2, 3, 4, 5, 6]
    assert before["plan_id"] is None
    refused = await api.client.post(
        "/v1/indicators", json=api.indicator_body("7.1", goal=7), headers=api.SECRETARIAT
    )
    assert refused.json()["code"] == "unknown_goal"
    await api.indicator("1.1")

    plan_id = str(uuid.uuid4())
    first = endorsed(plan_id, 1, GOALS)
    await api.publish(first, first)  # a redelivery
    await api.publish(endorsed(plan_id, 1, GOALS))  # the same endorsement under a new id
    await api.indicator("7.1", goal=7)

    framework = (await api.client.get("/v1/framework", headers=api.VIEWER)).json()
    assert (framework["plan_id"], framework["version"]) == (plan_id, 1)
    assert [(g["number"], g["title"]) for g in framework["goals"]] == [
        (g["number"], g["title"]) for g in GOALS
    ]
    assert [i["code"] for i in framework["goals"][0]["indicators"]] == ["1.1"]
    assert [i["code"] for i in framework["goals"][6]["indicators"]] == ["7.1"]

    await api.publish(endorsed(plan_id, 2, GOALS[:5]))
    snapshots = (await api.client.get("/v1/framework/snapshots", headers=api.VIEWER)).json()
    assert [s["version"] for s in snapshots["items"]] == [2, 1]
    # Each snapshot is the framework as it stood: 7.1 came after version 1.
    assert [i["code"] for i in snapshots["items"][1]["indicators"]] == ["1.1"]
    assert [i["code"] for i in snapshots["items"][0]["indicators"]] == ["1.1", "7.1"]
    refused = await api.client.post(
        "/v1/indicators", json=api.indicator_body("6.1", goal=6), headers=api.SECRETARIAT
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "unknown_goal"
    paged = await api.client.get("/v1/framework/snapshots", params={"limit": 1}, headers=api.VIEWER)
    rest = await api.client.get(
        "/v1/framework/snapshots",
        params={"limit": 1, "cursor": paged.json()["next_cursor"]},
        headers=api.VIEWER,
    )
    assert [s["version"] for s in rest.json()["items"]] == [1]
    bad = await api.client.get(
        "/v1/framework/snapshots", params={"cursor": "WyJ4Il0"}, headers=api.VIEWER
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_cursor"
