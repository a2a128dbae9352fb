from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from bp_common.app import IdentityDep, OutboxDep, SecretariatDep, SessionDep
from bp_common.errors import refusals
from bp_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from bp_common.revisions import PRECONDITION_REFUSALS, IfMatchRequired, answer_with_etag
from bp_common.types import bounded_text
from bp_common.withdrawals import IncludeWithdrawn
from meetings_api.meetings.api import WITHDRAWN_REFUSAL, ReasonQuery
from meetings_api.proceedings.models import DecisionKind, InterventionKind
from meetings_api.proceedings.schemas import (
    DecisionCreate,
    DecisionOut,
    DecisionUpdate,
    InterventionCreate,
    InterventionFilters,
    InterventionOut,
    InterventionUpdate,
)
from meetings_api.proceedings.service import (
    DecisionService,
    InterventionService,
    ProceedingsService,
)

router = APIRouter(prefix="/v1/meetings/{meeting_id}", tags=["meetings"])
interventions_router = APIRouter(prefix="/v1/interventions", tags=["meetings"])
decisions_router = APIRouter(prefix="/v1/decisions", tags=["meetings"])

# Corrections of a cancelled meeting's record are refused, as recording is.
CANCELLED_REFUSAL = {"meeting_state_conflict": "the meeting is cancelled."}


async def _service(session: SessionDep, outbox: OutboxDep) -> ProceedingsService:
    return ProceedingsService(session, outbox)


ServiceDep = Annotated[ProceedingsService, Depends(_service)]


async def _intervention_service(session: SessionDep, outbox: OutboxDep) -> InterventionService:
    return InterventionService(session, outbox)


async def _decision_service(session: SessionDep, outbox: OutboxDep) -> DecisionService:
    return DecisionService(session, outbox)


InterventionServiceDep = Annotated[InterventionService, Depends(_intervention_service)]
DecisionServiceDep = Annotated[DecisionService, Depends(_decision_service)]


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
    meeting_id: uuid.UUID,
    body: InterventionCreate,
    service: ServiceDep,
    _: SecretariatDep,
    response: Response,
) -> InterventionOut:
    """Record what a delegation at the meeting said. An `offer_to_host` becomes a hosting offer
    and an `amendment_request` an amendment in plan-api, through the published event."""
    intervention = await service.record_intervention(meeting_id, body)
    return answer_with_etag(response, intervention, InterventionOut)


@router.get("/interventions", response_model=Page[InterventionOut])
async def list_interventions(
    meeting_id: uuid.UUID,
    service: ServiceDep,
    _: IdentityDep,
    kind: InterventionKind | None = None,
    delegation: Annotated[str, bounded_text(20, min_length=None)] | None = None,
    agenda_item_id: uuid.UUID | None = None,
    include_withdrawn: IncludeWithdrawn = False,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[InterventionOut]:
    """In the order they were recorded."""
    filters = InterventionFilters(
        kind=kind,
        delegation=delegation.upper() if delegation else None,
        agenda_item_id=agenda_item_id,
    )
    return await service.interventions_of(meeting_id, filters, limit, cursor, include_withdrawn)


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
    meeting_id: uuid.UUID,
    body: DecisionCreate,
    service: ServiceDep,
    _: SecretariatDep,
    response: Response,
) -> DecisionOut:
    """Record a decision of the meeting. An `endorsement` endorses the plan version in plan-api,
    through the published event."""
    decision = await service.record_decision(meeting_id, body)
    return answer_with_etag(response, decision, DecisionOut)


