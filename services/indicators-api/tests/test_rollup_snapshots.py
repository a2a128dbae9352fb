"""The results as presented at a meeting: the rollups by goal x indicator x year frozen when
``meetings.meeting.held.v1`` arrives, kept as they were through later imports and replays."""

import uuid
from dataclasses import replace
from typing import Any

from indicators_api.event_metrics.handlers import reset_read_models

from .conftest import Api
from .test_event_fed import meeting_held

SNAPSHOT_TYPE = "indicators.rollup.snapshot_taken.v1"


async def snapshots(api: Api, meeting_id: str) -> list[dict[str, Any]]:
    response = await api.client.get(
        "/v1/rollups/snapshots", params={"meeting": meeting_id}, headers=api.VIEWER
    )
    assert response.status_code == 200, response.text
    return list(response.json())


def result(external_id: str, value: int, period: str = "2020") -> dict[str, Any]:
    return {
        "external_id": external_id,
        "project": "IMM-SR",
        "indicator": "1.SUM",
        "period": period,
        "country": "AF",
        "value": value,
    }


async def test_a_meeting_held_freezes_the_rollups_later_imports_and_replays_keep_them(
    api: Api,
) -> None:
    await api.project()
    await api.indicator("1.SUM", targets=[{"year": 2020, "value": 100}])
    await api.indicator("MEET", source="meetings_held", goal=2)
    assert (await api.import_rows([result("a", 20), result("b", 30)])).status_code == 200
    held = meeting_held("TR", "2020-06-04")
    meeting_id = held.data["meeting_id"]
    assert await snapshots(api, meeting_id) == []

    await api.publish(held)
    [snapshot] = await snapshots(api, meeting_id)
    rows = {(r["indicator"], r["goal"], r["year"]): r for r in snapshot["rows"]}
    assert rows[("1.SUM", 1, 2020)] == {
        "indicator": "1.SUM",
        "title": "Indicator 1.SUM",
        "goal": 1,
        "year": 2020,
        "value": 50.0,
        "target": 100.0,
        "progress": 0.5,
    }
    # The meeting counts itself: held is applied to the metrics before the freeze.
    assert rows[("MEET", 2, 2020)]["value"] == 1.0
    published = [e for e in await api.settle() if e.type == SNAPSHOT_TYPE]
    assert [(e.data["meeting_id"], e.data["rows"]) for e in published] == [
        (meeting_id, snapshot["rows"])
    ]

    # A later import changes the live rollups, not the snapshot.
    assert (await api.import_rows([result("c", 40)])).status_code == 200
    live = await api.rollups(by="goal,year", indicator="1.SUM", year=2020)
    assert live[0]["value"] == 90.0
    assert await snapshots(api, meeting_id) == [snapshot]

    # A replay (read models forgotten, every event read again under new ids) keeps it too, and
    # announces nothing again.
    app = api.client._transport.app  # type: ignore[attr-defined]
    async with app.state.database.sessionmaker() as session, session.begin():
        await reset_read_models(session)
    await api.publish(replace(held, id=str(uuid.uuid4())))
    assert await snapshots(api, meeting_id) == [snapshot]
    assert len([e for e in await api.settle() if e.type == SNAPSHOT_TYPE]) == 1


async def test_snapshots_need_a_meeting_id(api: Api) -> None:
    response = await api.client.get(
        "/v1/rollups/snapshots", params={"meeting": "istanbul"}, headers=api.VIEWER
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
