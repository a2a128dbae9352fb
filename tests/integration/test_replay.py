"""`bpctl replay` against the real PostgreSQL and Kafka: read models damaged as a bug would
damage them are rebuilt in place from offset 0, equal to what they were, while the services keep
running and consuming; the live consumers then go on counting each event once."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bp_common.security import Role
from bp_common.testing import current_if_match, eventually, identity_headers

from .conftest import KAFKA
from .platform import Platform

SECRETARIAT = identity_headers(Role.SECRETARIAT)
BPCTL = Path(sys.executable).with_name("bpctl")
EVENT_FED = {
    "code": "EV.MEET",
    "title": "Meetings held",
    "level": "output",
    "goal": 1,
    "measure": "unit",
    "aggregation": "sum",
    "source": "meetings_held",
}
MEETINGS = [("TR", "2019-12-04"), ("HU", "2020-03-10"), ("BG", "2020-06-02"), ("TR", "2020-11-17")]


async def read_models(platform: Platform) -> dict[str, Any]:
    reads = {
        "calendar": (platform.meetings, "/v1/calendar?limit=100"),
        "meetings_held": (platform.indicators, "/v1/event-metrics/meetings_held"),
        "rollups": (platform.indicators, "/v1/rollups?indicator=EV.MEET&by=country,year"),
        "dashboard": (platform.indicators, "/v1/dashboard/summary"),
    }
    models = {}
    for name, (client, path) in reads.items():
        response = await client.get(path, headers=SECRETARIAT)
        assert response.status_code == 200, response.text
        models[name] = response.json()
    # The time of the read, and of the latest event applied: the replay's re-count announces
    # the rollups again (new indicators.rollup.updated events), which the dashboard hears.
    for moving in ("generated_at", "as_of"):
        models["dashboard"].pop(moving)
    return models


async def execute(platform: Platform, service: str, *statements: str) -> None:
    app = platform.meetings_app if service == "meetings" else platform.indicators_app
    async with app.state.runtime.database.transaction() as session:
        for statement in statements:
            await session.execute(text(statement))


def service_environment(platform: Platform) -> dict[str, str]:
    env = dict(os.environ)
    for prefix, app in (
        ("MEETINGS", platform.meetings_app),
        ("INDICATORS", platform.indicators_app),
    ):
        settings = app.state.runtime.settings
        env |= {
            f"{prefix}_DATABASE_URL": settings.database_url,
            f"{prefix}_BUS": "kafka",
            f"{prefix}_KAFKA_BOOTSTRAP_SERVERS": KAFKA,
            f"{prefix}_KAFKA_NAMESPACE": settings.kafka_namespace,
            f"{prefix}_LOG_LEVEL": "WARNING",
        }
    return env


async def bpctl(env: dict[str, str], *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(BPCTL),
        *args,
        env=env | {"COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_replay_rebuilds_damaged_read_models_in_place(platform: Platform) -> None:
    created = await platform.indicators.post("/v1/indicators", json=EVENT_FED, headers=SECRETARIAT)
    assert created.status_code == 201, created.text
    for country, starts_on in MEETINGS:
        await platform.hold_new_meeting(country=country, starts_on=starts_on, ends_on=starts_on)
    await platform.wait_for_held(len(MEETINGS))

    async def calendar_complete() -> bool:
        return len((await read_models(platform))["calendar"]["items"]) == len(MEETINGS)

    await eventually(calendar_complete, within_s=30)
    before = await read_models(platform)
    assert before["meetings_held"]["value"] == len(MEETINGS)
    assert before["rollups"]

    # A bug's damage: a lost calendar entry, a stale title, wrong counts and rollups.
    await execute(
        platform,
        "meetings",
        "DELETE FROM calendar_entry WHERE id = (SELECT id FROM calendar_entry ORDER BY id LIMIT 1)",
        "UPDATE calendar_entry SET title = 'stale'",
    )
    await execute(
        platform,
        "indicators",
        "UPDATE event_metric_value SET value = value + 7",
        "DELETE FROM event_fact WHERE country = 'TR'",
        "UPDATE rollup SET value_sum = 0",
        "UPDATE dashboard_count SET value = value + 3",
        "DELETE FROM dashboard_meeting",
    )
    damaged = await read_models(platform)
    assert all(damaged[name] != before[name] for name in before)

    env = service_environment(platform)
    for service in ("meetings-api", "indicators-api"):
        code, output = await bpctl(env, "replay", service, "--yes")
        assert code == 0, output
        assert "forgotten before" in output
    assert await read_models(platform) == before

    # The live consumers still count each new event once, beside what the replay claimed.
    await platform.hold_new_meeting(country="HU", starts_on="2021-02-02", ends_on="2021-02-02")
    await platform.wait_for_held(len(MEETINGS) + 1)
    await asyncio.sleep(1)  # a doubled count would show by now
    after = await read_models(platform)
    assert after["meetings_held"]["value"] == len(MEETINGS) + 1
    assert len(after["calendar"]["items"]) == len(MEETINGS) + 1


PARTICIPANTS_FED = EVENT_FED | {
    "code": "EV.PART",
    "title": "Participants",
    "source": "participants",
}
DELEGATIONS = [
    {"participant": "TR", "headcount": 5},
    {"participant": "BG", "headcount": 2},
    {"participant": "TM", "headcount": 1},
]


async def corrected_read_models(platform: Platform) -> dict[str, Any]:
    models = await read_models(platform)
    for name, path in (
        ("participants", "/v1/event-metrics/participants"),
        ("countries", "/v1/event-metrics/countries_represented"),
    ):
        response = await platform.indicators.get(path, headers=SECRETARIAT)
        assert response.status_code == 200, response.text
        models[name] = response.json()
    return models


async def write(client: Any, method: str, path: str, **kwargs: Any) -> Any:
    """A correction made as the Secretariat with the record's current ETag."""
    headers = SECRETARIAT | await current_if_match(client, path, SECRETARIAT)
    response = await client.request(method, path, headers=headers, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


async def test_replay_rebuilds_the_same_state_after_a_sequence_of_corrections(
    platform: Platform,
) -> None:
    """Corrections and withdrawals (a held meeting's delegations, a planned meeting's title, a
    meeting's records) then a replay of every topic: the read models come back as they were,
    corrected, not as first recorded."""
    meetings = platform.meetings
    created = await platform.indicators.post(
        "/v1/indicators", json=PARTICIPANTS_FED, headers=SECRETARIAT
    )
    assert created.status_code == 201, created.text
    held_ids = []
    for country, starts_on in MEETINGS[:2]:
        scheduled = await meetings.post(
            "/v1/meetings",
            json={
                "title": "Senior Officials Meeting",
                "kind": "senior_officials_meeting",
                "starts_on": starts_on,
                "ends_on": starts_on,
                "city": "Istanbul",
                "country": country,
            },
            headers=SECRETARIAT,
        )
        meeting_id = scheduled.json()["id"]
        path = f"/v1/meetings/{meeting_id}"
        put = await meetings.put(f"{path}/delegations", json=DELEGATIONS, headers=SECRETARIAT)
        assert put.status_code == 200, put.text
        # A planned meeting's title corrected: the calendar follows.
        await write(meetings, "PATCH", path, json={"title": f"SOM {country}"})
        item = await meetings.post(
            f"{path}/agenda-items", json={"position": 1, "title": "Opening"}, headers=SECRETARIAT
        )
        said = await meetings.post(
            f"{path}/interventions",
            json={"delegation": "BG", "kind": "statement", "text": "Bulgaria supports the plan."},
            headers=SECRETARIAT,
        )
        decided = await meetings.post(
            f"{path}/decisions",
            json={"kind": "take_note", "text": "The meeting takes note."},
            headers=SECRETARIAT,
        )
        held = await meetings.post(f"{path}/hold", headers=SECRETARIAT)
        assert held.status_code == 200, held.text
        # After the meeting: its record corrected, its attendance too.
        await write(
            meetings, "PATCH", f"/v1/agenda-items/{item.json()['id']}", json={"title": "Opening."}
        )
        await write(meetings, "DELETE", f"/v1/interventions/{said.json()['id']}?reason=Wrong.")
        await write(
            meetings,
            "PATCH",
            f"/v1/decisions/{decided.json()['id']}",
            json={"reservations": ["TM"]},
        )
        await write(meetings, "PATCH", f"{path}/delegations/TR", json={"headcount": 7})
        held_ids.append(meeting_id)
    # One delegation withdrawn (it recorded nothing): the countries represented follow.
    await write(meetings, "DELETE", f"/v1/meetings/{held_ids[0]}/delegations/TR?reason=Absent.")
    await platform.wait_for_held(2)

    # TR 7 + BG 2 + TM 1 at the second meeting, BG 2 + TM 1 at the first.
    async def corrected() -> bool:
        models = await corrected_read_models(platform)
        titles = sorted(entry["title"] for entry in models["calendar"]["items"])
        return models["participants"]["value"] == 13 and titles == ["SOM HU", "SOM TR"]

    await eventually(corrected, within_s=30)
    before = await corrected_read_models(platform)

    await execute(
        platform,
        "meetings",
        "UPDATE calendar_entry SET title = 'stale'",
        "DELETE FROM known_hosting_offer",
    )
    await execute(
        platform,
        "indicators",
        "UPDATE event_metric_value SET value = value + 7",
        "DELETE FROM event_fact",
    )
    assert await corrected_read_models(platform) != before

    env = service_environment(platform)
    for service in ("meetings-api", "indicators-api"):
        code, output = await bpctl(env, "replay", service, "--yes")
        assert code == 0, output
    assert await corrected_read_models(platform) == before


async def snapshots(platform: Platform, meeting_ids: list[str]) -> dict[str, Any]:
    """Each meeting's results as presented: indicators-api's snapshot and meetings-api's copy."""
    kept: dict[str, Any] = {}
    for meeting_id in meeting_ids:
        frozen = await platform.indicators.get(
            "/v1/rollups/snapshots", params={"meeting": meeting_id}, headers=SECRETARIAT
        )
        copy = await platform.meetings.get(
            f"/v1/meetings/{meeting_id}/results-snapshot", headers=SECRETARIAT
        )
        kept[meeting_id] = {
            "indicators": frozen.json() if frozen.status_code == 200 else frozen.status_code,
            "meetings": copy.json() if copy.status_code == 200 else copy.status_code,
        }
    return kept


async def test_replay_keeps_the_results_as_presented_at_each_meeting(platform: Platform) -> None:
    """A replay re-applies every `held`; each meeting's snapshot stays what the meeting saw
    (the rollups have moved on since), in indicators-api and in meetings-api's copy."""
    created = await platform.indicators.post("/v1/indicators", json=EVENT_FED, headers=SECRETARIAT)
    assert created.status_code == 201, created.text
    held: list[str] = []
    for country, starts_on in MEETINGS:
        held.append(
            await platform.hold_new_meeting(country=country, starts_on=starts_on, ends_on=starts_on)
        )
        # One at a time: each meeting's snapshot then counts the meetings held before it.
        await platform.wait_for_held(len(held))

    async def all_kept() -> bool:
        kept = await snapshots(platform, held)
        return all(
            isinstance(k["indicators"], list)
            and k["indicators"]
            and isinstance(k["meetings"], dict)
            for k in kept.values()
        )

    await eventually(all_kept, within_s=30)
    before = await snapshots(platform, held)
    first = before[held[0]]["indicators"][0]["rows"]
    live = (await read_models(platform))["rollups"]
    # What the first meeting saw is not what the rollups say now: a rebuild would differ.
    assert sum(row["value"] for row in first if row["indicator"] == "EV.MEET") < sum(
        row["value"] for row in live
    )
    assert before[held[0]]["meetings"]["rows"] == first

    env = service_environment(platform)
    for service in ("indicators-api", "meetings-api"):
        code, output = await bpctl(env, "replay", service, "--yes")
        assert code == 0, output
    assert await snapshots(platform, held) == before