@router.get("/decisions", response_model=Page[DecisionOut])
async def list_decisions(
    meeting_id: uuid.UUID,
    service: ServiceDep,
    _: IdentityDep,
    kind: DecisionKind | None = None,
    include_withdrawn: IncludeWithdrawn = False,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[DecisionOut]:
    """In the order they were recorded."""
    return await service.decisions_of(meeting_id, kind, limit, cursor, include_withdrawn)


# -- one intervention ----------------------------------------------------------------------------


@interventions_router.get("/{intervention_id}", response_model=InterventionOut)
async def get_intervention(
    intervention_id: uuid.UUID,
    interventions: InterventionServiceDep,
    _: IdentityDep,
    response: Response,
) -> InterventionOut:
    """An intervention; if withdrawn, its tombstone (who withdrew it, when, why)."""
    intervention = await interventions.get_or_raise(intervention_id)
    return answer_with_etag(response, intervention, InterventionOut)


@interventions_router.patch(
    "/{intervention_id}",
    response_model=InterventionOut,
    responses=refusals(
        {
            422: {
                "invalid_intervention": "the intervention as corrected breaks a rule of "
                "recording it (`errors[].code` as for recording).",
            },
            409: {
                "already_recorded": "the intervention as corrected is recorded already.",
                "hosting_offer_accepted": "the hosting offer this `offer_to_host` made was "
                "accepted in the plan (named in `detail`).",
                **CANCELLED_REFUSAL,
                **WITHDRAWN_REFUSAL,
            },
            **PRECONDITION_REFUSALS,
        }
    ),
)
async def correct_intervention(
    intervention_id: uuid.UUID,
    body: InterventionUpdate,
    interventions: InterventionServiceDep,
    _: SecretariatDep,
    precondition: IfMatchRequired,
    response: Response,
) -> InterventionOut:
    """Correct an intervention (the wrong delegation, a typo); it is checked by the rules of
    recording, and published so plan-api revises a pending amendment it asked for."""
    intervention = await interventions.update(intervention_id, body, precondition)
    return answer_with_etag(response, intervention, InterventionOut)


@interventions_router.delete(
    "/{intervention_id}",
    response_model=InterventionOut,
    responses=refusals(
        {
            409: {
                "hosting_offer_accepted": "the hosting offer this `offer_to_host` made was "
                "accepted in the plan (named in `detail`).",
                **CANCELLED_REFUSAL,
                **WITHDRAWN_REFUSAL,
            },
            **PRECONDITION_REFUSALS,
        }
    ),
)
async def withdraw_intervention(
    intervention_id: uuid.UUID,
    reason: ReasonQuery,
    interventions: InterventionServiceDep,
    identity: SecretariatDep,
    precondition: IfMatchRequired,
    response: Response,
) -> InterventionOut:
    """Withdraw an intervention (kept as a tombstone); plan-api withdraws the hosting offer or
    the pending amendment it made."""
    intervention = await interventions.withdraw(intervention_id, reason, identity, precondition)
    return answer_with_etag(response, intervention, InterventionOut)


# -- one decision ---------------------------------------------------------------------------------


@decisions_router.get("/{decision_id}", response_model=DecisionOut)
async def get_decision(
    decision_id: uuid.UUID, decisions: DecisionServiceDep, _: IdentityDep, response: Response
) -> DecisionOut:
    """A decision; if withdrawn, its tombstone."""
    decision = await decisions.get_or_raise(decision_id)
    return answer_with_etag(response, decision, DecisionOut)


@decisions_router.patch(
    "/{decision_id}",
    response_model=DecisionOut,
    responses=refusals(
        {
            422: {
                "invalid_decision": "the decision as corrected breaks a rule of recording it "
                "(`errors[].code` as for recording).",
            },
            409: {
                "already_recorded": "the decision as corrected is recorded already.",
                "plan_version_endorsed": "the plan version this endorsement names is endorsed: "
                "what it endorsed does not change (its text and reservations may).",
                **CANCELLED_REFUSAL,
                **WITHDRAWN_REFUSAL,
            },
            **PRECONDITION_REFUSALS,
        }
    ),
)
async def correct_decision(
    decision_id: uuid.UUID,
    body: DecisionUpdate,
    decisions: DecisionServiceDep,
    _: SecretariatDep,
    precondition: IfMatchRequired,
    response: Response,
) -> DecisionOut:
    """Correct a decision (its text, a reservation list that missed a state)."""
    decision = await decisions.update(decision_id, body, precondition)
    return answer_with_etag(response, decision, DecisionOut)


@decisions_router.delete(
    "/{decision_id}",
    response_model=DecisionOut,
    responses=refusals(
        {
            409: {
                "plan_version_endorsed": "the plan version this endorsement names is endorsed; "
                "an endorsed version never changes.",
                **CANCELLED_REFUSAL,
                **WITHDRAWN_REFUSAL,
            },
            **PRECONDITION_REFUSALS,
        }
    ),
)
async def withdraw_decision(
    decision_id: uuid.UUID,
    reason: ReasonQuery,
    decisions: DecisionServiceDep,
    identity: SecretariatDep,
    precondition: IfMatchRequired,
    response: Response,
) -> DecisionOut:
    """Withdraw a decision (kept as a tombstone)."""
    decision = await decisions.withdraw(decision_id, reason, identity, precondition)
    return answer_with_etag(response, decision, DecisionOut)
