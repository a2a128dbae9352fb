"""A meeting's report through the gateway: its route has its own timeout, ``REPORT_TIMEOUT_S``,
read by the gateway and by meetings-api alike. A render slower than the ordinary routes' timeout
but within the report's is answered; one past meetings-api's render deadline (derived from the
same setting) is meetings-api's 503 problem, not the gateway's 504. The renderer is replaced by
one that takes as long as the test says (the subject is the timeouts, not WeasyPrint)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bp_common.security import Role
from bp_common.testing import identity_headers, running
from bpctl.embedded import EmbeddedPlatform
from gateway.routing import Upstream
from meetings_api.reports import render
from meetings_api.reports.schemas import ReportFormat
from meetings_api.settings import MeetingsSettings

KEY = "bp_admin_report-timeouts"
ADMIN = {"Authorization": f"Bearer {KEY}"}
SECRETARIAT = identity_headers(Role.SECRETARIAT)
ORDINARY_TIMEOUT_S = 0.2
MEETING = {
    "title": "Silk Routes senior officials meeting",
    "kind": "senior_officials_meeting",
    "starts_on": "2021-11-04",
    "ends_on": "2021-11-05",
    "city": "Istanbul",
    "country": "TR",
}
Platform = Callable[..., Awaitable[tuple[httpx.AsyncClient, str]]]


class Renderer:
    """Renders HTML once released, or after ``takes_s`` (never released: a slow render)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.takes_s = 30.0

    def __call__(self, report: Any, lang: str) -> bytes:
        self.release.wait(self.takes_s)
        return f"<h1>{report.title}</h1>".encode()


@pytest.fixture
def renderer(monkeypatch: pytest.MonkeyPatch) -> Iterator[Renderer]:
    injected = Renderer()
    monkeypatch.setitem(render.RENDERERS, ReportFormat.HTML, injected)
    yield injected
    injected.release.set()  # no render thread outlives the test


@pytest.fixture
async def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Platform]:
    """Starts the platform with REPORT_TIMEOUT_S, and a meeting entered straight into
    meetings-api (the ordinary routes' timeout is short here); gives the gateway's client and
    the meeting's id."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(
            timeout_s: float, *, meetings_timeout_s: float | None = None
        ) -> tuple[httpx.AsyncClient, str]:
            # One variable for both: the gateway's route timeout and meetings-api's deadline;
            # meetings-api's own variable, when set, takes precedence for it alone.
            monkeypatch.setenv("REPORT_TIMEOUT_S", str(timeout_s))
            if meetings_timeout_s is not None:
                monkeypatch.setenv("MEETINGS_REPORT_TIMEOUT_S", str(meetings_timeout_s))
            embedded = EmbeddedPlatform(
                tmp_path,
                KEY,
                load_demo_data=False,
                gateway_options={"upstream_timeout_s": ORDINARY_TIMEOUT_S},
            )
            gateway = await stack.enter_async_context(running(embedded.gateway))
            meetings = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=embedded.services[Upstream.MEETINGS]),
                    base_url="http://meetings",
                )
            )
            response = await meetings.post("/v1/meetings", json=MEETING, headers=SECRETARIAT)
            assert response.status_code == 201, response.text
            return gateway, str(response.json()["id"])

        yield start


async def test_a_render_slower_than_ordinary_routes_is_answered_within_the_report_timeout(
    platform: Platform, renderer: Renderer
) -> None:
    client, meeting_id = await platform(30)
    # Five times the ordinary routes' timeout: an ordinary route would be a 504 by then.
    renderer.takes_s = 5 * ORDINARY_TIMEOUT_S
    response = await client.get(f"/v1/meetings/{meeting_id}/report", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.text == "<h1>Silk Routes senior officials meeting</h1>"


async def test_a_render_past_the_deadline_is_meetings_apis_problem_not_a_gateway_timeout(
    platform: Platform, renderer: Renderer
) -> None:
    # meetings-api's deadline (0.9 s) far inside the gateway's route timeout (30 s): the answer
    # is meetings-api's however slow the machine. That the shared setting leaves the same order
    # is the settings' own test below.
    client, meeting_id = await platform(30, meetings_timeout_s=1)
    response = await client.get(f"/v1/meetings/{meeting_id}/report", headers=ADMIN)
    assert response.status_code == 503, response.text
    problem = response.json()
    assert problem["code"] == "report_timeout"
    assert "0.9 s" in problem["detail"]
    assert response.headers["retry-after"] == "30"
    # Answered on the deadline while the render still runs.
    assert not renderer.release.is_set()


def test_one_shared_setting_puts_meetings_apis_deadline_inside_the_gateways_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPORT_TIMEOUT_S", "60")
    monkeypatch.delenv("MEETINGS_REPORT_TIMEOUT_S", raising=False)
    settings = MeetingsSettings()
    assert settings.report_timeout_s == 60
    assert settings.report_render_deadline_s == 54
