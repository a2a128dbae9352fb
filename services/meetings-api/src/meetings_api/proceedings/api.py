from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from bp_common.app import IdentityDep, OutboxDep, SecretariatDep, SessionDep
from bp_common.errors import refusals
from bp_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
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


@router.post(
    "/interventions",
    status_code=status.HTTP_201_CREATED,
    response_model=InterventionOut,
    responses=refusals(
        {
            422: {
                "invalid_intervention": "`errors[].code` says which rule: "
                "`delegation_not_at_meeting`, `agenda_item_not_found` (not this meeting's), "
                "`host_must_be_a_state` (an offer to host), `year_in_past`, `required_for_kind` "
                "or `not_allowed_for_kind` (fields the `kind` needs or does not take).",
            },
            409: {"already_recorded": "the same intervention is already recorded."},
        }
    ),
)
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
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[InterventionOut]:
    """In the order they were recorded."""
    filters = InterventionFilters(
        kind=kind,
        delegation=delegation.upper() if delegation else None,
        agenda_item_id=agenda_item_id,
    )
    return await service.interventions_of(meeting_id, filters, limit, cursor)


@router.post(
    "/decisions",
    status_code=status.HTTP_201_CREATED,
    response_model=DecisionOut,
    responses=refusals(
        {
            422: {
                "invalid_decision": "`errors[].code` says which rule: "
                "`reservation_not_at_meeting` (a state absent from the meeting), "
                "`duplicate_reservation`, `required_for_kind` (an endorsement names the plan "
                "and its version) or `not_allowed_for_kind`.",
            },
            409: {"already_recorded": "the same decision is already recorded."},
        }
    ),
)
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
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[DecisionOut]:
    """In the order they were recorded."""
    return await service.decisions_of(meeting_id, kind, limit, cursor)
