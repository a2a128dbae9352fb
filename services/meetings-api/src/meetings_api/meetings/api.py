from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, status

from bp_common.app import IdentityDep, OutboxDep, SecretariatDep, SessionDep
from bp_common.errors import cross_field, refusals
from bp_common.pagination import (
    DEFAULT_LIMIT,
    INVALID_PERIOD,
    Cursor,
    Limit,
    Page,
    SortOrder,
    check_period,
)
from bp_common.types import CountryCode, IsoDate
from meetings_api.meetings.models import MeetingKind, MeetingStatus
from meetings_api.meetings.schemas import (
    MAX_DELEGATIONS,
    AgendaItemCreate,
    AgendaItemOut,
    DelegationIn,
    DelegationsOut,
    MeetingCreate,
    MeetingFilters,
    MeetingOut,
    MeetingUpdate,
)
from meetings_api.meetings.service import MeetingService

router = APIRouter(prefix="/v1/meetings", tags=["meetings"])


async def _service(session: SessionDep, outbox: OutboxDep) -> MeetingService:
    return MeetingService(session, outbox)


ServiceDep = Annotated[MeetingService, Depends(_service)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=MeetingOut,
    responses=refusals({422: cross_field("`ends_on` is before `starts_on`")}),
)
async def create_meeting(body: MeetingCreate, service: ServiceDep, _: SecretariatDep) -> MeetingOut:
    return await service.schedule(body)


@router.get(
    "",
    response_model=Page[MeetingOut],
    responses=INVALID_PERIOD,
)
async def list_meetings(
    service: ServiceDep,
    _: IdentityDep,
    from_: Annotated[IsoDate | None, Query(alias="from")] = None,
    to: IsoDate | None = None,
    kind: MeetingKind | None = None,
    country: CountryCode | None = None,
    status_: Annotated[MeetingStatus | None, Query(alias="status")] = None,
    order: Annotated[SortOrder, Query(description="By start date.")] = SortOrder.ASC,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[MeetingOut]:
    check_period(from_, to)
    filters = MeetingFilters(from_=from_, to=to, kind=kind, country=country, status=status_)
    return await service.list_meetings(filters, order, limit, cursor)


@router.get("/{meeting_id}", response_model=MeetingOut)
async def get_meeting(meeting_id: uuid.UUID, service: ServiceDep, _: IdentityDep) -> MeetingOut:
    return await service.get(meeting_id)


@router.patch(
    "/{meeting_id}",
    response_model=MeetingOut,
    responses=refusals(
        {
            422: cross_field("`ends_on` is before `starts_on`")
            | {"dates_out_of_order": "with the stored dates, `ends_on` comes before `starts_on`."},
            409: {
                "agenda_beyond_dates": "the agenda has items on days the new dates leave out.",
                "meeting_state_conflict": "a held or cancelled meeting does not change.",
            },
        }
    ),
)
async def update_meeting(
    meeting_id: uuid.UUID, body: MeetingUpdate, service: ServiceDep, _: SecretariatDep
) -> MeetingOut:
    """Change a planned meeting; new dates reschedule it and keep the previous ones."""
    return await service.update(meeting_id, body)


@router.post(
    "/{meeting_id}/hold",
    response_model=MeetingOut,
    responses=refusals(
        {409: {"meeting_state_conflict": "the meeting is not in a state that allows this."}}
    ),
)
async def hold_meeting(meeting_id: uuid.UUID, service: ServiceDep, _: SecretariatDep) -> MeetingOut:
    return await service.hold(meeting_id)


@router.post(
    "/{meeting_id}/cancel",
    response_model=MeetingOut,
    responses=refusals(
        {409: {"meeting_state_conflict": "the meeting is not in a state that allows this."}}
    ),
)
async def cancel_meeting(
    meeting_id: uuid.UUID, service: ServiceDep, _: SecretariatDep
) -> MeetingOut:
    return await service.cancel(meeting_id)


@router.get("/{meeting_id}/delegations", response_model=DelegationsOut)
async def list_delegations(
    meeting_id: uuid.UUID, service: ServiceDep, _: IdentityDep
) -> DelegationsOut:
    """All the delegations at once (at most 500, so no pages), in the order given."""
    return await service.delegations_of(meeting_id)


@router.put(
    "/{meeting_id}/delegations",
    response_model=DelegationsOut,
    responses=refusals(
        {
            422: {
                "invalid_delegations": "a participant is neither a country code nor a registered "
                "organisation (`errors[].code` `unknown_participant`), or is listed twice "
                "(`duplicate_participant`)."
            },
            409: {
                "meeting_state_conflict": "the delegations of a cancelled meeting do not change."
            },
        }
    ),
)
async def replace_delegations(
    meeting_id: uuid.UUID,
    body: Annotated[list[DelegationIn], Body(max_length=MAX_DELEGATIONS)],
    service: ServiceDep,
    _: SecretariatDep,
) -> DelegationsOut:
    """Replace the list of a planned meeting's delegations; the attendance follows from it."""
    return await service.replace_delegations(meeting_id, body)


@router.post(
    "/{meeting_id}/agenda-items",
    status_code=status.HTTP_201_CREATED,
    response_model=AgendaItemOut,
    responses=refusals(
        {
            422: {"day_outside_meeting": "`day` is after the meeting's last day."},
            409: {"agenda_position_taken": "another item has this `position`."},
        }
    ),
)
async def add_agenda_item(
    meeting_id: uuid.UUID, body: AgendaItemCreate, service: ServiceDep, _: SecretariatDep
) -> AgendaItemOut:
    return AgendaItemOut.model_validate(await service.add_agenda_item(meeting_id, body))


@router.get("/{meeting_id}/agenda-items", response_model=Page[AgendaItemOut])
async def list_agenda_items(
    meeting_id: uuid.UUID,
    service: ServiceDep,
    _: IdentityDep,
    day: Annotated[int | None, Query(ge=1, le=366)] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[AgendaItemOut]:
    """The agenda in order: by day, then position."""
    return await service.agenda_of(meeting_id, day, limit, cursor)
