from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from bp_common.app import IdentityDep, SessionDep, runtime_of
from bp_common.pagination import (
    DEFAULT_LIMIT,
    INVALID_PERIOD,
    Cursor,
    Limit,
    Page,
    SortOrder,
    check_period,
)
from bp_common.types import CountryCode, IsoDate, bounded_text
from meetings_api.calendar.models import EntrySource
from meetings_api.calendar.schemas import CalendarEntryOut, CalendarFilters
from meetings_api.calendar.service import CalendarService
from meetings_api.settings import MeetingsSettings

router = APIRouter(prefix="/v1", tags=["calendar"])

ICALENDAR = "text/calendar; charset=utf-8"


async def _service(session: SessionDep) -> CalendarService:
    return CalendarService(session)


async def _filters(
    from_: Annotated[IsoDate | None, Query(alias="from")] = None,
    to: IsoDate | None = None,
    country: Annotated[CountryCode | None, Query(description="A host country.")] = None,
    goal: Annotated[int | None, Query(ge=1, le=100)] = None,
    working_group: Annotated[str, bounded_text(120, min_length=None)] | None = None,
    kind: Annotated[str, bounded_text(60, min_length=None)] | None = None,
    source: EntrySource | None = None,
    status: Annotated[str, bounded_text(30, min_length=None)] | None = None,
) -> CalendarFilters:
    check_period(from_, to)
    return CalendarFilters(
        from_=from_,
        to=to,
        country=country,
        goal=goal,
        working_group=working_group,
        kind=kind,
        source=source,
        status=status,
    )


async def _public_base_url(request: Request) -> str:
    settings = runtime_of(request).settings
    if isinstance(settings, MeetingsSettings):
        return settings.public_base_url
    return str(request.base_url)


ServiceDep = Annotated[CalendarService, Depends(_service)]
FiltersDep = Annotated[CalendarFilters, Depends(_filters)]


@router.get(
    "/calendar",
    response_model=Page[CalendarEntryOut],
    responses=INVALID_PERIOD,
)
async def list_calendar(
    service: ServiceDep,
    filters: FiltersDep,
    _: IdentityDep,
    order: Annotated[SortOrder, Query(description="By date.")] = SortOrder.ASC,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[CalendarEntryOut]:
    """Meetings and plan activities in one list, dated or only placed in a year or quarter.
    `from`/`to` keep every entry whose dates, quarter or year meet the period. An activity that
    a meeting realises (the meeting's `activity_id`) is listed once, as that meeting, unless
    the meeting is cancelled; the meeting then shows the activity's goal."""
    return await service.list(filters, order, limit, cursor)


@router.get(
    "/calendar.ics",
    response_class=Response,
    responses={200: {"content": {ICALENDAR: {}}, "description": "An RFC 5545 calendar."}}
    | INVALID_PERIOD,
)
async def calendar_ics(
    service: ServiceDep,
    filters: FiltersDep,
    _: IdentityDep,
    base_url: Annotated[str, Depends(_public_base_url)],
) -> Response:
    """The same selection as `/v1/calendar`, as one iCalendar feed to subscribe to."""
    return Response(
        await service.feed(filters, base_url),
        media_type=ICALENDAR,
        headers={"Content-Disposition": 'inline; filename="budapest-process.ics"'},
    )
