from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Response, status

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
from bp_common.revisions import (
    PRECONDITION_REFUSALS,
    IfMatchOptional,
    IfMatchRequired,
    answer_with_etag,
)
from bp_common.types import CountryCode, IsoDate
from bp_common.withdrawals import IncludeWithdrawn, WithdrawalReason
from meetings_api.meetings.models import MeetingKind, MeetingStatus
from meetings_api.meetings.schemas import (
    MAX_DELEGATIONS,
    AgendaItemCreate,
    AgendaItemOut,
    AgendaItemUpdate,
    DelegationIn,
    DelegationOut,
    DelegationsOut,
    DelegationUpdate,
    MeetingCreate,
    MeetingFilters,
    MeetingOut,
    MeetingUpdate,
)
from meetings_api.meetings.service import AgendaItemService, DelegationService, MeetingService

router = APIRouter(prefix="/v1/meetings", tags=["meetings"])
agenda_items_router = APIRouter(prefix="/v1/agenda-items", tags=["meetings"])

# DELETE is a withdrawal: the reason rides in the query (bodies on DELETE are not reliably
# forwarded); it is kept with the tombstone and published.
ReasonQuery = Annotated[
    WithdrawalReason, Query(description="Why it is withdrawn; kept with the tombstone.")
]
WITHDRAWN_REFUSAL = {"already_withdrawn": "the record is withdrawn: read, never corrected."}


async def _service(session: SessionDep, outbox: OutboxDep) -> MeetingService:
    return MeetingService(session, outbox)


ServiceDep = Annotated[MeetingService, Depends(_service)]


async def _delegation_service(session: SessionDep, outbox: OutboxDep) -> DelegationService:
    return DelegationService(session, outbox)


async def _agenda_item_service(session: SessionDep, outbox: OutboxDep) -> AgendaItemService:
    return AgendaItemService(session, outbox)


DelegationServiceDep = Annotated[DelegationService, Depends(_delegation_service)]
AgendaItemServiceDep = Annotated[AgendaItemService, Depends(_agenda_item_service)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=MeetingOut,
    responses=refusals({422: cross_field("`ends_on` is before `starts_on`")}),
)
async def create_meeting(
    body: MeetingCreate, service: ServiceDep, _: SecretariatDep, response: Response
) -> MeetingOut:
    meeting = await service.schedule(body)
    return answer_with_etag(response, meeting, MeetingOut)


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
async def get_meeting(
    meeting_id: uuid.UUID, service: ServiceDep, _: IdentityDep, response: Response
) -> MeetingOut:
    meeting = await service.get(meeting_id)
    return answer_with_etag(response, meeting, MeetingOut)


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
            412: PRECONDITION_REFUSALS[412],
        }
    ),
)
async def update_meeting(
    meeting_id: uuid.UUID,
    body: MeetingUpdate,
    service: ServiceDep,
    _: SecretariatDep,
    precondition: IfMatchOptional,
    response: Response,
) -> MeetingOut:
    """Change a planned meeting; new dates reschedule it and keep the previous ones. An
    `If-Match` sent is checked (412 when stale); without one the change is made as before."""
    meeting = await service.update(meeting_id, body, precondition)
    return answer_with_etag(response, meeting, MeetingOut)


@router.post(
    "/{meeting_id}/hold",
    response_model=MeetingOut,
    responses=refusals(
        {409: {"meeting_state_conflict": "the meeting is not in a state that allows this."}}
    ),
)
async def hold_meeting(
    meeting_id: uuid.UUID, service: ServiceDep, _: SecretariatDep, response: Response
) -> MeetingOut:
    meeting = await service.hold(meeting_id)
    return answer_with_etag(response, meeting, MeetingOut)


@router.post(
    "/{meeting_id}/cancel",
    response_model=MeetingOut,
    responses=refusals(
        {409: {"meeting_state_conflict": "the meeting is not in a state that allows this."}}
    ),
)
async def cancel_meeting(
    meeting_id: uuid.UUID, service: ServiceDep, _: SecretariatDep, response: Response
) -> MeetingOut:
    meeting = await service.cancel(meeting_id)
    return answer_with_etag(response, meeting, MeetingOut)


@router.get("/{meeting_id}/delegations", response_model=DelegationsOut)
async def list_delegations(
    meeting_id: uuid.UUID,
    service: ServiceDep,
    _: IdentityDep,
    include_withdrawn: IncludeWithdrawn = False,
) -> DelegationsOut:
    """All the delegations at once (at most 500, so no pages), in the order given. The
    attendance counts the delegations standing only."""
    return await service.delegations_of(meeting_id, include_withdrawn)


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
    """Replace the list of a planned meeting's delegations; the attendance follows from it.
    (One entry, also of a held meeting, is corrected or withdrawn by its own route.)"""
    return await service.replace_delegations(meeting_id, body)


Participant = Annotated[
    str, Path(min_length=2, max_length=20, description="Country code or acronym.")
]


