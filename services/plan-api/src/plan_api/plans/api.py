from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from bp_common.app import IdentityDep, OutboxDep, SecretariatDep, SessionDep
from bp_common.errors import cross_field, refusals
from bp_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from bp_common.revisions import PRECONDITION_REFUSALS, IfMatchRequired, answer_with_etag
from bp_common.types import GoalNumber
from plan_api.plans.schemas import (
    ActionPointCorrection,
    ActionPointDetail,
    GoalCorrection,
    GoalDetail,
    PlanCreate,
    PlanOut,
)
from plan_api.plans.service import PlanService

router = APIRouter(prefix="/v1/plans", tags=["plans"])


async def _service(session: SessionDep, outbox: OutboxDep) -> PlanService:
    return PlanService(session, outbox)


ServiceDep = Annotated[PlanService, Depends(_service)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PlanOut,
    responses=refusals(
        {422: cross_field("`period_end` is before `period_start`", "goal numbers repeat")}
    ),
)
async def create_plan(body: PlanCreate, service: ServiceDep, _: SecretariatDep) -> PlanOut:
    return await service.create(body)


@router.get("", response_model=Page[PlanOut])
async def list_plans(
    service: ServiceDep,
    _: IdentityDep,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[PlanOut]:
    return await service.page(limit, cursor)


@router.get("/{plan_id}", response_model=PlanOut)
async def get_plan(plan_id: uuid.UUID, service: ServiceDep, _: IdentityDep) -> PlanOut:
    return await service.get(plan_id)


_CORRECTION_REFUSALS = refusals(
    {
        409: {"plan_endorsed": "a version of the plan is endorsed: amend it instead."},
        **PRECONDITION_REFUSALS,
    }
)


@router.get("/{plan_id}/goals/{number}", response_model=GoalDetail)
async def get_goal(
    plan_id: uuid.UUID, number: GoalNumber, service: ServiceDep, _: IdentityDep, response: Response
) -> GoalDetail:
    goal = await service.goal(plan_id, number)
    return answer_with_etag(response, goal, GoalDetail)


@router.patch(
    "/{plan_id}/goals/{number}", response_model=GoalDetail, responses=_CORRECTION_REFUSALS
)
async def correct_goal(
    plan_id: uuid.UUID,
    number: GoalNumber,
    body: GoalCorrection,
    service: ServiceDep,
    _: SecretariatDep,
    precondition: IfMatchRequired,
    response: Response,
) -> GoalDetail:
    """Corrects a goal's title while no version of the plan is endorsed (then amendments are the
    way). Emits `plan.goal.corrected.v1`."""
    goal = await service.correct_goal(plan_id, number, body, precondition)
    return answer_with_etag(response, goal, GoalDetail)


@router.get("/{plan_id}/action-points/{point_id}", response_model=ActionPointDetail)
async def get_action_point(
    plan_id: uuid.UUID,
    point_id: uuid.UUID,
    service: ServiceDep,
    _: IdentityDep,
    response: Response,
) -> ActionPointDetail:
    point = await service.action_point(plan_id, point_id)
    return answer_with_etag(response, point, ActionPointDetail)


@router.patch(
    "/{plan_id}/action-points/{point_id}",
    response_model=ActionPointDetail,
    responses=_CORRECTION_REFUSALS,
)
async def correct_action_point(
    plan_id: uuid.UUID,
    point_id: uuid.UUID,
    body: ActionPointCorrection,
    service: ServiceDep,
    _: SecretariatDep,
    precondition: IfMatchRequired,
    response: Response,
) -> ActionPointDetail:
    """Corrects an action point's text while no version of the plan is endorsed (then
    amendments are the way). Emits `plan.action_point.corrected.v1`."""
    point = await service.correct_action_point(plan_id, point_id, body, precondition)
    return answer_with_etag(response, point, ActionPointDetail)
