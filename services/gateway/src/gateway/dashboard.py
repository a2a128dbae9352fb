"""``GET /v1/dashboard/summary``: one answer for the dashboard's front page, assembled from the
services' public read APIs with the caller's own identity. A service that is down leaves its
part out (named in ``unavailable``) rather than failing the whole page."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, Field

from bp_common.middleware import REQUEST_ID_HEADER
from bp_common.request_context import current_request_id
from bp_common.security import IDENTITY_HEADER, Identity
from gateway.proxy import Upstreams
from gateway.routing import Upstream

PAGE = 500
T = TypeVar("T")


class MeetingsSummary(BaseModel):
    held: int
    planned: int
    cancelled: int
    participants: int = Field(description="Participants of the meetings held, summed.")
    next_meeting: dict[str, Any] | None = Field(description="The next planned meeting.")


class PlanSummary(BaseModel):
    plan_id: str
    title: str
    period: str
    current_version: int | None
    version_status: str | None
    endorsed_version: int | None
    activities_by_status: dict[str, int]
    activities_by_host: dict[str, int]


class ResultsSummary(BaseModel):
    results: int
    organisations: int
    indicators_on_track: int = Field(description="Latest year with a target: target reached.")
    indicators_off_track: int = Field(description="Latest year with a target: not reached yet.")
    indicators_without_data: int


class DashboardSummary(BaseModel):
    generated_at: datetime
    meetings: MeetingsSummary | None
    plan: PlanSummary | None = Field(description="The latest plan; null before the first one.")
    results: ResultsSummary | None
    unavailable: list[str] = Field(description="Services that could not be read just now.")


class _Reader:
    def __init__(self, upstreams: Upstreams, identity: Identity) -> None:
        self.upstreams = upstreams
        # Each service is sent an identity addressed to it: one would refuse another's.
        self.headers = {
            upstream: {
                IDENTITY_HEADER: upstreams.signed_identity(upstream, identity),
                REQUEST_ID_HEADER: current_request_id() or "",
            }
            for upstream in Upstream
        }

    async def get(self, upstream: Upstream, path: str, **params: Any) -> Any:
        async with asyncio.timeout(self.upstreams.timeout_s):
            response = await self.upstreams.clients[upstream].get(
                path, params=params, headers=self.headers[upstream]
            )
        response.raise_for_status()
        return response.json()

    async def every(self, upstream: Upstream, path: str, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            extra = {"cursor": cursor} if cursor else {}
            page = await self.get(upstream, path, limit=PAGE, **params, **extra)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items


async def _meetings(reader: _Reader) -> MeetingsSummary:
    meetings = await reader.every(Upstream.MEETINGS, "/v1/meetings")
    by_status = Counter(m["status"] for m in meetings)
    today = datetime.now(UTC).date().isoformat()
    upcoming = sorted(
        (m for m in meetings if m["status"] == "planned" and m["starts_on"] >= today),
        key=lambda m: m["starts_on"],
    )
    return MeetingsSummary(
        held=by_status["held"],
        planned=by_status["planned"],
        cancelled=by_status["cancelled"],
        participants=sum(
            m["attendance"]["participants"] for m in meetings if m["status"] == "held"
        ),
        next_meeting=(
            {k: upcoming[0][k] for k in ("id", "title", "starts_on", "city", "country")}
            if upcoming
            else None
        ),
    )


async def _plan(reader: _Reader) -> PlanSummary | None:
    plans = await reader.every(Upstream.PLAN, "/v1/plans")
    if not plans:
        return None
    latest = max(plans, key=lambda p: (p["period_start"], p["created_at"]))
    plan = await reader.get(Upstream.PLAN, f"/v1/plans/{latest['id']}")
    activities = await reader.every(Upstream.PLAN, f"/v1/plans/{latest['id']}/activities")
    hosts = Counter(country for a in activities for country in a["host_countries"])
    current = plan.get("current_version") or {}
    endorsement = plan.get("endorsement") or {}
    return PlanSummary(
        plan_id=plan["id"],
        title=plan["title"],
        period=f"{plan['period_start']}-{plan['period_end']}",
        current_version=current.get("number"),
        version_status=current.get("status"),
        endorsed_version=endorsement.get("version"),
        activities_by_status=dict(sorted(Counter(a["status"] for a in activities).items())),
        activities_by_host=dict(sorted(hosts.items())),
    )


async def _results(reader: _Reader) -> ResultsSummary:
    counts, indicators = await asyncio.gather(
        reader.get(Upstream.INDICATORS, "/v1/results/summary"),
        reader.every(Upstream.INDICATORS, "/v1/indicators"),
    )
    rollups = await reader.get(Upstream.INDICATORS, "/v1/rollups", by="year")
    by_indicator: dict[str, list[dict[str, Any]]] = {}
    for row in rollups:
        by_indicator.setdefault(row["indicator"], []).append(row)
    on_track = off_track = without = 0
    for indicator in indicators:
        measured = [
            r for r in by_indicator.get(indicator["code"], []) if r.get("progress") is not None
        ]
        if not measured:
            without += 1
        elif max(measured, key=lambda r: r["year"])["progress"] >= 1:
            on_track += 1
        else:
            off_track += 1
    return ResultsSummary(
        results=counts["results"],
        organisations=counts["organisations"],
        indicators_on_track=on_track,
        indicators_off_track=off_track,
        indicators_without_data=without,
    )


def _available(name: str, part: T | BaseException, unavailable: list[str]) -> T | None:
    """A part's value; None (and its name noted) if its service could not be reached."""
    if isinstance(part, httpx.HTTPError | TimeoutError):
        unavailable.append(name)
        return None
    if isinstance(part, BaseException):
        raise part
    return part


async def dashboard_summary(upstreams: Upstreams, identity: Identity) -> DashboardSummary:
    reader = _Reader(upstreams, identity)
    meetings, plan, results = await asyncio.gather(
        _meetings(reader), _plan(reader), _results(reader), return_exceptions=True
    )
    unavailable: list[str] = []
    return DashboardSummary(
        generated_at=datetime.now(UTC),
        meetings=_available("meetings", meetings, unavailable),
        plan=_available("plan", plan, unavailable),
        results=_available("results", results, unavailable),
        unavailable=unavailable,
    )
