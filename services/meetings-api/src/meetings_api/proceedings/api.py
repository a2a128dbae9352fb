from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from bp_common.app import IdentityDep, OutboxDep, SecretariatDep, SessionDep
from bp_common.pagination import DEFAULT_LIMIT, Limit, Page
from bp_common.types import bounded_text
from meetings_api.proceedings.models import DecisionKind, InterventionKind
from meetings_api.proceedings.schemas import (
    DecisionCreate,
    DecisionOut,
    InterventionCreate,
    InterventionFilters,
    InterventionOut,
)
from meetings_api.proceedings.service import ProceedingsService

router = APIRouter(prefix="/v1/meetings/{meeting_id}", tags=["meetings"])


async def _service(session: SessionDep, outbox: OutboxDep) -> ProceedingsService:
    return ProceedingsService(session, outbox)


ServiceDep = Annotated[ProceedingsService, Depends(_service)]


@router.post("/interventions", status_code=status.HTTP_201_CREATED, response_model=InterventionOut)
async def record_intervention(
    meeting_id: uuid.UUID, body: InterventionCreate, service: ServiceDep, _: SecretariatDep
) -> InterventionOut:
    """Record what a delegation at the meeting said. An `offer_to_host` becomes a hosting offer
    and an `amendment_request` an amendment in plan-api, through the published event."""
    return InterventionOut.model_validate(await service.record_intervention(meeting_id, body))


@router.get("/interventions", response_model=Page[InterventionOut])
async def list_interventions(
    meeting_id: uuid.UUID,
    service: ServiceDep,
    _: IdentityDep,
    kind: InterventionKind | None = None,
    delegation: Annotated[str, bounded_text(20, min_length=None)] | None = None,
    agenda_item_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[InterventionOut]:
    """In the order they were recorded."""
    filters = InterventionFilters(
        kind=kind,
        delegation=delegation.upper() if delegation else None,
        agenda_item_id=agenda_item_id,
    )
    return await service.interventions_of(meeting_id, filters, limit, cursor)


@router.post("/decisions", status_code=status.HTTP_201_CREATED, response_model=DecisionOut)
async def record_decision(
    meeting_id: uuid.UUID, body: DecisionCreate, service: ServiceDep, _: SecretariatDep
) -> DecisionOut:
    """Record a decision of the meeting. An `endorsement` endorses the plan version in plan-api,
    through the published event."""
    return DecisionOut.model_validate(await service.record_decision(meeting_id, body))


@router.get("/decisions", response_model=Page[DecisionOut])
async def list_decisions(
    meeting_id: uuid.UUID,
    service: ServiceDep,
    _: IdentityDep,
    kind: DecisionKind | None = None,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[DecisionOut]:
    """In the order they were recorded."""
    return await service.decisions_of(meeting_id, kind, limit, cursor)
