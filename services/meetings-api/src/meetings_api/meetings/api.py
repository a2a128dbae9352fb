from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from bp_common.app import IdentityDep, OutboxDep, SecretariatDep, SessionDep
from bp_common.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from bp_common.types import CountryCode
from meetings_api.meetings.models import MeetingKind, MeetingStatus
from meetings_api.meetings.schemas import MeetingCreate, MeetingFilters, MeetingOut
from meetings_api.meetings.service import MeetingService

router = APIRouter(prefix="/v1/meetings", tags=["meetings"])


def _service(session: SessionDep, outbox: OutboxDep) -> MeetingService:
    return MeetingService(session, outbox)


ServiceDep = Annotated[MeetingService, Depends(_service)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=MeetingOut)
async def create_meeting(body: MeetingCreate, service: ServiceDep, _: SecretariatDep) -> MeetingOut:
    return MeetingOut.model_validate(await service.schedule(body))


@router.get("", response_model=Page[MeetingOut])
async def list_meetings(
    service: ServiceDep,
    _: IdentityDep,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    kind: MeetingKind | None = None,
    country: CountryCode | None = None,
    status_: Annotated[MeetingStatus | None, Query(alias="status")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[MeetingOut]:
    filters = MeetingFilters(from_=from_, to=to, kind=kind, country=country, status=status_)
    return await service.list(filters, limit, cursor)


@router.get("/{meeting_id}", response_model=MeetingOut)
async def get_meeting(meeting_id: uuid.UUID, service: ServiceDep, _: IdentityDep) -> MeetingOut:
    return MeetingOut.model_validate(await service.get(meeting_id))


@router.post("/{meeting_id}/hold", response_model=MeetingOut)
async def hold_meeting(meeting_id: uuid.UUID, service: ServiceDep, _: SecretariatDep) -> MeetingOut:
    return MeetingOut.model_validate(await service.hold(meeting_id))


@router.post("/{meeting_id}/cancel", response_model=MeetingOut)
async def cancel_meeting(
    meeting_id: uuid.UUID, service: ServiceDep, _: SecretariatDep
) -> MeetingOut:
    return MeetingOut.model_validate(await service.cancel(meeting_id))
