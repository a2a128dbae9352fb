"""meetings-api's reports on their own: the results snapshot kept from indicators-api's event
(once, never replaced), the report's rendering bounded in time off the event loop, and text no
document format can hold."""

import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import httpx
import pytest
from fastapi import FastAPI

from bp_common.events.envelope import CloudEvent
from bp_common.events.memory_bus import InMemoryBus
from bp_common.security import Role
from bp_common.testing import deliver, identity_headers
from meetings_api.app import create_app
from meetings_api.reports import render
from meetings_api.reports.schemas import ReportFormat
from meetings_api.settings import MeetingsSettings

from .conftest import Settle

SECRETARIAT = identity_headers(Role.SECRETARIAT)
VIEWER = identity_headers(Role.VIEWER)
MEETING = {
    "title": "Black Sea working group meeting",
    "kind": "working_group_meeting",
    "starts_on": "2020-05-04",
    "ends_on": "2020-05-05",
    "city": "Sofia",
    "country": "BG",
}


@pytest.fixture
def app(tmp_path: Path, bus: InMemoryBus) -> FastAPI:
    # A deadline far beyond any real render here (the blocked renderer's test shortens it).
    settings = MeetingsSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/meetings.db", report_timeout_s=120.0
    )
    return create_app(settings, bus=bus)


async def meeting(client: httpx.AsyncClient) -> str:
    response = await client.post("/v1/meetings", json=MEETING, headers=SECRETARIAT)
    assert response.status_code == 201, response.text
    meeting_id = str(response.json()["id"])
    response = await client.put(
        f"/v1/meetings/{meeting_id}/delegations",
        json=[{"participant": "BG", "headcount": 3}, {"participant": "IOM", "headcount": 1}],
        headers=SECRETARIAT,
    )
    assert response.status_code == 200, response.text
    return meeting_id


def snapshot_taken(meeting_id: str, value: float) -> CloudEvent:
    return CloudEvent(
        type="indicators.rollup.snapshot_taken.v1",
        source="/indicators",
        subject=meeting_id,
        data={
            "meeting_id": meeting_id,
            "taken_at": "2020-05-05T15:00:00Z",
            "rows": [
                {
                    "indicator": "BP-MEETINGS-HELD",
                    "title": "Meetings of the dialogue held",
                    "goal": 1,
                    "year": 2020,
                    "value": value,
                    "target": 6.0,
                    "progress": value / 6,
                }
            ],
        },
    )


async def test_the_snapshot_is_kept_once_and_reported(
    client: httpx.AsyncClient, bus: InMemoryBus
) -> None:
    meeting_id = await meeting(client)
    path = f"/v1/meetings/{meeting_id}/results-snapshot"
    missing = await client.get(path, headers=VIEWER)
    assert (missing.status_code, missing.json()["code"]) == (404, "results_snapshot_not_found")

    await deliver(bus, snapshot_taken(meeting_id, 3.0))
    kept = await client.get(path, headers=VIEWER)
    assert kept.status_code == 200, kept.text
    assert kept.json()["rows"][0]["value"] == 3.0
    # Another snapshot of the same meeting (a replay, a duplicate) changes nothing.
    await deliver(bus, snapshot_taken(meeting_id, 5.0))
    assert (await client.get(path, headers=VIEWER)).json() == kept.json()

    html = await client.get(f"/v1/meetings/{meeting_id}/report", headers=VIEWER)
    assert html.status_code == 200
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert html.headers["content-security-policy"].startswith("default-src 'none'")
    assert "Meetings of the dialogue held" in html.text
    assert "50%" in html.text


@pytest.fixture
def blocked_renderer(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The HTML renderer held until released (at most 30 s, so no thread outlives the run)."""
    release = threading.Event()

    def render_slowly(report: Any, lang: str) -> bytes:
        release.wait(30)
        return b"late"

    monkeypatch.setitem(render.RENDERERS, ReportFormat.HTML, render_slowly)
    yield release
    release.set()


async def test_a_report_past_its_deadline_is_a_503_while_the_loop_serves_others(
    app: FastAPI, client: httpx.AsyncClient, blocked_renderer: threading.Event
) -> None:
    app.state.runtime.settings.report_timeout_s = 0.2
    meeting_id = await meeting(client)
    response = await client.get(f"/v1/meetings/{meeting_id}/report", headers=VIEWER)
    assert response.status_code == 503
    assert response.json()["code"] == "report_timeout"
    assert response.headers["retry-after"] == "30"
    # The renderer is still held: the answer came from the loop, not after the render.
    assert not blocked_renderer.is_set()
    assert (await client.get(f"/v1/meetings/{meeting_id}", headers=VIEWER)).status_code == 200


async def test_characters_no_document_can_hold_are_dropped(
    client: httpx.AsyncClient, settle: Settle
) -> None:
    meeting_id = await meeting(client)
    text = "Bulgaria\x01 supports\x0b the plan."
    response = await client.post(
        f"/v1/meetings/{meeting_id}/interventions",
        json={"delegation": "BG", "kind": "support", "text": text},
        headers=SECRETARIAT,
    )
    assert response.status_code == 201, response.text
    word = await client.get(
        f"/v1/meetings/{meeting_id}/report", params={"format": "docx"}, headers=VIEWER
    )
    assert word.status_code == 200, word.text
    paragraphs = [p.text for p in docx.Document(io.BytesIO(word.content)).paragraphs]
    assert "Bulgaria: Bulgaria supports the plan." in paragraphs
