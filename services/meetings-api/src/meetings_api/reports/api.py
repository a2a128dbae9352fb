from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from bp_common.app import IdentityDep, SessionDep, runtime_of
from bp_common.errors import ServiceUnavailable
from meetings_api.reports.render import MEDIA_TYPES, RENDERERS
from meetings_api.reports.schemas import (
    Report,
    ReportFormat,
    ReportLanguage,
    ResultsSnapshotOut,
)
from meetings_api.reports.service import ReportService
from meetings_api.settings import MeetingsSettings

router = APIRouter(prefix="/v1/meetings", tags=["reports"])


class ReportTimedOut(ServiceUnavailable):
    code = "report_timeout"


async def _service(session: SessionDep) -> ReportService:
    return ReportService(session)


ServiceDep = Annotated[ReportService, Depends(_service)]


def _settings(request: Request) -> MeetingsSettings:
    settings = runtime_of(request).settings
    return settings if isinstance(settings, MeetingsSettings) else MeetingsSettings()


def _renderers(request: Request, threads: int) -> ThreadPoolExecutor:
    """The app's own threads for rendering: PDF layout is CPU-bound and must not hold the event
    loop; the pool's size bounds how many cores reports take at once."""
    executor: ThreadPoolExecutor | None = getattr(request.app.state, "report_renderers", None)
    if executor is None:
        executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="report")
        request.app.state.report_renderers = executor
    return executor


async def render_off_the_loop(
    request: Request, report: Report, format_: ReportFormat, lang: str, started: float
) -> bytes:
    """The rendered report, or a 503 problem once ``report_render_deadline_s`` has passed since
    ``started`` (the loop's clock when the request came): reading the records counts too."""
    settings = _settings(request)
    loop = asyncio.get_running_loop()
    work = loop.run_in_executor(
        _renderers(request, settings.report_threads), partial(RENDERERS[format_], report, lang)
    )
    deadline = settings.report_render_deadline_s
    try:
        return await asyncio.wait_for(work, max(started + deadline - loop.time(), 0))
    except TimeoutError:
        raise ReportTimedOut(
            f"The report took longer than {deadline:g} s to render; try again later.",
            headers={"Retry-After": "30"},
        ) from None


@router.get(
    "/{meeting_id}/report",
    response_class=Response,
    responses={
        200: {
            "content": {media_type: {} for media_type in MEDIA_TYPES.values()},
            "description": "The meeting's summary in the format asked for.",
        }
    },
)
async def get_report(
    meeting_id: uuid.UUID,
    request: Request,
    service: ServiceDep,
    _: IdentityDep,
    format_: Annotated[ReportFormat, Query(alias="format")] = ReportFormat.HTML,
    lang: ReportLanguage = ReportLanguage.EN,
) -> Response:
    """The meeting's summary in the structure of the Secretariat's own: attendance (countries
    by the names the Process uses, organisations by full name and acronym), one numbered
    paragraph per agenda item with the interventions grouped (support, commitments, offers to
    host, amendment requests, reservations), the decisions and reservations, the meetings and
    activities of the coming year with their hosts, and the results as presented (the snapshot
    taken when the meeting was held). A meeting not held yet gives a draft, marked on every
    page; a cancelled one a 409 problem."""
    started = asyncio.get_running_loop().time()
    report = await service.report(meeting_id, _settings(request).dialogue_name)
    body = await render_off_the_loop(request, report, format_, lang.value, started)
    headers = {"Content-Disposition": f'inline; filename="meeting-{meeting_id}.{format_.value}"'}
    if format_ is ReportFormat.HTML:
        # Escaped already; and should anything slip through, a browser runs no script of it.
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return Response(body, media_type=MEDIA_TYPES[format_], headers=headers)


@router.get("/{meeting_id}/results-snapshot", response_model=ResultsSnapshotOut)
async def get_results_snapshot(
    meeting_id: uuid.UUID, service: ServiceDep, _: IdentityDep
) -> ResultsSnapshotOut:
    """The results as presented at the meeting: indicators-api's rollups by goal x indicator x
    year frozen when it was held, as this service keeps them (later imports never change
    them). 404 `results_snapshot_not_found` while the meeting is not held or the snapshot has
    not arrived."""
    return await service.results_snapshot(meeting_id)