@router.get("/{meeting_id}/delegations/{participant}", response_model=DelegationOut)
async def get_delegation(
    meeting_id: uuid.UUID,
    participant: Participant,
    delegations: DelegationServiceDep,
    _: IdentityDep,
    response: Response,
) -> DelegationOut:
    """The participant's delegation at the meeting; if withdrawn, its tombstone."""
    delegation = await delegations.get_or_raise(meeting_id, participant)
    return answer_with_etag(response, delegation, DelegationOut)


@router.patch(
    "/{meeting_id}/delegations/{participant}",
    response_model=DelegationOut,
    responses=refusals(
        {
            409: {
                "meeting_state_conflict": "the delegations of a cancelled meeting do not change.",
                **WITHDRAWN_REFUSAL,
            },
            **PRECONDITION_REFUSALS,
        }
    ),
)
async def correct_delegation(
    meeting_id: uuid.UUID,
    participant: Participant,
    body: DelegationUpdate,
    delegations: DelegationServiceDep,
    _: SecretariatDep,
    precondition: IfMatchRequired,
    response: Response,
) -> DelegationOut:
    """Correct a delegation's entry, also of a held meeting: the meeting's attendance follows
    and is published again (the indicators fed by it follow)."""
    delegation = await delegations.update(meeting_id, participant, body, precondition)
    return answer_with_etag(response, delegation, DelegationOut)


@router.delete(
    "/{meeting_id}/delegations/{participant}",
    response_model=DelegationOut,
    responses=refusals(
        {
            409: {
                "meeting_state_conflict": "the delegations of a cancelled meeting do not change.",
                "delegation_has_records": "it has interventions or reservations recorded.",
                **WITHDRAWN_REFUSAL,
            },
            **PRECONDITION_REFUSALS,
        }
    ),
)
async def withdraw_delegation(
    meeting_id: uuid.UUID,
    participant: Participant,
    reason: ReasonQuery,
    delegations: DelegationServiceDep,
    identity: SecretariatDep,
    precondition: IfMatchRequired,
    response: Response,
) -> DelegationOut:
    """Withdraw a delegation listed by mistake (kept as a tombstone), also of a held meeting:
    the attendance follows and is published again."""
    delegation = await delegations.withdraw(meeting_id, participant, reason, identity, precondition)
    return answer_with_etag(response, delegation, DelegationOut)


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
    meeting_id: uuid.UUID,
    body: AgendaItemCreate,
    service: ServiceDep,
    _: SecretariatDep,
    response: Response,
) -> AgendaItemOut:
    item = await service.add_agenda_item(meeting_id, body)
    return answer_with_etag(response, item, AgendaItemOut)


@router.get("/{meeting_id}/agenda-items", response_model=Page[AgendaItemOut])
async def list_agenda_items(
    meeting_id: uuid.UUID,
    service: ServiceDep,
    _: IdentityDep,
    day: Annotated[int | None, Query(ge=1, le=366)] = None,
    include_withdrawn: IncludeWithdrawn = False,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[AgendaItemOut]:
    """The agenda in order: by day, then position."""
    return await service.agenda_of(meeting_id, day, limit, cursor, include_withdrawn)


@agenda_items_router.get("/{item_id}", response_model=AgendaItemOut)
async def get_agenda_item(
    item_id: uuid.UUID, items: AgendaItemServiceDep, _: IdentityDep, response: Response
) -> AgendaItemOut:
    """An agenda item; if withdrawn, its tombstone."""
    item = await items.get_or_raise(item_id)
    return answer_with_etag(response, item, AgendaItemOut)


@agenda_items_router.patch(
    "/{item_id}",
    response_model=AgendaItemOut,
    responses=refusals(
        {
            422: {"day_outside_meeting": "`day` is after the meeting's last day."},
            409: {
                "agenda_position_taken": "another item has this `position`.",
                "meeting_state_conflict": "the meeting is cancelled, or held and the change "
                "would alter the goals it reported.",
                **WITHDRAWN_REFUSAL,
            },
            **PRECONDITION_REFUSALS,
        }
    ),
)
async def correct_agenda_item(
    item_id: uuid.UUID,
    body: AgendaItemUpdate,
    items: AgendaItemServiceDep,
    _: SecretariatDep,
    precondition: IfMatchRequired,
    response: Response,
) -> AgendaItemOut:
    """Correct an agenda item (a planned or held meeting's)."""
    item = await items.update(item_id, body, precondition)
    return answer_with_etag(response, item, AgendaItemOut)


@agenda_items_router.delete(
    "/{item_id}",
    response_model=AgendaItemOut,
    responses=refusals(
        {
            409: {
                "meeting_state_conflict": "the meeting is cancelled, or held and the item's "
                "goal would no longer be covered.",
                **WITHDRAWN_REFUSAL,
            },
            **PRECONDITION_REFUSALS,
        }
    ),
)
async def withdraw_agenda_item(
    item_id: uuid.UUID,
    reason: ReasonQuery,
    items: AgendaItemServiceDep,
    identity: SecretariatDep,
    precondition: IfMatchRequired,
    response: Response,
) -> AgendaItemOut:
    """Withdraw an agenda item (kept as a tombstone): it leaves the agenda and the report."""
    item = await items.withdraw(item_id, reason, identity, precondition)
    return answer_with_etag(response, item, AgendaItemOut)
